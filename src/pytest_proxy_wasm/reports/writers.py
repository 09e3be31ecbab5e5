"""Write the run model as JSON (validated shape, versioned schema), HTML and Markdown."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_FILE = "run-v2.schema.json"
READABLE_VERSIONS = (1, 2)  # version 1 runs have no evidence; they render without it


def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def write_json(model: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ValueError(f"{path}: unsupported report schema_version {version!r} (this tool reads 1 and 2)")
    for case in data.get("cases", []):
        case.setdefault("evidence", None)
    data.setdefault("inputs", {})
    return data


def write_all(model: dict[str, Any], directory: Path) -> dict[str, Path]:
    from .html import render_html
    from .markdown import render_markdown

    directory.mkdir(parents=True, exist_ok=True)
    out = {"json": write_json(model, directory / "run.json")}
    out["html"] = directory / "run.html"
    out["html"].write_text(render_html(model), encoding="utf-8")
    out["markdown"] = directory / "summary.md"
    out["markdown"].write_text(render_markdown(model) + "\n", encoding="utf-8")
    return out
