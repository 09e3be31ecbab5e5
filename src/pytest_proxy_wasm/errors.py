"""Exceptions. ABI errors are status codes returned to the plugin; these are for the test and harness."""

from __future__ import annotations


class ProxyWasmError(Exception):
    """Base class of every error this package raises."""


class ModuleLoadError(ProxyWasmError):
    """The module cannot be loaded: not wasm, no ABI marker, missing imports, bad start function."""

    def __init__(self, module: str, reason: str) -> None:
        super().__init__(f"cannot load {module}: {reason}")
        self.module = module
        self.reason = reason


class UnknownAbiVersionError(ModuleLoadError):
    pass


class MissingImportsError(ModuleLoadError):
    def __init__(self, module: str, missing: list[str]) -> None:
        super().__init__(module, "imports the host does not provide: " + ", ".join(missing))
        self.missing = missing


class PluginStartError(ProxyWasmError):
    """``proxy_on_vm_start`` or ``proxy_on_configure`` refused, or trapped (Envoy refuses the config)."""

    def __init__(self, plugin: str, callback: str, reason: str, logs: list[str] | None = None) -> None:
        tail = ""
        if logs:
            tail = "; last plugin logs: " + " | ".join(logs[-5:])
        super().__init__(f"plugin {plugin!r}: {callback} failed: {reason}{tail}")
        self.plugin = plugin
        self.callback = callback
        self.reason = reason
        self.logs = logs or []


class PluginFailedError(ProxyWasmError):
    """The VM failed earlier (trap); raised when a drive call is made on it."""


class HarnessFault(ProxyWasmError):  # noqa: N818 - a fault, named as such
    """A bug on the Python side while serving a hostcall; never the plugin's fault."""


class ExpectationError(AssertionError):
    """A declared expectation (callouts and the like) was not met; reported as a test failure."""


class ProxyWasmBackendWarning(UserWarning):
    """A test's fixture does not follow ``--proxy-wasm-backend`` (``proxy_wasm_host`` is always the
    in-process emulator); issued once per session."""
