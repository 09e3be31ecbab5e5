"""Expectation checking: one ``FieldCheck`` (expected against actual) per field a step names."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..host.callouts import HttpCallRecord
from ..host.grpc_fakes import GrpcCallRecord
from ..outcome import LogRecord, Outcome, TcpOutcome
from .model import Expect

SharedReader = Callable[[str], list[bytes]] | None  # key -> the values found (None: not observable)


@dataclass
class FieldCheck:
    """One checked field: ``field`` as ``expect.headers.content-type``; ``passed`` False on a mismatch;
    ``note`` says why a field was not checked (``passed`` stays True then)."""

    field: str
    expected: Any
    actual: Any
    passed: bool
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        data = {"field": self.field, "expected": _jsonable(self.expected), "actual": _jsonable(self.actual)}
        data["passed"] = self.passed
        if self.note:
            data["note"] = self.note
        return data

    def describe(self) -> str:
        if self.note:
            return f"{self.field}: not checked ({self.note})"
        return f"{self.field}:\n    expected: {self.expected!r}\n    actual:   {self.actual!r}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class Observed:
    """What one step saw: its Outcome (HTTP or TCP, None for a time-only step) and what happened
    during the step on the backend."""

    outcome: Outcome | TcpOutcome | None
    logs: list[LogRecord] = field(default_factory=list)
    http_calls: list[HttpCallRecord] = field(default_factory=list)
    grpc_calls: list[GrpcCallRecord] = field(default_factory=list)
    metrics: dict[str, int] = field(default_factory=dict)
    shared_data: SharedReader = None
    backend: str = "emulator"
    redis_calls: list[Any] = field(default_factory=list)  # Higress Redis calls (RedisCallRecord)


def text_matches(check: Any, actual: str | None) -> bool:
    """A string (equal), ``{equals|contains|regex: ...}``, ``{absent: true}`` or ``{present: true}``."""
    if isinstance(check, str):
        return actual == check
    (operator, operand), *_ = check.items()
    if operator == "absent":
        return actual is None
    operand = str(operand)
    if actual is None:
        return False
    if operator == "present":
        return True
    if operator == "equals":
        return bool(actual == operand)
    if operator == "contains":
        return operand in actual
    return re.search(operand, actual) is not None


def json_subset(expected: Any, actual: Any) -> bool:
    """Every key of an expected object is in the actual one with a matching value; lists match item
    by item (same length); anything else is equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and json_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(json_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)


def body_matches(check: Any, actual: bytes) -> bool:
    """A string (equal, UTF-8) or ``{equals|contains|regex|json|base64|empty: ...}``."""
    if isinstance(check, str):
        return actual == check.encode()
    (operator, operand), *_ = check.items()
    if operator == "base64":
        return actual == base64.b64decode(operand, validate=True)
    if operator == "empty":
        return actual == b""
    if operator == "json":
        try:
            return json_subset(operand, json.loads(actual))
        except ValueError:
            return False
    return text_matches(check, actual.decode("utf-8", "replace"))


def _shown(data: bytes) -> Any:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data


def _header_checks(
    prefix: str, checks: dict[str, Any], pairs: Sequence[tuple[str, str]] | Sequence[list[str]]
) -> list[FieldCheck]:
    out = []
    for name, check in checks.items():
        values = [str(v) for k, v in pairs if str(k).lower() == name.lower()]
        actual = values[0] if len(values) == 1 else (values or None)
        passed = any(text_matches(check, v) for v in values) if values else text_matches(check, None)
        out.append(FieldCheck(f"{prefix}.{name}", check, actual, passed))
    return out


def check_step(expect: Expect, seen: Observed) -> list[FieldCheck]:
    """Every field ``expect`` names, checked against what the step saw."""
    checks: list[FieldCheck] = []
    outcome = seen.outcome
    if isinstance(outcome, Outcome):
        checks += _http_checks(expect, outcome)
    elif isinstance(outcome, TcpOutcome):
        checks += _tcp_checks(expect, outcome)
    checks += _needs_outcome(expect, outcome)
    if expect.callouts is not None:
        checks += _callout_checks(expect.callouts, seen.http_calls)
    if expect.grpc_calls is not None:
        checks += _grpc_checks(expect.grpc_calls, seen.grpc_calls)
    if expect.redis_calls is not None:
        checks += _redis_checks(expect.redis_calls, seen.redis_calls)
    for index, log in enumerate(expect.logs or []):
        found = [r.message for r in seen.logs if _log_matches(log, r)]
        checks.append(FieldCheck(f"expect.logs[{index}]", log, found or _log_lines(seen.logs), bool(found)))
    for index, log in enumerate(expect.no_logs or []):
        found = [r.message for r in seen.logs if _log_matches(log, r)]
        checks.append(FieldCheck(f"expect.no_logs[{index}]", log, found, not found))
    for name, check in (expect.metrics or {}).items():
        value = seen.metrics.get(name)
        checks.append(FieldCheck(f"expect.metrics.{name}", check, value, _metric_matches(check, value)))
    for key, check in (expect.shared_data or {}).items():
        checks.append(_shared_check(key, check, seen))
    if expect.plugin_failed is not None and outcome is not None:
        failed = outcome.plugin_failed is not None
        checks.append(
            FieldCheck(
                "expect.plugin_failed",
                expect.plugin_failed,
                outcome.plugin_failed or False,
                failed == expect.plugin_failed,
            )
        )
    return checks


