"""Istio ``WasmPlugin`` resources end to end: validate, build the chain, fetch (file/http/oci), run.

See docs/istio.md.
"""

from __future__ import annotations

from .chain import Chain, ChainEntry, Decision, build_chain
from .enums import EnvValueSource, FailStrategy, PluginPhase, PluginType, PullPolicy, WorkloadMode
from .fetch import Fetched, Fetcher
from .loader import IstioChain, LoadedPlugin, load_wasmplugins
from .mapping import to_plugin_spec
from .model import FetchError, Issue, WasmPlugin, WasmPluginError
from .validate import load_documents, parse_wasmplugin
from .validate import load_wasmplugins as parse_wasmplugins
from .workload import Workload, parse_workload

__all__ = [
    "Chain",
    "ChainEntry",
    "Decision",
    "EnvValueSource",
    "FailStrategy",
    "FetchError",
    "Fetched",
    "Fetcher",
    "Issue",
    "IstioChain",
    "LoadedPlugin",
    "PluginPhase",
    "PluginType",
    "PullPolicy",
    "WasmPlugin",
    "WasmPluginError",
    "Workload",
    "WorkloadMode",
    "build_chain",
    "load_documents",
    "load_wasmplugins",
    "parse_wasmplugin",
    "parse_wasmplugins",
    "parse_workload",
    "to_plugin_spec",
]
