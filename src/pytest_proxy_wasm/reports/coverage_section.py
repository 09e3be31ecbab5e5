"""The plugin coverage section of the HTML report (``run.json``'s ``plugin_coverage``, written by
``plugin_coverage/view.py``), and ``coverage.html``: the same section as a page of its own.

Self-contained like the rest of the report (inline CSS, no script, no external asset); every text
(paths, function names, source lines) goes through Jinja's autoescape."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

_TOTALS = ("lines_hit", "lines_total", "functions_hit", "functions_total")


def percent(hit: float, total: float) -> str:
    return f"{100 * hit / total:.1f}%" if total else "n/a"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _totals(value: Any) -> dict[str, int]:
    given = value if isinstance(value, dict) else {}
    return {key: _int(given.get(key)) for key in _TOTALS}


def _function(value: Any) -> dict[str, Any]:
    given = value if isinstance(value, dict) else {}
    return {
        "name": str(given.get("name", "")),
        "file": str(given.get("file", "")),
        "line": _int(given.get("line")) or None,
        "hits": _int(given.get("hits")),
    }


def _source(value: Any) -> list[tuple[int, str, int | None]] | None:
    if not isinstance(value, list):
        return None
    rows = []
    for row in value:
        if isinstance(row, list | tuple) and len(row) == 3:
            rows.append((_int(row[0]), str(row[1]), None if row[2] is None else _int(row[2])))
    return rows


def _file(value: Any) -> dict[str, Any]:
    given = value if isinstance(value, dict) else {}
    return {
        "path": str(given.get("path", "")),
        "own": bool(given.get("own")),
        **_totals(given),
        "functions": [_function(f) for f in _list(given.get("functions"))],
        "source": _source(given.get("source")),
    }


def _module(value: Any) -> dict[str, Any]:
    given = value if isinstance(value, dict) else {}
    return {
        "name": str(given.get("name", "")),
        "sha256": str(given.get("sha256", "")),
        "level": "line" if given.get("level") == "line" else "function",
        "own": _totals(given.get("own")),
        "other": _totals(given.get("other")),
        "files": [_file(f) for f in _list(given.get("files"))],
        "never_reached_own": [_function(f) for f in _list(given.get("never_reached_own"))],
        "never_reached_other": [_function(f) for f in _list(given.get("never_reached_other"))],
        "never_reached_other_count": _int(given.get("never_reached_other_count")),
    }


def normalize_coverage(value: Any) -> dict[str, Any] | None:
    """``plugin_coverage`` with every field the template reads (a hook may have edited it); ``None``
    when the run measured no coverage."""
    if not isinstance(value, dict):
        return None
    return {
        "source_root": value.get("source_root") and str(value["source_root"]),
        "directory": value.get("directory") and str(value["directory"]),
        "modules": [_module(m) for m in _list(value.get("modules"))],
    }


def render_coverage_section(value: Any) -> Markup:
    """The section's HTML (empty when ``value`` is not coverage data)."""
    from .html import _environment

    coverage = normalize_coverage(value)
    if coverage is None:
        return Markup("")
    environment = _environment()
    environment.filters.setdefault("percent", percent)
    template = environment.get_template("coverage_section.html.j2")
    return Markup(template.render(cov=coverage))


def render_coverage_page(value: Any) -> str:
    """``coverage.html``: the section as a page of its own (written beside ``lcov.info``)."""
    from .html import _environment

    return _environment().get_template("coverage.html.j2").render(section=render_coverage_section(value))


def coverage_markdown(section: Any) -> list[str]:
    """``summary.md``'s plugin coverage table (none when the run measured no coverage)."""
    if not isinstance(section, dict) or not _list(section.get("modules")):
        return []
    header = "| module | level | own lines | own functions | SDK/std/runtime lines |"
    out = ["", "### Plugin code coverage", "", header, "|---|---|---|---|---|"]
    for module in _list(section.get("modules")):
        if not isinstance(module, dict):
            continue
        own, other = module.get("own") or {}, module.get("other") or {}

        def ratio(totals: dict[str, Any], kind: str) -> str:
            hit, total = _int(totals.get(f"{kind}_hit")), _int(totals.get(f"{kind}_total"))
            return f"{hit}/{total} ({percent(hit, total)})" if total else "-"

        out.append(
            f"| {module.get('name', '?')} | {module.get('level', '?')} | {ratio(own, 'lines')} | "
            f"{ratio(own, 'functions')} | {ratio(other, 'lines')} |"
        )
    return out
