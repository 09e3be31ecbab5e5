"""What a test declares about the world outside the plugin: clusters and their HTTP/gRPC answers.

One mixin serves every backend, so ``expect_http_call`` and friends mean the same on the emulator
and on Envoy; each backend supplies ``callouts`` (HTTP) and ``grpc`` (an object with ``expect`` and
``records``) and answers the calls its own way.
"""

from __future__ import annotations

from typing import Any

from .callouts import Callouts, HttpCallExpectation, HttpCallRecord
from .grpc_fakes import GrpcCallRecord, GrpcExpectation


class CalloutDeclarations:
    callouts: Callouts
    grpc: Any

    def add_cluster(self, *names: str) -> None:
        """Declare clusters that exist (calls nobody declared an answer for get Envoy's 503)."""
        self.callouts.add_cluster(*names)

    def expect_http_call(
        self, cluster: str, *, method: str | None = None, path: str | None = None, once: bool = False
    ) -> HttpCallExpectation:
        """Declare what ``cluster`` answers; chain ``.respond_with(...)`` or ``.fail("reset"|"timeout")``."""
        return self.callouts.expect(cluster, method=method, path=path, once=once)

    def withdraw(self, cluster: str) -> int:
        """Withdraw every HTTP answer declared for ``cluster`` (exact name); returns how many. The
        cluster stays known: later calls get the 503 of a cluster nobody answers (and fail ``check``)."""
        return self.callouts.withdraw_cluster(cluster)

    @property
    def http_calls(self) -> list[HttpCallRecord]:
        """Every HTTP callout the plugins made, in order."""
        return list(self.callouts.records)

    def expect_grpc_call(
        self, cluster: str, service: str | None = None, method: str | None = None, *, once: bool = False
    ) -> GrpcExpectation:
        """Declare a unary gRPC call's answer: ``.respond_with(message, status=...)`` or ``.fail()``."""
        expectation: GrpcExpectation = self.grpc.expect("call", cluster, service, method, once)
        return expectation

    def expect_grpc_stream(
        self, cluster: str, service: str | None = None, method: str | None = None, *, once: bool = False
    ) -> GrpcExpectation:
        """Declare how a gRPC stream behaves; ``.respond_with(..., replies=..., close_after=...)``."""
        expectation: GrpcExpectation = self.grpc.expect("stream", cluster, service, method, once)
        return expectation

    @property
    def grpc_calls(self) -> list[GrpcCallRecord]:
        """Every gRPC call and stream the plugins opened, in order."""
        return list(self.grpc.records)