def _http_checks(expect: Expect, outcome: Outcome) -> list[FieldCheck]:
    checks = []
    if expect.status is not None:
        passed = outcome.status == expect.status
        checks.append(FieldCheck("expect.status", expect.status, outcome.status, passed))
    checks += _header_checks("expect.headers", expect.headers or {}, outcome.response_headers)
    if expect.body is not None:
        checks.append(
            FieldCheck(
                "expect.body",
                expect.body,
                _shown(outcome.response_body),
                body_matches(expect.body, outcome.response_body),
            )
        )
    if expect.local_reply is not None:
        checks.append(
            FieldCheck(
                "expect.local_reply",
                expect.local_reply,
                outcome.local_reply,
                outcome.local_reply == expect.local_reply,
            )
        )
    if expect.upstream is not None:
        checks += _upstream_checks(expect.upstream, outcome)
    return checks


def _upstream_checks(check: bool | dict[str, Any], outcome: Outcome) -> list[FieldCheck]:
    seen = outcome.upstream_request
    if isinstance(check, bool) or seen is None:
        wanted = bool(check)
        actual = f"{seen.method} {seen.path}" if seen else False
        return [FieldCheck("expect.upstream", check, actual, (seen is not None) == wanted)]
    checks = []
    if "method" in check:
        checks.append(
            FieldCheck("expect.upstream.method", check["method"], seen.method, seen.method == check["method"])
        )
    if "path" in check:
        checks.append(
            FieldCheck(
                "expect.upstream.path", check["path"], seen.path, text_matches(check["path"], seen.path)
            )
        )
    if "reset" in check:
        reset = bool(getattr(seen, "reset", False))
        checks.append(FieldCheck("expect.upstream.reset", check["reset"], reset, reset == check["reset"]))
    checks += _header_checks("expect.upstream.headers", check.get("headers") or {}, seen.headers)
    checks += _header_checks("expect.upstream.trailers", check.get("trailers") or {}, seen.trailers)
    if "body" in check:
        checks.append(
            FieldCheck(
                "expect.upstream.body",
                check["body"],
                _shown(seen.body),
                body_matches(check["body"], seen.body),
            )
        )
    return checks


def _tcp_checks(expect: Expect, outcome: TcpOutcome) -> list[FieldCheck]:
    checks = []
    for name in ("upstream_received", "client_received"):
        check = getattr(expect, name)
        if check is not None:
            actual = getattr(outcome, name)
            checks.append(FieldCheck(f"expect.{name}", check, _shown(actual), body_matches(check, actual)))
    if expect.closed_by is not None:
        checks.append(
            FieldCheck(
                "expect.closed_by", expect.closed_by, outcome.closed_by, outcome.closed_by == expect.closed_by
            )
        )
    return checks


HTTP_FIELDS = ("status", "headers", "body", "local_reply", "upstream")
TCP_FIELDS = ("upstream_received", "client_received", "closed_by")


def _needs_outcome(expect: Expect, outcome: Outcome | TcpOutcome | None) -> list[FieldCheck]:
    """A field about an exchange the step did not make fails by name (never passes silently)."""
    wrong = [] if isinstance(outcome, Outcome) else [(name, "request") for name in HTTP_FIELDS]
    if not isinstance(outcome, TcpOutcome):
        wrong += [(name, "connect") for name in TCP_FIELDS]
    return [
        FieldCheck(f"expect.{name}", getattr(expect, name), f"(this step has no {kind})", False)
        for name, kind in wrong
        if getattr(expect, name) is not None
    ]


