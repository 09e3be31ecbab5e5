"""HTTP streams through one plugin (``HttpStream``), Envoy's filter semantics for one filter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .abi.enums import AbiVersion, Action, FailurePolicy
from .contexts import HttpContext, HttpSide, LocalResponse
from .headers import HeaderMap, to_pairs

if TYPE_CHECKING:
    from .headers import Pairs
    from .plugin import Plugin
    from .properties import StreamInfo

FAIL_STREAM_REPLY = LocalResponse(503, b"", [], "wasm_fail_stream", 14)  # Envoy Context::failStream


class BodyResult:
    """What one body callback decided. ``forward``: what goes on to the next filter on Continue."""

    __slots__ = ("action", "buffering", "forward")

    def __init__(self, action: Action, forward: bytes, buffering: bool) -> None:
        self.action = action
        self.forward = forward
        self.buffering = buffering

    def __repr__(self) -> str:
        return f"BodyResult({self.action!r}, {self.forward!r}, {self.buffering!r})"


class HttpStream:
    """One plugin's view of one HTTP stream. Drive it callback by callback; inspect what changed."""

    def __init__(self, plugin: Plugin, info: StreamInfo) -> None:
        self.plugin = plugin
        self.info = info
        self.context: HttpContext | None = None
        self.failed_stream = False
        self.finished = False
        self.standalone = False  # driven callback by callback (plugin.http_stream()), not by an exchange
        self._eos_arg = plugin.vm.abi is not AbiVersion.V0_1_0  # 0.1.0 header callbacks take no eos

    # -- plumbing --------------------------------------------------------------------------------------

    def _ensure_context(self) -> HttpContext:
        context = self.context
        if context is not None and context.vm is self.plugin.vm:
            return context
        vm = self.plugin.vm
        context = HttpContext(vm, vm.new_context_id(), self.plugin.root)
        context.info = self.info
        vm.contexts[context.id] = context
        self.context = context
        vm.call(context, "proxy_on_context_create", context.id, self.plugin.root.id)
        context.created = True
        return context

    def _failure_check(self, context: HttpContext) -> Action | None:
        """cpp-host CHECK_FAIL_HTTP: a failed VM continues (legacy fail_open) or fails the stream once."""
        if self.plugin.vm.failure is None:
            return None
        if self.plugin.failure_policy is FailurePolicy.LEGACY_FAIL_OPEN:
            return Action.CONTINUE
        if self.failed_stream:
            # Envoy delivers the 503 it sent for this stream through the failed filter unchanged.
            return Action.CONTINUE
        self.failed_stream = True
        context.local_response = FAIL_STREAM_REPLY
        context.intents.append(("local_reply", FAIL_STREAM_REPLY))
        return Action.PAUSE

    def _call(
        self, context: HttpContext, name: str, args: tuple[int, ...]
    ) -> tuple[int | None, Action | None]:
        vm = self.plugin.vm
        if vm.failure is not None:
            return None, self._failure_check(context)
        result = vm.call(context, name, *args)
        return result, self._failure_check(context) if vm.failure is not None else None

    # -- request and response sides ------------------------------------------------------------------

    def _headers(
        self, context: HttpContext, side: HttpSide, name: str, headers: HeaderMap, end_of_stream: bool
    ) -> Action:
        side.headers = headers
        side.headers_live = True
        args = (context.id, len(headers), int(end_of_stream)) if self._eos_arg else (context.id, len(headers))
        replies = len(context.intents)
        result, failed = self._call(context, name, args)
        if failed is not None:
            return failed
        if result in (None, 0) and (len(context.intents) == replies or not _replied_since(context, replies)):
            side.headers_live = False
            return Action.CONTINUE
        return Action.PAUSE  # 1 -> StopAllIterationAndWatermark (allow_on_headers_stop_iteration false)

    def _body(
        self, context: HttpContext, side: HttpSide, name: str, chunk: bytes, end_of_stream: bool
    ) -> BodyResult:
        data = side.body.data
        if side.in_body:
            data += chunk  # StopIterationAndBuffer: the next call sees everything so far
        else:
            data[:] = chunk
        side.in_body = True
        replies = len(context.intents)
        result, failed = self._call(context, name, (context.id, len(data), int(end_of_stream)))
        data = side.body.data  # the plugin may have replaced the buffer's bytes
        if failed is not None:
            forward = bytes(data) if failed is Action.CONTINUE else b""
            side.in_body = False  # a failed filter keeps nothing: each frame passes as it came
            return BodyResult(failed, forward, False)
        replied = len(context.intents) != replies and _replied_since(context, replies)
        if not result and not replied:
            side.in_body = False
            return BodyResult(Action.CONTINUE, bytes(data), False)
        buffering = (result in {1, 2}) and not replied
        if not buffering:
            side.in_body = False  # StopIterationNoBuffer: Envoy keeps nothing for this filter
        return BodyResult(Action.PAUSE, b"", buffering)

    def _trailers(self, context: HttpContext, side: HttpSide, name: str, trailers: HeaderMap) -> Action:
        side.trailers = trailers
        side.trailers_live = True
        replies = len(context.intents)
        result, failed = self._call(context, name, (context.id, len(trailers)))
        if failed is not None:
            return failed
        if result in (None, 0) and (len(context.intents) == replies or not _replied_since(context, replies)):
            side.trailers_live = False
            return Action.CONTINUE
        return Action.PAUSE

    # -- the filter walk's entry points (the context made once, the side picked by direction) ---------

    def walk_headers(self, request: bool, headers: HeaderMap, end_of_stream: bool) -> Action:
        context = self.context
        if context is None or context.vm is not self.plugin.vm:
            context = self._ensure_context()
        if request:
            return self._headers(context, context.request, "proxy_on_request_headers", headers, end_of_stream)
        return self._headers(context, context.response, "proxy_on_response_headers", headers, end_of_stream)

    def walk_body(self, request: bool, chunk: bytes, end_of_stream: bool) -> BodyResult:
        context = self.context
        if context is None or context.vm is not self.plugin.vm:
            context = self._ensure_context()
        if request:
            return self._body(context, context.request, "proxy_on_request_body", chunk, end_of_stream)
        return self._body(context, context.response, "proxy_on_response_body", chunk, end_of_stream)

    def walk_trailers(self, request: bool, trailers: HeaderMap) -> Action:
        context = self.context
        if context is None or context.vm is not self.plugin.vm:
            context = self._ensure_context()
        if request:
            return self._trailers(context, context.request, "proxy_on_request_trailers", trailers)
        return self._trailers(context, context.response, "proxy_on_response_trailers", trailers)

    # -- the public drive API --------------------------------------------------------------------------

    def on_request_headers(
        self, headers: Pairs | HeaderMap | list[tuple[str, str]] | dict[str, str], end_of_stream: bool = False
    ) -> Action:
        request = _map(headers)
        if self.standalone and self.info.request_headers is None:
            self.info.request_headers = request  # the stream's request, as an exchange would set it
        return self.walk_headers(True, request, end_of_stream)

    def on_request_body(self, chunk: bytes | str, end_of_stream: bool = False) -> Action:
        data = _bytes(chunk)
        if self.standalone:
            self.info.request_size += len(data)  # Envoy's bytesReceived
        return self.request_body(data, end_of_stream).action

    def request_body(self, chunk: bytes, end_of_stream: bool) -> BodyResult:
        return self.walk_body(True, chunk, end_of_stream)

    def on_request_trailers(self, trailers: Pairs | HeaderMap | list[tuple[str, str]]) -> Action:
        return self.walk_trailers(True, _map(trailers))

    def on_response_headers(
        self, headers: Pairs | HeaderMap | list[tuple[str, str]] | dict[str, str], end_of_stream: bool = False
    ) -> Action:
        response = _map(headers)
        if self.standalone and self.info.response_headers is None:
            self.info.response_headers = response
            status = response.get(b":status")
            self.info.response_code = int(status) if status and status.isdigit() else None
        return self.walk_headers(False, response, end_of_stream)

    def on_response_body(self, chunk: bytes | str, end_of_stream: bool = False) -> Action:
        return self.response_body(_bytes(chunk), end_of_stream).action

    def response_body(self, chunk: bytes, end_of_stream: bool) -> BodyResult:
        return self.walk_body(False, chunk, end_of_stream)

    def on_response_trailers(self, trailers: Pairs | HeaderMap | list[tuple[str, str]]) -> Action:
        return self.walk_trailers(False, _map(trailers))

    def on_request_metadata(self, count: int) -> Action:
        """HTTP/2 METADATA (non-spec; Envoy treats any result as Continue)."""
        context = self._ensure_context()
        self._call(context, "proxy_on_request_metadata", (context.id, count))
        return Action.CONTINUE

    def on_response_metadata(self, count: int) -> Action:
        context = self._ensure_context()
        self._call(context, "proxy_on_response_metadata", (context.id, count))
        return Action.CONTINUE

    def complete(self) -> None:
        """End of stream as Envoy 1.40 orders it: on_log, then on_done (result ignored), then on_delete."""
        if self.finished:
            return
        self.finished = True
        context = self._ensure_context()
        vm = self.plugin.vm
        context.in_log_phase = True
        vm.call(context, "proxy_on_log", context.id)
        context.in_log_phase = False
        vm.call(context, "proxy_on_done", context.id)
        vm.call(context, "proxy_on_delete", context.id)
        vm.contexts.pop(context.id, None)

    # -- inspection ------------------------------------------------------------------------------------

    @property
    def request_headers(self) -> list[tuple[str, str]]:
        headers = self.context.request.headers if self.context else None
        return headers.as_text() if headers is not None else []

    @property
    def response_headers(self) -> list[tuple[str, str]]:
        headers = self.context.response.headers if self.context else None
        return headers.as_text() if headers is not None else []

    @property
    def request_body_buffer(self) -> bytes:
        return bytes(self.context.request.body.data) if self.context else b""

    @property
    def response_body_buffer(self) -> bytes:
        return bytes(self.context.response.body.data) if self.context else b""

    @property
    def local_response(self) -> LocalResponse | None:
        return self.context.local_response if self.context else None

    def intents_pending(self) -> bool:
        """Whether the last callback left intents (a local reply, continue, close) to apply."""
        context = self.context
        return context is not None and bool(context.intents)

    def take_intents(self) -> list[tuple[str, object]]:
        if self.context is None:
            return []
        intents, self.context.intents = self.context.intents, []
        return intents


def _replied_since(context: HttpContext, count: int) -> bool:
    return any(kind == "local_reply" for kind, _ in context.intents[count:])


def _map(headers: Pairs | HeaderMap | list[tuple[str, str]] | dict[str, str]) -> HeaderMap:
    return headers if isinstance(headers, HeaderMap) else HeaderMap(to_pairs(headers))


def _bytes(chunk: bytes | str) -> bytes:
    return chunk.encode() if isinstance(chunk, str) else bytes(chunk)


__all__ = ["BodyResult", "HttpStream"]
