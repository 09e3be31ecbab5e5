"""pytest-proxy-wasm: test Proxy-Wasm plugins in-process (wasmtime) and against real Envoy."""

from __future__ import annotations

from .errors import (
    ExpectationError,
    HarnessFault,
    MissingImportsError,
    ModuleLoadError,
    PluginFailedError,
    PluginStartError,
    ProxyWasmError,
    UnknownAbiVersionError,
)
from .host.abi.enums import AbiVersion, Action, FailurePolicy, LogLevel, WasmResult
from .host.host import Host
from .host.http import HttpStream
from .host.options import HostOptions
from .host.plugin import Plugin
from .host.proxy_crash import ProxyCrash
from .host.runtime import Runtime
from .outcome import LogRecord, Outcome, UpstreamRequest

__version__ = "0.1.0"

__all__ = [
    "AbiVersion",
    "Action",
    "ExpectationError",
    "FailurePolicy",
    "HarnessFault",
    "Host",
    "HostOptions",
    "HttpStream",
    "LogLevel",
    "LogRecord",
    "MissingImportsError",
    "ModuleLoadError",
    "Outcome",
    "Plugin",
    "PluginFailedError",
    "PluginStartError",
    "ProxyCrash",
    "ProxyWasmError",
    "Runtime",
    "UnknownAbiVersionError",
    "UpstreamRequest",
    "WasmResult",
    "__version__",
]
