"""Case ``lifecycle.envoy_survives``: nothing the plugin does makes Envoy itself crash.

The emulator raises ``ProxyCrash`` where Envoy 1.40 aborts (host/proxy_crash.py): today a gRPC call
whose service bytes parse as a GrpcService without a target (host/grpc_service.py). This case owns
that finding; other cases that run into the crash are skipped and point here.
"""

from __future__ import annotations

from ..host.proxy_crash import ProxyCrash
from .cases import CaseFailure, CaseRun, case
from .support import STANDARD_CONNECTIONS, STANDARD_REQUESTS


@case(
    "lifecycle",
    "envoy_survives",
    title="Nothing the plugin does crashes Envoy itself",
    rule="Envoy 1.40 context.cc grpcCall/grpcStream: service bytes that parse as a GrpcService are used "
    "as one; a GrpcService without envoy_grpc/google_grpc panics ('unset oneof') and aborts Envoy",
    why="A proxy crash takes every listener, route and connection of the Envoy down with it, not only "
    "this plugin's traffic; Envoy restarts and crashes again at the next such request.",
)
def envoy_survives(run: CaseRun) -> None:
    host, plugin = run.started()
    kind = run.classification.get("kind")
    try:
        if kind == "network_filter":
            for connection in STANDARD_CONNECTIONS:
                host.connect(plugin, **connection)
        elif kind == "http_filter":
            for request in (*STANDARD_REQUESTS, *run.user_requests({})):
                host.request(plugin, **request)
        host.advance(2_000)  # ticks and delayed answers
    except ProxyCrash as crash:
        run.details["proxy_crash"] = crash.summary
        raise CaseFailure(crash.summary) from None
