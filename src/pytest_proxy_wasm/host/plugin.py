"""A configured plugin: one root context in a (possibly shared) VM, with its failure policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import PluginStartError
from .abi.enums import BufferType, FailurePolicy
from .contexts import Buffer, RootContext
from .http import HttpStream

if TYPE_CHECKING:
    from .host import Host
    from .properties import StreamInfo
    from .runtime import CompiledModule
    from .vm import VM

RELOAD_BACKOFF_NS = 1_000_000_000  # Envoy ReloadConfig.backoff default base: 1 s


class Plugin:
    """What Envoy calls a PluginConfig: name, root id, configuration, VM and failure policy."""

    def __init__(
        self,
        host: Host,
        compiled: CompiledModule,
        vm: VM,
        *,
        name: str,
        root_id: str,
        plugin_config: bytes,
        failure_policy: FailurePolicy,
    ) -> None:
        self.host = host
        self.compiled = compiled
        self.vm = vm
        self.name = name
        self.root_id = root_id
        self.plugin_config = plugin_config
        self.failure_policy = failure_policy
        self.thread = 1  # Envoy's thread (0 main, 1.. workers); see workers.py
        self.replicas: list[Plugin] = []  # this plugin's root contexts on the other threads
        self.root: RootContext = self._start()
        self.reloads = 0

    def _start(self) -> RootContext:
        vm = self.vm
        root = RootContext(vm, vm.new_context_id(), self)
        vm.contexts[root.id] = root
        self.root = root
        vm.call(root, "proxy_on_context_create", root.id, 0)
        root.created = True
        self._check_start("proxy_on_context_create", None)
        started = vm.call(root, "proxy_on_vm_start", root.id, len(vm.vm_config))
        self._check_start("proxy_on_vm_start", started, "Failed to start base Wasm")
        root.configuring = True
        try:
            configured = vm.call(root, "proxy_on_configure", root.id, len(self.plugin_config))
        finally:
            root.configuring = False
        self._check_start("proxy_on_configure", configured, "Failed to configure base Wasm plugin")
        return root

    def _check_start(self, callback: str, result: int | None, refusal: str = "") -> None:
        failure = self.vm.failure
        if failure is not None:
            raise PluginStartError(self.name, callback, f"{failure.kind}: {failure.message}", failure.logs)
        if result == 0 and refusal:
            raise PluginStartError(
                self.name, callback, f"returned false ({refusal})", self.host.log_tail(self.vm)
            )

    def validate_configuration(self, configuration: bytes) -> bool:
        """Call the non-spec ``proxy_validate_configuration`` (cpp-host); True when not exported."""
        root = self.root
        previous, self.plugin_config = self.plugin_config, configuration
        root.configuring = True
        try:
            result = self.vm.call(root, "proxy_validate_configuration", root.id, len(configuration))
        finally:
            root.configuring = False
            self.plugin_config = previous
        return (result is None and self.vm.failure is None) or bool(result)

    def on_foreign_function(self, function_id: int, arguments: bytes = b"") -> None:
        """Deliver ``proxy_on_foreign_function(root, id, size)`` with ``arguments`` in buffer 8, as an
        Envoy extension calling back into the plugin would."""
        vm, root = self.vm, self.root
        vm.callout_buffers = {BufferType.FOREIGN_FUNCTION_ARGUMENTS: Buffer(arguments)}
        try:
            vm.call(root, "proxy_on_foreign_function", root.id, function_id, len(arguments))
        finally:
            vm.callout_buffers = {}
        self.host.after_callback()

    @property
    def failed(self) -> str | None:
        """Why the plugin's VM failed, or ``None`` while it serves."""
        failure = self.vm.failure
        return str(failure) if failure is not None else None

    def http_stream(self) -> HttpStream:
        """A low-level stream: drive each callback yourself and inspect what the plugin did. Its first
        request and response headers are the stream's (``request.*``/``response.*`` in on_log)."""
        stream = self.http_stream_for(self.host.new_stream_info())
        stream.standalone = True
        return stream

    def http_stream_for(self, info: StreamInfo) -> HttpStream:
        return HttpStream(self, info)

    def joins_new_stream(self) -> bool:
        """Whether Envoy adds this plugin's filter to a new stream: a failed fail-open plugin is left
        out; a FAIL_RELOAD plugin gets a fresh VM once the backoff after its failure has passed."""
        failure = self.vm.failure
        if failure is None:
            return True
        if self.failure_policy in (FailurePolicy.FAIL_OPEN, FailurePolicy.LEGACY_FAIL_OPEN):
            return False
        if self.failure_policy is FailurePolicy.FAIL_RELOAD and (
            self.host.clock.monotonic_ns >= failure.at_ns + RELOAD_BACKOFF_NS
        ):
            self.reload()
        return True

    def reload(self) -> None:
        """FAIL_RELOAD: replace the failed VM with a fresh one and start the plugin again."""
        old = self.vm
        self.vm = self.host.new_vm(
            self.compiled,
            vm_id=old.vm_id,
            vm_config=old.vm_config,
            env=old.env,
            share=False,
            thread=self.thread,
        )
        self.reloads += 1
        self._start()

    def __repr__(self) -> str:
        return f"<Plugin {self.name!r} root_id={self.root_id!r} module={self.compiled.name!r}>"
