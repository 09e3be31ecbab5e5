"""A plugin action that makes Envoy itself crash: the emulator stops the test the way Envoy would stop
serving, with an exception that says why (``ProxyCrash``), instead of answering as if Envoy lived on."""

from __future__ import annotations

from ..errors import ProxyWasmError

ENVOY = "Envoy 1.40"


class ProxyCrash(ProxyWasmError):  # noqa: N818 - what Envoy does, named as such
    """Envoy 1.40 aborts at this point; raised by every later request of the host too."""

    def __init__(self, title: str, reason: str) -> None:
        self.title = title  # "the plugin's gRPC call crashes Envoy 1.40"
        self.reason = reason
        self.callback = ""  # the callback that made the call (set by the VM)
        self.plugin = ""
        super().__init__(f"{title}: {reason}")

    @property
    def summary(self) -> str:
        where = f" in {self.callback}" if self.callback else ""
        who = f" (plugin {self.plugin!r})" if self.plugin else ""
        return f"{self.title}{where}{who}: {self.reason}"

    def __str__(self) -> str:
        return self.summary


def grpc_call_crash(hostcall: str, service: bytes) -> ProxyCrash:
    """Envoy parsed ``service`` as a GrpcService with no target and aborts (host/grpc_service.py)."""
    shown = repr(service)[1:] if len(service) <= 80 else repr(service[:80])[1:] + "..."
    return ProxyCrash(
        f"the plugin's gRPC call crashes {ENVOY}",
        f"{hostcall}'s service bytes {shown} parse as a serialized envoy.config.core.v3.GrpcService "
        "with neither envoy_grpc nor google_grpc set, and Envoy aborts (panic: unset oneof, SIGABRT) "
        "before it would take them as a cluster name. Use a cluster name that is not a valid GrpcService "
        "message (e.g. one starting with 'o' as 'outbound|...' does), or pass a serialized GrpcService "
        "with envoy_grpc.cluster_name set",
    )
