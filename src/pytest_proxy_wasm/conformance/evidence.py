"""Evidence behind a finding: the minimal input, what the plugin answered, the failed callback and trap,
the plugin's last log lines (panics first) and, with an Envoy backend, whether Envoy shows it too.

``Exchange`` records one request a case sent through a host; ``build_evidence`` picks the exchange that
shows the failure. Byte values are shown as bytes (``b"caf\\xe9"``), never as the characters they would
decode to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..host.abi.enums import FailurePolicy
from ..host.failures import VmFailure
from ..outcome import Outcome, TcpOutcome

PANIC = re.compile(r"panic|abort|fatal error|exception|traceback", re.I)
ERRORISH = re.compile(r"\[(error|critical|stderr)\]")
PANIC_LINES = 10
LOG_LINES = 20
SHOWN_VALUE = 120  # characters of one value in text forms
MAX_JSON_VALUE = 2048  # bytes of one value kept in JSON
EMPTY = '""'  # an empty value in text forms


def show_bytes(data: bytes) -> str:
    """``b"caf\\xe9"``: printable ASCII as itself, every other byte escaped."""
    out = []
    for byte in data:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return 'b"' + "".join(out) + '"'


def show(value: bytes | str, encoding: str = "latin-1") -> str:
    """Plain text when the value is printable ASCII, else its wire bytes as a bytes literal.

    Header values given as ``str`` go on the wire as latin-1 (one byte per character), bodies as UTF-8.
    """
    if isinstance(value, str):
        if all(0x20 <= ord(c) < 0x7F for c in value):
            return value
        try:
            data = value.encode(encoding)
        except UnicodeEncodeError:
            try:
                data = value.encode("utf-8", "surrogateescape")  # bytes decoded with surrogateescape
            except UnicodeEncodeError:  # another lone surrogate: shown escaped, never a crash
                data = value.encode("utf-8", "backslashreplace")
    else:
        data = bytes(value)
    if len(data) > MAX_JSON_VALUE:
        return show_bytes(data[:MAX_JSON_VALUE]) + f"… ({len(data)} bytes)"
    return show_bytes(data)


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    return [tuple(p) for p in value]


def encode_request(request: dict[str, Any]) -> dict[str, Any]:
    """The request keywords as JSON, leaving out defaults; byte values shown as bytes."""
    out: dict[str, Any] = {}
    for key, value in request.items():
        if value is None or (key == "upstream_status" and value == 200):
            continue
        if key in ("headers", "trailers", "upstream_headers", "upstream_trailers"):
            pairs = _pairs(value)
            if pairs or key == "headers":
                out[key] = [[show(k), show(v)] for k, v in pairs]
        elif key in ("downstream", "upstream_reply"):
            if callable(value):
                out[key] = "(a function of what reached the upstream)"
            elif isinstance(value, bytes | str):
                out[key] = show(value, "utf-8")
            else:
                out[key] = [show(c, "utf-8") for c in value]
        elif key in ("body", "upstream_body"):
            if isinstance(value, bytes | str):
                if value:
                    out[key] = show(value, "utf-8")
            else:
                chunks = [show(c, "utf-8") for c in value]
                if chunks:
                    out[key] = chunks
        else:
            out[key] = value if isinstance(value, int | float | bool) else show(str(value))
    return out


def _short(text: str) -> str:
    return text if len(text) <= SHOWN_VALUE else text[:SHOWN_VALUE] + f"… ({len(text)} chars)"


def request_text(encoded: dict[str, Any]) -> str:
    """One line: ``GET / · headers: x-a: b"caf\\xe9" · body in 2 frames: "ab", "c"``."""
    parts = [f"{encoded.get('method', 'GET')} {encoded.get('path', '/')}"]
    for key in ("headers", "trailers", "upstream_headers"):
        pairs = encoded.get(key) or []
        if pairs:
            shown = ", ".join(f"{k}: {_short(v) or EMPTY}" for k, v in pairs[:8])
            more = f" (+{len(pairs) - 8} more)" if len(pairs) > 8 else ""
            parts.append(f"{key.replace('_', ' ')}: {shown}{more}")
        elif key == "headers" and "headers" in encoded:
            parts.append("headers: none")
    body = encoded.get("body")
    if isinstance(body, list):
        parts.append(f"body in {len(body)} frame(s): " + ", ".join(_short(c) for c in body))
    elif body:
        parts.append(f"body: {_short(body)}")
    if "upstream_status" in encoded:
        parts.append(f"upstream answers {encoded['upstream_status']}")
    if encoded.get("upstream_body"):
        parts.append(f"upstream body: {_short(str(encoded['upstream_body']))}")
    return " · ".join(parts)


def tcp_text(encoded: dict[str, Any]) -> str:
    """``TCP · client sends b"a", b"b" · upstream answers b"x" · closed by downstream``."""
    parts = ["TCP"]
    for key, label in (("downstream", "client sends"), ("upstream_reply", "upstream answers")):
        value = encoded.get(key)
        if value:
            parts.append(f"{label} " + (", ".join(map(_short, value)) if isinstance(value, list) else value))
    parts.append(f"closed by {encoded.get('close_from', 'downstream')}")
    return " · ".join(parts)


@dataclass(frozen=True)
class PluginSetup:
    """How a plugin in the exchange's chain was loaded (what a replay on Envoy needs)."""

    sha256: str
    name: str
    root_id: str
    vm_id: str
    plugin_config: bytes
    vm_config: bytes
    env: dict[str, str]
    failure_policy: FailurePolicy
    is_target: bool
    module: bytes | None = None  # the bytes of a companion module (None: the target module)


