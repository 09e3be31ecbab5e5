"""The one Protocol every backend implements; tests written against it run on each backend."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from ..host.abi.enums import FailurePolicy
from ..host.callouts import HttpCallExpectation, HttpCallRecord
from ..host.grpc_fakes import GrpcCallRecord, GrpcExpectation
from ..host.headers import HeaderInput
from ..host.options import ConfigInput
from ..host.tcp_connection import UpstreamReply
from ..outcome import LogRecord, Outcome, TcpOutcome

Headers = HeaderInput  # str values go out as Latin-1, bytes as they are, on every backend


@runtime_checkable
class Backend(Protocol):
    """A place to run plugin chains: the in-process emulator or a real Envoy."""

    name: str

    def load_plugin(
        self,
        module: str | os.PathLike[str] | bytes,
        *,
        plugin_config: ConfigInput = None,
        vm_config: ConfigInput = None,
        env: Mapping[str, str] | None = None,
        root_id: str = "",
        vm_id: str = "",
        name: str | None = None,
        failure_policy: FailurePolicy | str = FailurePolicy.FAIL_CLOSED,
    ) -> Any:
        """Add a plugin to the chain; raise ``PluginStartError`` if it refuses to start or configure."""
        ...

    def load_service(
        self,
        module: str | os.PathLike[str] | bytes,
        *,
        vm_id: str = "",
        root_id: str = "",
        plugin_config: ConfigInput = None,
        vm_config: ConfigInput = None,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> Any:
        """Start a singleton service (``envoy.bootstrap.wasm``, ``singleton: true``): one root context
        on the main thread, never in a filter chain; ticks, callouts, shared data and queues."""
        ...

    def expect_http_call(
        self, cluster: str, *, method: str | None = None, path: str | None = None, once: bool = False
    ) -> HttpCallExpectation: ...

    def add_cluster(self, *names: str) -> None: ...

    def withdraw(self, cluster: str) -> int:
        """Withdraw every HTTP answer declared for ``cluster``; the cluster itself stays."""
        ...

    def expect_grpc_call(
        self, cluster: str, service: str | None = None, method: str | None = None, *, once: bool = False
    ) -> GrpcExpectation:
        """Declare a unary gRPC call's answer: ``.respond_with(message, status=...)`` or ``.fail()``."""
        ...

    def expect_grpc_stream(
        self, cluster: str, service: str | None = None, method: str | None = None, *, once: bool = False
    ) -> GrpcExpectation:
        """Declare how a gRPC stream behaves; ``.respond_with(..., replies=..., close_after=...)``."""
        ...

    @property
    def http_calls(self) -> list[HttpCallRecord]:
        """The HTTP callouts made, one record shape on every backend (on Envoy: token 0)."""
        ...

    @property
    def grpc_calls(self) -> list[GrpcCallRecord]:
        """The gRPC calls and streams made (on Envoy: as the fake server saw them; token 0)."""
        ...

    def request(
        self,
        plugins: Any = None,
        *,
        method: str = "GET",
        path: str = "/",
        authority: str | None = None,
        scheme: str = "http",
        headers: Headers = None,
        body: bytes | str | Sequence[bytes] = b"",
        trailers: Headers = None,
        upstream_status: int = 200,
        upstream_headers: Headers = None,
        upstream_body: bytes | str = b"",
        direct_response: tuple[int, bytes | str] | None = None,
    ) -> Outcome:
        """Run one whole exchange through the chain and return what happened.

        ``authority``: ``example.com`` unless given, here or as a ``host`` header (not both, unless equal).

        ``direct_response=(status, body)``: the route is Envoy's ``direct_response``, not the upstream."""
        ...

    def connect(
        self,
        plugins: Any = None,
        *,
        downstream: bytes | str | Sequence[bytes | str] = (),
        upstream_reply: UpstreamReply = None,
        close_from: str = "downstream",
    ) -> TcpOutcome:
        """Run one TCP connection through the chain as network filters (see ``Host.connect``)."""
        ...

    def advance(self, milliseconds: float) -> None:
        """Let time pass (virtual on the emulator, real on Envoy)."""
        ...

    def log_messages(self, level: str | None = None) -> list[str]: ...

    def clear_logs(self) -> None:
        """Forget the logs so far (e.g. the start-up lines)."""
        ...

    @property
    def logs(self) -> list[LogRecord]: ...

    def check(self) -> None: ...

    def close(self) -> None: ...
