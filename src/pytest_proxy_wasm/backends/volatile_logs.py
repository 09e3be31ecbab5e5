"""Log text that differs from run to run by nature (a random draw, a generated id), masked on both
sides before diff mode compares the plugin's log lines (a scenario's ``volatile_logs``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

MASK = "<volatile>"


def compile_volatile(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    return [re.compile(pattern) for pattern in patterns]


def _masked_match(match: re.Match[str]) -> str:
    """The match with each of its groups masked (the whole match when it has none)."""
    if not match.re.groups:
        return MASK
    text, at, parts = match.string, match.start(), []
    for group in range(1, match.re.groups + 1):
        start, end = match.span(group)
        if start < at:  # a group that did not take part, or nested in one already masked
            continue
        parts += [text[at:start], MASK]
        at = end
    parts.append(text[at : match.end()])
    return "".join(parts)


def mask_volatile(message: str, patterns: Sequence[re.Pattern[str]]) -> str:
    for pattern in patterns:
        message = pattern.sub(_masked_match, message)
    return message


def mask_logs(patterns: Sequence[re.Pattern[str]], *sides: dict[str, Any]) -> None:
    """Mask the ``plugin_logs`` entries ``(level, message)`` of each comparable dict in place."""
    if not patterns:
        return
    for side in sides:
        side["plugin_logs"] = [
            (level, mask_volatile(message, patterns)) for level, message in side["plugin_logs"]
        ]


__all__ = ["MASK", "compile_volatile", "mask_logs", "mask_volatile"]