@dataclass
class Exchange:
    """One ``host.request`` (or ``host.connect``) a case made: its keywords, chain, outcome, and a failure
    it caused."""

    request: dict[str, Any]
    chain: list[PluginSetup]
    outcome: Outcome | TcpOutcome  # without its misuse list (recording.py)
    host_index: int  # which host of the run (a fresh host starts a fresh Envoy in a replay)
    prefix: list[tuple[str, dict[str, Any]]]  # ("http"|"tcp", keywords) sent before on the same host
    failure: VmFailure | None = None  # a VM failure that happened during this exchange
    log_tail: list[str] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        """The exchange itself shows a fault: a new VM failure, a hang, no answer or an invalid status."""
        o = self.outcome
        if isinstance(o, TcpOutcome):
            return self.failure is not None
        invalid = o.status is not None and not 100 <= o.status <= 599
        return self.failure is not None or o.hung or invalid or (o.status is None and not o.reset)

    @property
    def tcp(self) -> bool:
        return isinstance(self.outcome, TcpOutcome)

    def result(self) -> tuple[Any, ...]:
        o = self.outcome
        if isinstance(o, TcpOutcome):
            return o.closed_by, bool(o.plugin_failed), o.client_received
        return o.status, bool(o.plugin_failed), o.response_body


def outcome_summary(outcome: Outcome | TcpOutcome) -> dict[str, Any]:
    if isinstance(outcome, TcpOutcome):
        return {
            "status": None,
            "plugin_failed": outcome.plugin_failed,
            "closed_by": outcome.closed_by,
            "client_received": show(outcome.client_received),
            "upstream_received": show(outcome.upstream_received),
        }
    return {
        "status": outcome.status,
        "local_reply": outcome.local_reply,
        "plugin_failed": outcome.plugin_failed,
        "hung": outcome.hung,
        "reset": outcome.reset,
        "details": outcome.details,
    }


def logical(request: dict[str, Any]) -> str:
    """The request with its body frames joined: exchanges that differ only in framing compare equal."""
    body = request.get("body", b"")
    if not isinstance(body, bytes | str):
        body = b"".join(bytes(c) for c in body)
    return repr(sorted({**request, "body": body}.items()))


def pick(exchanges: Sequence[Exchange]) -> list[Exchange]:
    """The exchanges that show the failure: the last one that caused a fault (hypothesis replays the
    shrunk example last), else the first pair of the same request (framing aside) with different
    results. None when the case judged its exchanges together (a memory curve, say)."""
    for exchange in reversed(exchanges):
        if exchange.bad:
            return [exchange]
    first_of: dict[str, Exchange] = {}
    for exchange in exchanges:
        first = first_of.setdefault(logical(exchange.request), exchange)
        if exchange.result() != first.result():
            return [first, exchange]
    return []


def panic_lines(lines: Sequence[str]) -> list[str]:
    """The plugin's panic (Rust ``panicked at``, Go ``panic:`` written in pieces to stderr, aborts) and the
    lines after it; without one, its error-level and stderr lines."""
    starts = [i for i, line in enumerate(lines) if PANIC.search(line)]
    if starts:
        return list(lines[starts[0] : starts[0] + PANIC_LINES])
    return [line for line in lines if ERRORISH.match(line)][-PANIC_LINES:]