def _callout_checks(expected: list[dict[str, Any]], calls: list[HttpCallRecord]) -> list[FieldCheck]:
    made = [f"{c.cluster} {c.header(':method')} {c.header(':path')}" for c in calls]
    checks = [FieldCheck("expect.callouts (count)", len(expected), made, len(expected) == len(calls))]
    for index, (want, call) in enumerate(zip(expected, calls, strict=False)):
        prefix = f"expect.callouts[{index}]"
        simple = {
            "cluster": call.cluster,
            "method": call.header(":method"),
            "authority": call.header(":authority"),
            "timeout_ms": call.timeout_ms,
            "status": call.answered_status,
        }
        for key, actual in simple.items():
            if key in want:
                checks.append(FieldCheck(f"{prefix}.{key}", want[key], actual, want[key] == actual))
        if "path" in want:
            path = call.header(":path")
            checks.append(FieldCheck(f"{prefix}.path", want["path"], path, text_matches(want["path"], path)))
        checks += _header_checks(f"{prefix}.headers", want.get("headers") or {}, call.headers)
        if "body" in want:
            checks.append(
                FieldCheck(
                    f"{prefix}.body", want["body"], _shown(call.body), body_matches(want["body"], call.body)
                )
            )
    return checks


def _redis_checks(expected: list[dict[str, Any]], calls: list[Any]) -> list[FieldCheck]:
    made = [f"{c.cluster} {' '.join(c.command or ['?'])}" for c in calls]
    checks = [FieldCheck("expect.redis_calls (count)", len(expected), made, len(expected) == len(calls))]
    for index, (want, call) in enumerate(zip(expected, calls, strict=False)):
        prefix = f"expect.redis_calls[{index}]"
        for key, actual in {"cluster": call.cluster, "status": call.status}.items():
            if key in want:
                checks.append(FieldCheck(f"{prefix}.{key}", want[key], actual, want[key] == actual))
        if "command" in want:
            words = " ".join(call.command or [])
            passed = text_matches(want["command"], words)
            checks.append(FieldCheck(f"{prefix}.command", want["command"], words, passed))
    return checks


def _grpc_checks(expected: list[dict[str, Any]], calls: list[GrpcCallRecord]) -> list[FieldCheck]:
    made = [f"{c.kind} {c.cluster} {c.service}/{c.method}" for c in calls]
    checks = [FieldCheck("expect.grpc_calls (count)", len(expected), made, len(expected) == len(calls))]
    for index, (want, call) in enumerate(zip(expected, calls, strict=False)):
        prefix = f"expect.grpc_calls[{index}]"
        simple: dict[str, Any] = {
            "cluster": call.cluster,
            "service": call.service,
            "method": call.method,
            "stream": call.kind == "stream",
            "status": call.close_status,
        }
        for key, actual in simple.items():
            if key in want:
                checks.append(FieldCheck(f"{prefix}.{key}", want[key], actual, want[key] == actual))
        if "messages" in want or "messages_base64" in want:
            wanted = (
                [m.encode() for m in want["messages"]]
                if "messages" in want
                else [base64.b64decode(m) for m in want["messages_base64"]]
            )
            checks.append(
                FieldCheck(
                    f"{prefix}.messages",
                    [_shown(m) for m in wanted],
                    [_shown(m) for m in call.messages],
                    wanted == call.messages,
                )
            )
    return checks


def _log_matches(check: str | dict[str, Any], record: LogRecord) -> bool:
    if isinstance(check, str):
        return re.search(check, record.message) is not None
    if "level" in check and record.level_name != check["level"]:
        return False
    if "plugin" in check and record.plugin != check["plugin"]:
        return False
    return re.search(check.get("regex", ""), record.message) is not None


def _log_lines(logs: list[LogRecord]) -> list[str]:
    return [f"[{r.level_name}] {r.message}" for r in logs]


def _metric_matches(check: Any, value: int | None) -> bool:
    if isinstance(check, int):
        return value == check
    if check.get("absent"):
        return value is None
    if value is None:
        return False
    return bool(check.get("min", value) <= value <= check.get("max", value))


def _shared_check(key: str, check: Any, seen: Observed) -> FieldCheck:
    name = f"expect.shared_data.{key}"
    if seen.shared_data is None:
        note = f"{seen.backend} offers no way to read shared data from outside a plugin"
        return FieldCheck(name, check, None, True, note)
    values = seen.shared_data(key)
    texts = [v.decode("utf-8", "replace") for v in values]
    actual = texts[0] if len(texts) == 1 else (texts or None)
    passed = any(text_matches(check, t) for t in texts) if texts else text_matches(check, None)
    return FieldCheck(name, check, actual, passed)
