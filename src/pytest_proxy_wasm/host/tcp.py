"""TCP (network filter) connections through one plugin (``TcpStream``), Envoy's semantics for one filter.

Envoy source (``extensions/common/wasm/context.cc``): ``onNewConnection`` creates the in-VM context;
``onData``/``onWrite`` point buffers 2/3 at the connection's read/write buffer and keep the pointer while
the filter stops (so the next call sees the accumulated bytes, ``data_size`` grows); ``onWrite`` with
end_stream also calls ``on_upstream_connection_close(Unknown)``; a close event calls
``on_downstream_connection_close(Local|Remote)`` and then ``onCloseTCP``: on_done, on_log, on_delete
(an upstream close alone waits for the downstream one). continue/close are deferred until the callback
returns; a failed fail-closed VM closes the connection (``failStream(Downstream)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .abi.enums import Action, BufferType, FailurePolicy, PeerType, StreamType
from .contexts import Buffer, Context, RootContext

if TYPE_CHECKING:
    from .plugin import Plugin
    from .properties import StreamInfo
    from .vm import VM


class TcpContext(Context):
    """A stream context for one TCP connection through one plugin.

    ``downstream``/``upstream`` are the connection buffers Envoy hands to the data callbacks (buffer 2/3);
    they are readable and mutable (Envoy's ``set_buffer_bytes`` rules) while ``*_live``: during the data
    callback and while the filter stays stopped after it. Otherwise they read as empty (OK, size 0).
    """

    kind = "tcp"

    def __init__(self, vm: VM, context_id: int, root: RootContext) -> None:
        super().__init__(vm, context_id)
        self.root = root
        self.downstream = Buffer(mutable=True)
        self.upstream = Buffer(mutable=True)
        self.downstream_live = False
        self.upstream_live = False
        self.intents: list[tuple[str, object]] = []
        self.info: StreamInfo | None = None

    def buffer(self, buffer_type: int) -> Buffer | None:
        if buffer_type == BufferType.DOWNSTREAM_DATA:
            return self.downstream if self.downstream_live else Buffer()
        if buffer_type == BufferType.UPSTREAM_DATA:
            return self.upstream if self.upstream_live else Buffer()
        return super().buffer(buffer_type)


class TcpStream:
    """One plugin's view of one TCP connection, with a simulated tcp_proxy behind it.

    Drive it callback by callback. Bytes a callback lets through land in ``upstream_received`` (read
    direction) or ``client_received`` (write direction); bytes held by a stop stay in the connection
    buffer and are offered again, with the next chunk appended, on the next data callback.
    """

    def __init__(self, plugin: Plugin, info: StreamInfo) -> None:
        self.plugin = plugin
        self.info = info
        self.context: TcpContext | None = None
        self.failed_stream = False
        self.initialized = False
        self.finished = False
        self.downstream_closed = False
        self.upstream_closed = False
        self.closed_by: str | None = None
        self.read_buffer = Buffer(mutable=True)
        self.write_buffer = Buffer(mutable=True)
        self.upstream_received = bytearray()
        self.client_received = bytearray()
        self.read_end_of_stream = False
        self.upstream_end_of_stream = False
        self.client_end_of_stream = False

    # -- plumbing (also used by the chain driver in tcp_connection.py) ------------------------------

    @property
    def closed(self) -> bool:
        return self.closed_by is not None

    def _failure_check(self, context: TcpContext) -> Action | None:
        """cpp-host CHECK_FAIL_NET: a failed VM continues (legacy fail_open) or closes the connection."""
        if self.plugin.vm.failure is None:
            return None
        if self.plugin.failure_policy is FailurePolicy.LEGACY_FAIL_OPEN:
            return Action.CONTINUE
        if not self.failed_stream:
            self.failed_stream = True
            context.intents.append(("fail", StreamType.DOWNSTREAM))
        return Action.PAUSE

    def _call(self, context: TcpContext, name: str, *args: int) -> Action:
        failed = self._failure_check(context)
        if failed is not None:
            return failed
        result = self.plugin.vm.call(context, name, *args)
        failed = self._failure_check(context)
        if failed is not None:
            return failed
        return Action.CONTINUE if result in (None, 0) else Action.PAUSE  # TCP: 0 Continue, else Stop

    def new_connection(self) -> Action:
        """Envoy ``onNewConnection``: create the context, then ``proxy_on_new_connection``."""
        self.initialized = True
        vm = self.plugin.vm
        context = TcpContext(vm, vm.new_context_id(), self.plugin.root)
        context.info = self.info
        vm.contexts[context.id] = context
        self.context = context
        vm.call(context, "proxy_on_context_create", context.id, self.plugin.root.id)
        context.created = True
        return self._call(context, "proxy_on_new_connection", context.id)

    def read(self, buffer: Buffer, end_of_stream: bool) -> Action:
        """Envoy ``onData``: buffer 2 is ``buffer`` (the connection's read buffer)."""
        context = self.context
        if context is None or self.finished:
            return Action.CONTINUE
        context.downstream, context.downstream_live = buffer, True
        action = self._call(context, "proxy_on_downstream_data", context.id, len(buffer.data), end_of_stream)
        if action is Action.CONTINUE:
            context.downstream_live = False
        return action

    def write(self, buffer: Buffer, end_of_stream: bool) -> Action:
        """Envoy ``onWrite`` (without its upstream-close emulation: see :meth:`upstream_close_event`)."""
        context = self.context
        if context is None or self.finished:
            return Action.CONTINUE
        context.upstream, context.upstream_live = buffer, True
        action = self._call(context, "proxy_on_upstream_data", context.id, len(buffer.data), end_of_stream)
        if action is Action.CONTINUE:
            context.upstream_live = False
        return action

    def downstream_close_event(self, peer: PeerType) -> None:
        """Envoy ``onEvent(Local|RemoteClose)``: the close callback, then on_done, on_log, on_delete."""
        self.downstream_closed = True
        context = self.context
        if context is None or self.finished:
            return
        self.plugin.vm.call(context, "proxy_on_downstream_connection_close", context.id, int(peer))
        context.intents.clear()  # the connection is gone: nothing left to continue or close
        self._close_tcp()

    def upstream_close_event(self, peer: PeerType = PeerType.UNKNOWN) -> None:
        """Envoy ``onUpstreamConnectionClose``: ends the context only if downstream already closed."""
        self.upstream_closed = True
        context = self.context
        if context is None or self.finished:
            return
        self.plugin.vm.call(context, "proxy_on_upstream_connection_close", context.id, int(peer))
        if self.downstream_closed:
            self._close_tcp()

    def _close_tcp(self) -> None:
        context = self.context
        if context is None or self.finished:
            return
        self.finished = True
        vm = self.plugin.vm
        vm.call(context, "proxy_on_done", context.id)
        vm.call(context, "proxy_on_log", context.id)
        vm.call(context, "proxy_on_delete", context.id)
        context.downstream_live = context.upstream_live = False
        vm.contexts.pop(context.id, None)

    def take_intents(self) -> list[tuple[str, object]]:
        if self.context is None:
            return []
        intents, self.context.intents = self.context.intents, []
        return intents

    # -- the public drive API (this plugin, then tcp_proxy) --------------------------------------------

    def on_new_connection(self) -> Action:
        if self.initialized:
            raise RuntimeError("on_new_connection was already called for this connection")
        action = self.new_connection()
        self.apply_pending_intents()
        return action

    def on_downstream_data(self, data: bytes | str, end_of_stream: bool = False) -> Action:
        """Bytes from the client. Returns PAUSE (and delivers nothing) once the connection is closed."""
        if not self.initialized:
            self.on_new_connection()
        if self.closed:
            return Action.PAUSE
        self.read_buffer.data += _bytes(data)
        self.read_end_of_stream = self.read_end_of_stream or end_of_stream
        action = self.read(self.read_buffer, end_of_stream)
        self.apply_pending_intents()
        if action is Action.CONTINUE and not self.closed:
            self._forward_read()
        return action

    def on_upstream_data(self, data: bytes | str, end_of_stream: bool = False) -> Action:
        """Bytes from the upstream; with end_of_stream Envoy then calls on_upstream_connection_close(0)."""
        if not self.initialized:
            self.on_new_connection()
        if self.closed:
            return Action.PAUSE
        self.write_buffer.data += _bytes(data)
        action = self.write(self.write_buffer, end_of_stream)
        self.apply_pending_intents()
        if action is Action.CONTINUE and not self.closed:
            self.client_received += self.write_buffer.data
            self.write_buffer.data.clear()
            self.client_end_of_stream = self.client_end_of_stream or end_of_stream
        if end_of_stream and not self.closed:
            self.upstream_close_event(PeerType.UNKNOWN)
        return action

    def on_downstream_close(self, peer: PeerType | int = PeerType.REMOTE) -> None:
        """The client closed (Remote, default) or Envoy closed it (Local)."""
        if self.closed:
            return
        self.closed_by = "downstream"
        self.downstream_close_event(PeerType(peer))

    def on_upstream_close(self, peer: PeerType | int = PeerType.UNKNOWN) -> None:
        """The upstream closed. Envoy itself only reports it (peer Unknown) after eos upstream data."""
        if self.finished:
            return
        self.upstream_close_event(PeerType(peer))

    def complete(self) -> None:
        """End the connection if nothing did yet: the client closes (Remote), running the end sequence."""
        if self.context is not None and not self.finished:
            if self.closed_by is None:
                self.closed_by = "downstream"
            self.downstream_close_event(PeerType.REMOTE)

    def apply_pending_intents(self) -> None:
        """Apply continue/close recorded during the last callback (or a root callback since)."""
        for kind, value in self.take_intents():
            if self.closed:
                break
            if kind in ("close", "fail"):
                self.closed_by = "plugin"
                self.downstream_close_event(PeerType.LOCAL)  # FlushWrite close -> LocalClose event
            elif kind == "continue" and value == StreamType.DOWNSTREAM:
                self._forward_read()

    def _forward_read(self) -> None:
        self.upstream_received += self.read_buffer.data
        self.read_buffer.data.clear()
        self.upstream_end_of_stream = self.read_end_of_stream

    # -- inspection ------------------------------------------------------------------------------------

    @property
    def downstream_buffer(self) -> bytes:
        """Bytes held in the connection's read buffer (not yet passed on)."""
        return bytes(self.read_buffer.data)

    @property
    def upstream_buffer(self) -> bytes:
        return bytes(self.write_buffer.data)


def _bytes(data: bytes | str) -> bytes:
    return data.encode() if isinstance(data, str) else bytes(data)


__all__ = ["TcpContext", "TcpStream"]
