"""Area ``differential``: the emulator and a real Envoy give the same Outcome (``--backend diff``)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..backends import make_backend
from ..backends.diff import BackendMismatch
from .cases import CaseFailure, CaseRun, CaseWarning, case
from .http_robustness import explore, from_regex

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
    backend = make_backend("diff", runtime=run.runtime, envoy_version=run.target.envoy_version or None)
    target = run.target
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

        def one(request: dict[str, Any]) -> None:
            try:
                backend.request(plugin, **request)
            except BackendMismatch as exc:
                if tick_explains(run, exc):
                    if not tick_only:
                        run.evidence(input=request, note=f"emulator and Envoy differ: {exc}")
                    tick_only.append(str(exc))
                    return
                run.evidence(input=request, note=f"emulator and Envoy differ: {exc}")
                raise CaseFailure(str(exc)) from None

        explore(run, REQUESTS, one, run.user_requests(DEFAULTS))
        if tick_only:
            raise CaseWarning(
                f"{tick_only[0]}\n({len(tick_only)} request(s); the module sets a timer at start: on Envoy "
                "it fires on the real clock during the check, in the emulator only when time is advanced; "
                "only logs, metrics or callouts differ)"
            )
    finally:
        backend.close()
