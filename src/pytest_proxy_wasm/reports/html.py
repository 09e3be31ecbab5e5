"""A self-contained HTML page (Jinja2 template, inline CSS, inline SVG charts, no network)."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from typing import Any

import jinja2
from markupsafe import Markup

BAR_HEIGHT = 18
LABEL_WIDTH = 260
BAR_WIDTH = 360


def bar_chart(title: str, items: list[tuple[str, float]], unit: str) -> Markup:
    """Horizontal bars as inline SVG: one row per (label, value)."""
    if not items:
        return Markup("")
    top = max(v for _, v in items) or 1.0
    height = BAR_HEIGHT * len(items) + 24
    rows = []
    for i, (label, value) in enumerate(items):
        y = 20 + i * BAR_HEIGHT
        width = max(1.0, BAR_WIDTH * value / top)
        rows.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{width:.1f}" height="{BAR_HEIGHT - 4}" '
            f'class="bar"/><text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 13}">'
            f"{value:g} {escape(unit)}</text>"
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{LABEL_WIDTH + BAR_WIDTH + 120}" height="{height}" class="chart">'
        f'<text x="0" y="12" class="chart-title">{escape(title)}</text>{"".join(rows)}</svg>'
    )
    return Markup(svg)


@cache  # one compiled template per process
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_proxy_wasm.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, default=str, ensure_ascii=False)
    env.filters["as_bytes"] = as_bytes
    env.filters["own_message"] = own_message
    return env


def own_message(message: str) -> str:
    """The case's message without the rule and evidence lines the terminal form appends (the page shows
    those on their own)."""
    return message.split("\n  rule: ", 1)[0]


def as_bytes(value: Any) -> Any:
    """Strings holding characters U+0080..U+00FF are byte data decoded as latin-1 (the cases record
    header values and bodies that way): show them as bytes literals (``b"caf\\xe9"``)."""
    from ..conformance.evidence import show

    if isinstance(value, str):
        return show(value) if any(0x80 <= ord(c) <= 0xFF for c in value) else value
    if isinstance(value, list):
        return [as_bytes(v) for v in value]
    if isinstance(value, dict):
        return {k: as_bytes(v) for k, v in value.items()}
    return value


def render_html(model: dict[str, Any]) -> str:
    from .normalize import normalize

    model = normalize(model)
    areas: dict[str, list[dict[str, Any]]] = {a["name"]: [] for a in model["areas"]}
    for case in model["cases"]:
        areas.setdefault(case["area"], []).append(case)
    charts = [bar_chart("Time per area", [(a["name"], a["duration_s"]) for a in model["areas"]], "s")]
    for module in model["modules"]:
        perf = module.get("performance", {}).get("callbacks", {})
        charts.append(
            bar_chart(
                f"Mean wall time per callback — {module['name']}",
                [(name, figures["mean_us"]) for name, figures in perf.items()],
                "µs",
            )
        )
        hostcalls = module.get("coverage", {}).get("hostcalls", {})
        charts.append(
            bar_chart(
                f"Hostcalls made during the run — {module['name']}",
                sorted(hostcalls.items(), key=lambda kv: -kv[1])[:30],
                "calls",
            )
        )
    template = _environment().get_template("report.html.j2")
    from .coverage_section import render_coverage_section  # plugin code coverage, when measured

    coverage_section = render_coverage_section(model.get("plugin_coverage"))
    return template.render(
        model=model, areas=areas, charts=[c for c in charts if c], coverage_section=coverage_section
    )
