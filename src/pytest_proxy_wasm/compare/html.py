"""The comparison as a self-contained HTML page (Jinja2, like the conformance report)."""

from __future__ import annotations

from typing import Any

from ..reports.html import _environment


def render_compare_html(data: dict[str, Any]) -> str:
    """``data``: ``Comparison.to_json()``."""
    return _environment().get_template("compare.html.j2").render(data=data)