@dataclass
class Evidence:
    """What a user needs to act on a finding; JSON-able through ``to_json``."""

    inputs: list[dict[str, Any]] = field(default_factory=list)  # encoded requests, each with its outcome
    source: str = ""  # "hypothesis-shrunk (seed N)", "fixed input", "explicit"
    callback: str | None = None
    trap: str | None = None
    failure_kind: str | None = None
    panic: list[str] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)
    note: str = ""
    replay: dict[str, Any] | None = None
    raw: list[Exchange] = field(default_factory=list, repr=False)  # kept for the replay, not serialized

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "source": self.source,
            "callback": self.callback,
            "trap": self.trap,
            "failure_kind": self.failure_kind,
            "panic": self.panic,
            "log_tail": self.log_tail,
            "note": self.note,
            "replay": self.replay,
        }

    def empty(self) -> bool:
        return not (self.inputs or self.callback or self.panic or self.log_tail or self.note)

    def lines(self) -> list[str]:
        """The evidence as text lines (terminal, JUnit failure text)."""
        return text_lines(self.to_json())


def text_lines(ev: dict[str, Any]) -> list[str]:
    """Text form of an evidence record (also used by the reports, from the JSON)."""
    out: list[str] = []
    for i, item in enumerate(ev.get("inputs") or []):
        label = "input" if len(ev["inputs"]) == 1 else f"input {i + 1}"
        source = f" ({ev['source']})" if ev.get("source") and i == 0 else ""
        out.append(f"{label}{source}: {item.get('text', '')}")
        result = item.get("outcome")
        if result and result.get("hung"):
            out.append("  -> no answer: the stream hung")
        elif result:
            out.append(
                f"  -> status {result.get('status')}"
                + (" (plugin failed)" if result.get("plugin_failed") else "")
            )
    if ev.get("callback"):
        out.append(f"failed callback: {ev['callback']}")
    if ev.get("trap"):
        out.append(f"trap: {ev.get('failure_kind') or ''}: {ev['trap']}".replace(": : ", ": "))
    out += ["plugin: " + line.replace("\n", "\n    ") for line in ev.get("panic") or []]
    if ev.get("note"):
        out.append(ev["note"])
    replay = ev.get("replay")
    if replay:
        out.append(f"{replay.get('label')}: {replay.get('detail', '')}".rstrip(": "))
    return out


def build_evidence(
    exchanges: Sequence[Exchange],
    failures: Sequence[VmFailure],
    logs: Sequence[str],
    *,
    shrunk: bool = False,
    seed: int | None = None,
) -> Evidence:
    """Evidence from what a failed case did: the exchange(s) that show it, the VM failure, the logs."""
    chosen = pick(exchanges)
    ev = Evidence(raw=list(chosen))
    for exchange in chosen:
        encoded = encode_request(exchange.request)
        ev.inputs.append(
            {
                "request": encoded,
                "text": tcp_text(encoded) if exchange.tcp else request_text(encoded),
                "outcome": outcome_summary(exchange.outcome),
            }
        )
    if chosen:
        ev.source = f"hypothesis-shrunk (seed {seed})" if shrunk else "fixed input"
    failure = next((e.failure for e in reversed(chosen) if e.failure is not None), None)
    if failure is None and failures:
        failure = failures[-1]
    tail = list(chosen[-1].log_tail) if chosen else []
    if failure is not None:
        ev.callback, ev.trap, ev.failure_kind = failure.callback, failure.message, failure.kind
        tail = tail or list(failure.logs)
    ev.log_tail = (tail or list(logs))[-LOG_LINES:]
    if not chosen and exchanges:
        ev.note = "no single exchange shows it: the case judged its exchanges together (see the details)"
    ev.panic = panic_lines(ev.log_tail if chosen or failure else list(logs))
    return ev


def with_input(ev: Evidence, given: Any, exchanges: Sequence[Exchange]) -> Evidence:
    """Evidence whose inputs are what the case named; recorded exchanges with that request keep their
    outcome (and can be replayed)."""
    requests = list(given) if isinstance(given, list | tuple) else [given]
    ev.inputs, ev.raw, ev.source = [], [], "named by the case"
    for request in requests:
        if not isinstance(request, dict):
            ev.inputs.append({"request": {}, "text": show(str(request)), "outcome": None})
            continue
        match = next((e for e in reversed(exchanges) if e.request == request), None)
        encoded = encode_request(request)
        item: dict[str, Any] = {"request": encoded, "text": request_text(encoded), "outcome": None}
        if match is not None:
            item["outcome"] = outcome_summary(match.outcome)
            ev.raw.append(match)
        ev.inputs.append(item)
    return ev
