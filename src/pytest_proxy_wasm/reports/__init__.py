"""Reports of a conformance run: one run model, written as JUnit, JSON, HTML and Markdown."""

from __future__ import annotations

from .html import render_html
from .markdown import render_markdown
from .model import SCHEMA_VERSION, RunCollector
from .writers import load_json, schema, write_all, write_json

__all__ = [
    "SCHEMA_VERSION",
    "RunCollector",
    "load_json",
    "render_html",
    "render_markdown",
    "schema",
    "write_all",
    "write_json",
]
