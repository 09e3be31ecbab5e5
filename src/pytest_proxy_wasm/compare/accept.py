"""Expected changes: ``--accept FIELD`` and an allow-list file (``--accept-file``).

A rule is ``FIELD`` (the field and everything under it: ``upstream_request`` covers
``upstream_request.headers``), ``HEADERS_FIELD:NAME`` (one header of ``response_headers`` or
``upstream_request.headers``) or ``plugin_logs:REGEX`` / ``startup_logs:REGEX`` (log lines whose message
matches). Accepted parts are left out of both sides before they are compared, and listed as accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIELDS = (
    "status",
    "response_headers",
    "response_body",
    "upstream_request",
    "upstream_request.method",
    "upstream_request.path",
    "upstream_request.headers",
    "upstream_request.body",
    "local_reply",
    "details",
    "plugin_failed",
    "callouts",
    "plugin_logs",
    "metrics",
    "error",
    "startup_logs",
)
HEADER_FIELDS = ("response_headers", "upstream_request.headers")
LOG_FIELDS = ("plugin_logs", "startup_logs")


class AcceptError(ValueError):
    """A rule naming no field ``compare`` reports."""


@dataclass(frozen=True)
class Rule:
    field: str
    detail: str = ""  # a header name, or a log regex
    reason: str = ""

    @classmethod
    def parse(cls, text: str, reason: str = "", where: str = "--accept") -> Rule:
        name, _, detail = text.partition(":")
        name = name.strip()
        if name not in FIELDS and not name.startswith("metrics."):
            raise AcceptError(
                f"{where}: unknown field {name!r}; fields: {', '.join(FIELDS)} (or metrics.NAME)"
            )
        if detail and name not in HEADER_FIELDS + LOG_FIELDS:
            raise AcceptError(f"{where}: {name!r} takes no ':' part (only header lists and logs do)")
        if detail and name in LOG_FIELDS:
            try:
                re.compile(detail)
            except re.error as exc:
                raise AcceptError(f"{where}: bad regex {detail!r}: {exc}") from None
        return cls(name, detail.strip().lower() if name in HEADER_FIELDS else detail, reason)

    def covers(self, field: str) -> bool:
        return not self.detail and (field == self.field or field.startswith(self.field + "."))

    def __str__(self) -> str:
        return f"{self.field}:{self.detail}" if self.detail else self.field


def load_rules(path: Path) -> list[Rule]:
    """``accept: [FIELD, FIELD:DETAIL, {field: FIELD, reason: ...}]`` (YAML or JSON)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AcceptError(f"--accept-file {path}: {exc}") from None
    items = data.get("accept") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise AcceptError(f"--accept-file {path}: expected an 'accept' list")
    rules = []
    for index, item in enumerate(items):
        where = f"{path.name}: accept[{index}]"
        if isinstance(item, str):
            rules.append(Rule.parse(item, where=where))
        elif isinstance(item, dict) and isinstance(item.get("field"), str):
            unknown = set(item) - {"field", "reason"}
            if unknown:
                raise AcceptError(f"{where}: unknown key(s) {sorted(unknown)}; keys: field, reason")
            rules.append(Rule.parse(item["field"], str(item.get("reason", "")), where))
        else:
            raise AcceptError(f"{where}: expected FIELD or {{field: FIELD, reason: TEXT}}, got {item!r}")
    return rules


def _get(fields: dict[str, Any], dotted: str) -> tuple[dict[str, Any] | None, str]:
    """The mapping holding ``dotted`` and the last key (``None`` when a parent is missing)."""
    *parents, last = dotted.split(".")
    where: Any = fields
    for key in parents:
        where = where.get(key) if isinstance(where, dict) else None
    return (where if isinstance(where, dict) else None), last


def apply(rules: list[Rule], fields: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``fields`` without what the rules accept (whole fields become ``None``)."""
    import copy

    out = copy.deepcopy(fields)
    for rule in rules:
        holder, key = _get(out, rule.field)
        if holder is None or key not in holder:
            continue
        if not rule.detail:
            holder[key] = None
        elif rule.field in HEADER_FIELDS and isinstance(holder[key], list):
            holder[key] = [h for h in holder[key] if h[0] != rule.detail]
        elif rule.field in LOG_FIELDS and isinstance(holder[key], list):
            pattern = re.compile(rule.detail)
            holder[key] = [r for r in holder[key] if not pattern.search(str(r[1]))]
    return out
