"""Write the run model as JSON (validated shape, versioned schema), HTML, Markdown and JUnit.

A writer that fails never takes the others with it: each output is written on its own, and the failures
come back named (``WriterFailure``), for a one-line message and exit status 3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_FILE = "run-v3.schema.json"
READABLE_VERSIONS = (1, 2, 3)  # 1 has no evidence, 2 no warned/blocked outcomes: both render without them


def schema(version: int = 3) -> dict[str, Any]:
    """The JSON schema of ``run.json`` (this version's, or an older one: 1, 2)."""
    name = SCHEMA_FILE if version == 3 else f"run-v{version}.schema.json"
    text = resources.files(__package__).joinpath("schemas", name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def render_json(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=2, default=str) + "\n"


def write_json(model: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_json(model), encoding="utf-8")
    return path


def load_json(path: Path) -> dict[str, Any]:
    """A saved run of any readable version, with every field the writers read (reports/normalize.py)."""
    from .normalize import normalize

    data = json.loads(path.read_text(encoding="utf-8"))
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path}: unsupported report schema_version {version!r} (this tool reads 1, 2 and 3)"
        )
    return normalize(data)


@dataclass(frozen=True)
class WriterFailure:
    """One output that could not be written: which writer, where, and why (one line)."""

    writer: str
    path: Path
    error: str

    def line(self) -> str:
        return f"the {self.writer} writer failed ({self.error}); {self.path.name} was not written"


def _renderers() -> list[tuple[str, str, Callable[[dict[str, Any]], str]]]:
    from .html import render_html
    from .junit import render_junit
    from .markdown import render_markdown

    return [
        ("JSON", "run.json", render_json),
        ("HTML", "run.html", render_html),
        ("Markdown", "summary.md", lambda model: render_markdown(model) + "\n"),
        ("JUnit", "junit.xml", render_junit),
    ]


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def write_reports(model: dict[str, Any], directory: Path) -> tuple[dict[str, Path], list[WriterFailure]]:
    """Every output into ``directory``: the paths written and the writers that failed."""
    written: dict[str, Path] = {}
    failures: list[WriterFailure] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return {}, [WriterFailure("report directory", directory, one_line(exc))]
    for writer, name, render in _renderers():
        path = directory / name
        try:
            path.write_text(render(model), encoding="utf-8", errors="backslashreplace")  # lone surrogates
        except Exception as exc:  # any writer bug: keep the other outputs, name this one
            failures.append(WriterFailure(writer, path, one_line(exc)))
            continue
        written[writer.lower()] = path
    return written, failures


class ReportWriteError(Exception):
    """Raised by ``write_all`` after writing what it could."""

    def __init__(self, failures: list[WriterFailure]) -> None:
        super().__init__("; ".join(f.line() for f in failures))
        self.failures = failures


def write_all(model: dict[str, Any], directory: Path) -> dict[str, Path]:
    """``write_reports``, raising ``ReportWriteError`` (after the others are written) when one failed."""
    written, failures = write_reports(model, directory)
    if failures:
        raise ReportWriteError(failures)
    return written
