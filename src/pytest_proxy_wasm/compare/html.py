"""The comparison as a self-contained HTML page (Jinja2, like the conformance report)."""

from __future__ import annotations

import copy
import json
from typing import Any

from ..outcome import LEVEL_NAMES
from ..reports.html import _environment, as_bytes


def shown(value: Any) -> str:
    """A field's value for the page: header lists and logs one entry a line, the rest as JSON."""
    value = as_bytes(value)
    if isinstance(value, list) and all(isinstance(v, list) and len(v) == 2 for v in value):
        return (
            "\n".join(f"{a}: {b}" if isinstance(a, str) else f"[{_level(a)}] {b}" for a, b in value)
            or "(none)"
        )
    if isinstance(value, str):
        return value or '""'
    return json.dumps(value, indent=2, ensure_ascii=False)


def _level(level: Any) -> str:
    return LEVEL_NAMES[level] if isinstance(level, int) and 0 <= level < len(LEVEL_NAMES) else str(level)


def render_compare_html(data: dict[str, Any]) -> str:
    """``data``: ``Comparison.to_json()``."""
    page = copy.deepcopy(data)
    for item in page["requests"]:
        for difference in item["differences"]:
            difference["old_shown"], difference["new_shown"] = (
                shown(difference["old"]),
                shown(difference["new"]),
            )
    return _environment().get_template("compare.html.j2").render(data=page)
