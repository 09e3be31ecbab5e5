"""docs/scenarios.md: its examples are the real files the tests run, and it documents every field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_proxy_wasm.backends import make_backend
from pytest_proxy_wasm.scenarios import load_scenario, run_scenario, scenario_host_options, scenario_schema

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "scenarios.md").read_text()
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```yaml\n(.*?)```", re.S)
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
EXAMPLES = EXAMPLE.findall(DOC)


def property_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        names.update(node.get("properties", {}))
        for value in node.values():
            names |= property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= property_names(value)
    return names


def test_the_doc_shows_whole_files() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize(("path", "text"), EXAMPLES, ids=[Path(path).name for path, _ in EXAMPLES])
def test_each_example_is_the_real_file_and_passes(path: str, text: str) -> None:
    file = ROOT / path
    assert file.read_text() == text, f"docs/scenarios.md shows an outdated copy of {path}"
    scenario = load_scenario(file)
    backend = make_backend("emulator", options=scenario_host_options(scenario))  # now, platform, ...
    try:
        result = run_scenario(scenario, backend)
    finally:
        backend.close()
    assert result.passed, result.report()


def test_every_schema_field_is_documented() -> None:
    """As a field (`` `name` ``) or an operator (``{name: ...}``)."""
    names = property_names(scenario_schema())
    missing = sorted(n for n in names if f"`{n}`" not in DOC and not re.search(rf"\{{{n}: ", DOC))
    assert missing == []


def test_every_yaml_fragment_parses() -> None:
    for block in YAML_BLOCK.findall(DOC):
        assert yaml.safe_load(block) is not None
