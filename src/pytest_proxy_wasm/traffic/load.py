"""Read a traffic file of either kind: a HAR (a JSON object with ``log.entries``) or an Envoy access log
in JSON format (one JSON object per line, or a JSON array of them)."""

from __future__ import annotations

import json
from pathlib import Path

from .access_log import read_access_log
from .har import read_har
from .records import RecordedExchange, TrafficError


def load_traffic(path: Path, *, skipped: list[str] | None = None) -> list[RecordedExchange]:
    """Every replayable exchange in ``path``, in file order; what was left out (and why) is appended to
    ``skipped``. Raises ``TrafficError`` naming the file when nothing in it can be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrafficError(f"{path}: cannot read: {exc}") from None
    notes = skipped if skipped is not None else []
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None  # JSON lines: one access-log entry per line
        if isinstance(document, dict) and "log" in document:
            found = read_har(document, path.name, notes)
        else:
            found = read_access_log(text, path.name, notes)
    elif stripped.startswith("["):
        found = read_access_log(text, path.name, notes)
    else:
        raise TrafficError(f"{path}: neither a HAR file nor a JSON access log (it does not start with '{{')")
    if not found:
        why = "; ".join(notes[:5]) or "no entries"
        raise TrafficError(f"{path}: no exchange to replay ({why})")
    return found
