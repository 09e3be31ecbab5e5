"""Area ``differential``: the emulator and a real Envoy give the same Outcome (``--backend diff``)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..backends import make_backend
from ..backends.outcome_diff import BackendMismatch
from ..host.options import HostOptions
from .cases import CaseFailure, CaseRun, CaseWarning, case
from .http_robustness import explore, from_regex
from .support import describe

# Ordinary HTTP/1.1 traffic. Codec corner cases (HEAD, 1xx/204/304 answers, trailers, 8-bit header
# values) are left to the robustness area: docs/backends.md lists how the emulator frames those.
_TOKEN = from_regex(r"\Ax-[a-z0-9-]{1,20}\Z")
_VALUE = from_regex(r"\A([!-~]([ !-~]{0,30}[!-~])?)?\Z")
_HEADERS = st.lists(st.tuples(_TOKEN, _VALUE), max_size=8)
REQUESTS = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        "path": from_regex(r"\A/[a-zA-Z0-9/._~-]{0,30}(\?[a-z0-9=&]{0,12})?\Z"),
        "headers": _HEADERS,
        "body": st.lists(st.binary(min_size=1, max_size=64), max_size=3),
        "upstream_status": st.sampled_from([200, 201, 400, 401, 403, 404, 429, 500, 502, 503]),
        "upstream_headers": _HEADERS,
        "upstream_body": st.binary(max_size=64),
    }
)


# What a tick can change between two backends whose clocks differ: the emulator's clock moves only when
# a test advances it, Envoy's runs during the check, so a timer may fire on one side only.
TICK_DEPENDENT = ("plugin_logs", "metrics", "callouts")


def tick_explains(run: CaseRun, exc: BackendMismatch) -> bool:
    """Only the tick-dependent fields differ, for a module that set a timer at start."""
    fields = {entry.split(maxsplit=1)[0].rstrip(":").split(".")[0] for entry in exc.differences}
    return bool(run.classification.get("timer_ms")) and bool(fields) and fields <= set(TICK_DEPENDENT)


DEFAULTS: dict[str, Any] = {"method": "GET", "path": "/", "headers": [], "body": [], "upstream_status": 200,
                           "upstream_headers": [], "upstream_body": b""}  # fmt: skip


@case(
    "differential",
    "generated_requests",
    title="Generated requests give the same Outcome on the emulator and on Envoy",
    rule="backends/diff.py: status, headers, bodies, upstream request, logs and metrics must agree",
    why="The emulator is only trustworthy for a module if Envoy agrees with it on that module.",
    backends=("envoy", "diff"),
    needs_backend="envoy|diff",
)
def generated_requests(run: CaseRun) -> None:
    target = run.target
    options = HostOptions(start_time_ns=target.start_time_ns, **dict(target.client_address))
    version = target.envoy_version or None
    backend: Any = make_backend("diff", runtime=run.runtime, options=options, envoy_version=version)
    try:
        for cluster, status, body in target.callouts:
            backend.expect_http_call(cluster).respond_with(status, body=body.encode())
        plugin = backend.load_plugin(
            target.module,
            plugin_config=target.plugin_config,
            vm_config=target.vm_config,
            env=target.env,
            root_id=target.root_id,
            vm_id=target.vm_id,
        )

        tick_only: list[str] = []  # differences a tick explains: a warning, and the search goes on
        answers = run.details.setdefault("answers", [])  # what each backend answered (the report)
        users = [describe(r) for r in run.user_requests(DEFAULTS)]

        def compare(request: dict[str, Any]) -> None:
            try:
                backend.request(plugin, **request)
                _record(answers, request, getattr(backend, "last_answers", (None, None)), users)
            except BackendMismatch as exc:
                _record(answers, request, (exc.emulated, exc.real), users, differs=True)
                if tick_explains(run, exc):
                    if not tick_only:
                        run.evidence(input=request, note=f"emulator and Envoy differ: {exc}")
                    tick_only.append(str(exc))
                    return
                run.evidence(input=request, note=f"emulator and Envoy differ: {exc}")
                raise CaseFailure(str(exc)) from None

        backend.skip_repeated_hangs = True  # each hang would cost Envoy's wait: one confirms them all
        hung: list[dict[str, Any]] = []

        def one(request: dict[str, Any]) -> None:
            before = backend.hangs_confirmed + backend.hangs_skipped
            compare(request)
            if backend.hangs_confirmed + backend.hangs_skipped > before:
                hung.append(request)

        explore(run, REQUESTS, one, run.user_requests(DEFAULTS))
        if hung:
            _hangs(run, backend, hung, int(run.details.get("examples_run", 0)))
        if tick_only:
            raise CaseWarning(
                f"{tick_only[0]}\n({len(tick_only)} request(s); the module sets a timer at start: on Envoy "
                "it fires on the real clock during the check, in the emulator only when time is advanced; "
                "only logs, metrics or callouts differ)"
            )
    finally:
        backend.close()


ANSWERS_KEPT = 8  # the user's requests, the differing ones and the last generated ones


def answer(outcome: Any) -> dict[str, Any] | None:
    """One backend's answer, short: status, local reply details, what the upstream saw, a failure."""
    if outcome is None:
        return None
    up = outcome.upstream_request
    out: dict[str, Any] = {"status": outcome.status, "upstream": f"{up.method} {up.path}" if up else None}
    if outcome.local_reply:
        out["local_reply"] = outcome.details or True
    if outcome.plugin_failed:
        out["plugin_failed"] = outcome.plugin_failed
    if outcome.response_body:
        out["body"] = outcome.response_body[:120].decode("utf-8", "replace")
    return out


def _record(
    answers: list[dict[str, Any]],
    request: dict[str, Any],
    outcomes: tuple[Any, Any],
    users: list[dict[str, Any]],
    differs: bool = False,
) -> None:
    """Keep the answers of both backends: every user request and difference, the last others."""
    shown = describe(request)
    entry: dict[str, Any] = {"request": shown, "emulator": answer(outcomes[0]), "envoy": answer(outcomes[1])}
    if differs:
        entry["differs"] = True
    keep = differs or shown in users
    if not keep:
        generated = [i for i, a in enumerate(answers) if not a.get("differs") and a["request"] not in users]
        if len(answers) >= ANSWERS_KEPT and generated:
            answers.pop(generated[0])
    answers.append(entry)


def _hangs(run: CaseRun, backend: Any, hung: list[dict[str, Any]], examples: int) -> None:
    """Requests that hung on the emulator (Envoy did not answer the first either; later ones were not
    sent to it). They agree; when every request hung, nothing was compared: the case could not run."""
    from .support import hang_text, request

    host, plugin = run.started()
    outcome = request(host, plugin, **{**hung[0], "body": hung[0]["body"] or b""})  # where it hangs, named
    run.details["hung_on_both"] = {
        "requests": len(hung),
        "confirmed_on_envoy": backend.hangs_confirmed,
        "not_sent_to_envoy": backend.hangs_skipped,
        "envoy_wait_s": backend.hang_wait_s,
    }
    if len(hung) < examples:
        return
    run.evidence(input=hung[0])
    raise CaseFailure(
        f"every request hung on the emulator ({hang_text(outcome)}); Envoy did not answer the first within "
        f"{backend.hang_wait_s:g} s either: no answer could be compared"
    )
