"""Sample plugins from the real SDKs: one test body, parametrized over every language's build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LANGUAGES = ("rust", "go", "assemblyscript")


def sample(language: str, plugin: str) -> Path:
    return FIXTURES / language / f"{plugin}.wasm"


def manifest_entries() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    for manifest in sorted(FIXTURES.glob("*/manifest.json")):
        for entry in json.loads(manifest.read_text())["modules"]:
            entries.append({**entry, "group": manifest.parent.name})
    return entries


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)
