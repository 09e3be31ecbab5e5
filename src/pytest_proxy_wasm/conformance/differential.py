"""Area ``differential``: the emulator and a real Envoy give the same Outcome (``--backend diff``)."""

from __future__ import annotations

from typing import Any

from ..backends import make_backend
from ..backends.diff import BackendMismatch
from .cases import CaseFailure, CaseRun, case
from .http_robustness import REQUESTS, explore


@case(
    "differential",
    "generated_requests",
    title="Generated requests give the same Outcome on the emulator and on Envoy",
    rule="backends/diff.py: status, headers, bodies, upstream request, logs and metrics must agree",
    why="The emulator is only trustworthy for a module if Envoy agrees with it on that module.",
    backends=("diff",),
    needs_backend="diff",
)
def generated_requests(run: CaseRun) -> None:
    backend = make_backend("diff", runtime=run.runtime)
    try:
        plugin = backend.load_plugin(
            run.target.module,
            plugin_config=run.target.plugin_config,
            vm_config=run.target.vm_config,
            env=run.target.env,
        )

        def one(request: dict[str, Any]) -> None:
            kwargs = {k: v for k, v in request.items() if k != "trailers"}
            try:
                backend.request(plugin, **kwargs)
            except BackendMismatch as exc:
                raise CaseFailure(str(exc)) from None

        explore(run, REQUESTS, one)
    finally:
        backend.close()
