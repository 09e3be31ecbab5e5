"""Read and write scenario files: YAML checked against the shipped JSON Schema, errors naming the file,
the line and the field (``steps[1].expect.status``)."""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..errors import ProxyWasmError
from .model import Scenario

SCHEMA_FILE = "scenario-v1.schema.json"
SCHEMA_ID = "https://pytest-proxy-wasm.invalid/schemas/scenario-v1.schema.json"
Position = tuple[str | int, ...]


class ScenarioError(ProxyWasmError):
    """A scenario file is not valid: names the file, the line and the field."""

    def __init__(self, source: str, line: int | None, field: str, reason: str) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {field or 'scenario'}: {reason}")
        self.source = source
        self.line = line
        self.field = field
        self.reason = reason


@functools.cache
def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (version 1), as shipped in the package."""
    text = resources.files(__package__).joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def field_name(path: Position) -> str:
    """``("steps", 1, "expect", "status")`` -> ``steps[1].expect.status``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _compose(text: str, source: str) -> tuple[Any, dict[Position, int]]:
    """The YAML data and the line (1-based) of each key or item."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a binary file)
        raise ScenarioError(source, None, "", f"not valid YAML: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(source, line, "", f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, None, "", f"not valid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Position, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def _walk(node: yaml.Node, path: Position, lines: dict[Position, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)


def _line_of(path: Position, lines: dict[Position, int]) -> int | None:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def _best(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most telling error of a ``oneOf``/``anyOf``: the deepest one (``best_match`` picks it)."""
    return jsonschema.exceptions.best_match([error]) or error


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        unknown = re.findall(r"'([^']+)'", error.message.split("(")[-1])
        allowed = sorted(error.schema.get("properties", {}))
        return f"unknown field {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}"
    if error.validator == "not" and isinstance(error.instance, dict):
        return "these fields cannot be used together here: " + _conflict(error)
    if error.validator == "const" and tuple(error.absolute_path) == ("version",):
        return f"format version {error.instance!r} is not known here (this version reads 1)"
    if error.validator == "maxProperties" and isinstance(error.instance, dict):
        return f"one check at a time, not {', '.join(map(repr, error.instance))}"
    if error.validator == "oneOf":
        return f"{error.instance!r} is not any of the accepted forms (docs/scenarios.md)"
    return str(error.message)


def _conflict(error: jsonschema.ValidationError) -> str:
    negated = error.validator_value
    groups = negated.get("anyOf", [negated])
    for group in groups:
        names = group.get("required", [])
        if names and all(name in error.instance for name in names):
            return " and ".join(names)
    return "(see docs/scenarios.md)"


def validate(data: Any, source: str, lines: dict[Position, int] | None = None) -> None:
    """Raise ``ScenarioError`` for the first schema error (the earliest line first)."""
    validator = jsonschema.Draft202012Validator(
        scenario_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(
        (_best(e) for e in validator.iter_errors(data)),
        key=lambda e: (_line_of(tuple(e.absolute_path), lines or {}) or 0, list(map(str, e.absolute_path))),
    )
    if errors:
        error = errors[0]
        path = tuple(error.absolute_path)
        raise ScenarioError(source, _line_of(path, lines or {}), field_name(path), _describe(error))


def scenario_from_dict(data: Any, *, base_dir: Path | None = None, source: str = "<scenario>") -> Scenario:
    """Validate the YAML/JSON form and build the model (``base_dir``: where module paths start)."""
    validate(data, source)
    scenario = Scenario.from_dict(data)
    scenario.base_dir = base_dir or Path.cwd()
    scenario.source = source
    return scenario


def loads_scenario(text: str, *, base_dir: Path | None = None, source: str = "<scenario>") -> Scenario:
    data, lines = _compose(text, source)
    if isinstance(data, dict) and isinstance(data.get("now"), datetime.date):
        data["now"] = _iso(data["now"])  # YAML reads an unquoted time as a timestamp
    validate(data, source, lines)
    scenario = Scenario.from_dict(data)
    scenario.base_dir = base_dir or Path.cwd()
    scenario.source = source
    scenario.lines = lines
    return scenario


def _iso(moment: datetime.date) -> str:
    """A YAML timestamp as ISO 8601 text (YAML gives UTC times without an offset: they are UTC)."""
    if isinstance(moment, datetime.datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.isoformat() + ("Z" if isinstance(moment, datetime.datetime) else "T00:00:00Z")


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file; module paths in it are relative to its directory."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), None, "", f"cannot read: {exc}") from None
    return loads_scenario(text, base_dir=path.resolve().parent, source=str(path))


def dump_scenario(scenario: Scenario, relative_to: str | Path | None = None) -> str:
    """The scenario as YAML text ``load_scenario`` accepts. ``relative_to``: the directory the file
    will be written in; module paths are rewritten relative to it (absolute when they cannot be)."""
    data = scenario.to_dict()
    if relative_to is not None:
        target = Path(relative_to).resolve()
        for entry in (*data.get("plugins", []), *data.get("services", [])):
            entry["module"] = _relative(scenario.resolve(entry["module"]).resolve(), target)
    validate(data, scenario.source or "<scenario>")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def _relative(path: Path, directory: Path) -> str:
    try:
        return str(path.relative_to(directory))
    except ValueError:
        pass
    import os

    try:
        return os.path.relpath(path, directory)
    except ValueError:  # another drive
        return str(path)


def iter_scenario_files(root: Path, pattern: str = "*.proxywasm.yaml") -> Iterator[Path]:
    yield from sorted(root.rglob(pattern))
