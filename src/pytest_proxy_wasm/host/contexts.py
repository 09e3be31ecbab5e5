"""Plain-Python state of root and stream contexts (no wasm here, testable on its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .abi.enums import BufferType, MapType
from .headers import HeaderMap

if TYPE_CHECKING:
    from .plugin import Plugin
    from .properties import StreamInfo
    from .vm import VM


class Buffer:
    """A byte buffer a plugin can read (and, for HTTP bodies and TCP data, change)."""

    __slots__ = ("data", "mutable")

    def __init__(self, data: bytes | bytearray = b"", mutable: bool = False) -> None:
        self.data = bytearray(data)
        self.mutable = mutable

    def set_bytes(self, start: int, length: int, value: bytes) -> bool:
        """Envoy's body rule: start 0 drops ``length`` bytes, then prepends; start >= len appends."""
        if not self.mutable:
            return False
        size = len(self.data)
        if start == 0:
            del self.data[: min(length, size)]
            self.data[0:0] = value
            return True
        if start >= size:
            self.data += value
            return True
        return False


@dataclass
class LocalResponse:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]
    details: str
    grpc_status: int | None

    def envoy_headers(
        self, request: HeaderMap | None, *, grpc: bool | None = None, head: bool | None = None
    ) -> HeaderMap:
        """The headers Envoy's sendLocalReply produces; a gRPC request gets a trailers-only answer."""
        from .local_reply import local_reply_headers

        return local_reply_headers(self, request, grpc=grpc, head=head)


class Context:
    """What every context has: an id and its root. Maps 4-7 and buffers 4, 5, 8 belong to the VM while
    a callout or foreign-function callback runs, so SDKs that switch the effective context still see them."""

    kind = "context"

    def __init__(self, vm: VM, context_id: int) -> None:
        self.vm = vm
        self.id = context_id
        self.root: RootContext = self  # type: ignore[assignment]
        self.created = False

    @property
    def plugin(self) -> Plugin:
        return self.root.plugin_ref

    def map(self, map_type: int) -> HeaderMap | None:
        return self.vm.callout_maps.get(map_type)

    def map_writable(self, map_type: int) -> bool:
        return False

    def buffer(self, buffer_type: int) -> Buffer | None:
        if buffer_type == BufferType.VM_CONFIGURATION:
            return Buffer(self.vm.vm_config)
        return self.vm.callout_buffers.get(buffer_type)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


class RootContext(Context):
    """A plugin's root context: configuration, timers, callouts and the last call status."""

    kind = "root"

    def __init__(self, vm: VM, context_id: int, plugin: Plugin) -> None:
        super().__init__(vm, context_id)
        self.plugin_ref = plugin
        self.configuring = False
        self.tick_period_ms = 0
        self.next_tick_ns = 0
        self.done_pending = False
        self.status: tuple[int, bytes] = (0, b"")

    def buffer(self, buffer_type: int) -> Buffer | None:
        if buffer_type == BufferType.PLUGIN_CONFIGURATION:
            return Buffer(self.plugin_ref.plugin_config) if self.configuring else None
        return super().buffer(buffer_type)


class HttpSide:
    """One direction of an HTTP stream as the plugin sees it.

    Envoy keeps a pointer to the headers/trailers only during their callback and while paused there;
    on Continue it drops it, so later callbacks get BAD_ARGUMENT (docs/notes/envoy-host-rules.md 1).
    ``in_body``: a body callback is running or paused, so the body buffer is the (accumulated) chunk.
    """

    __slots__ = ("_body", "headers", "headers_live", "in_body", "trailers", "trailers_live")

    def __init__(self) -> None:
        self.headers: HeaderMap | None = None
        self._body: Buffer | None = None
        self.trailers: HeaderMap | None = None
        self.in_body = False
        self.headers_live = False
        self.trailers_live = False

    @property
    def body(self) -> Buffer:
        if self._body is None:
            self._body = Buffer(mutable=True)
        return self._body


# MapType values as plain ints: map() runs on every header hostcall, and IntEnum comparisons cost more.
_REQUEST_HEADERS = int(MapType.HTTP_REQUEST_HEADERS)
_REQUEST_TRAILERS = int(MapType.HTTP_REQUEST_TRAILERS)
_RESPONSE_HEADERS = int(MapType.HTTP_RESPONSE_HEADERS)
_RESPONSE_TRAILERS = int(MapType.HTTP_RESPONSE_TRAILERS)


class HttpContext(Context):
    """A stream context for one HTTP request/response through one plugin."""

    kind = "http"

    def __init__(self, vm: VM, context_id: int, root: RootContext) -> None:
        super().__init__(vm, context_id)
        self.root = root
        self.request = HttpSide()
        self.response = HttpSide()
        self.local_response: LocalResponse | None = None
        self.in_log_phase = False
        self.intents: list[tuple[str, object]] = []
        self.info: StreamInfo | None = None

    def map(self, map_type: int) -> HeaderMap | None:
        if map_type > _RESPONSE_TRAILERS:
            return super().map(map_type)
        if map_type in (_REQUEST_HEADERS, _RESPONSE_HEADERS):
            side = self.request if map_type == _REQUEST_HEADERS else self.response
            return side.headers if side.headers_live or self.in_log_phase else None
        if map_type == _REQUEST_TRAILERS:
            if self.in_log_phase:
                return None  # Envoy's access log has no request trailers
            side = self.request
        else:
            side = self.response
        return side.trailers if side.trailers_live or self.in_log_phase else None

    def map_writable(self, map_type: int) -> bool:
        if self.in_log_phase or map_type > _RESPONSE_TRAILERS:
            return False
        if map_type in (_REQUEST_HEADERS, _RESPONSE_HEADERS):
            side = self.request if map_type == _REQUEST_HEADERS else self.response
            return side.headers is not None and side.headers_live
        side = self.request if map_type == _REQUEST_TRAILERS else self.response
        return side.trailers is not None and side.trailers_live

    def buffer(self, buffer_type: int) -> Buffer | None:
        if buffer_type == BufferType.HTTP_REQUEST_BODY:
            # Envoy: outside the body callbacks the body buffer reads as empty, not NOT_FOUND.
            return self.request.body if self.request.in_body else Buffer()
        if buffer_type == BufferType.HTTP_RESPONSE_BODY:
            return self.response.body if self.response.in_body else Buffer()
        return super().buffer(buffer_type)
