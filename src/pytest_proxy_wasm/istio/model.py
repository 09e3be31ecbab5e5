"""The WasmPlugin resource as plain, typed data (``extensions.istio.io/v1alpha1``, kind ``WasmPlugin``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ProxyWasmError
from .enums import EnvValueSource, FailStrategy, PluginPhase, PluginType, PullPolicy, WorkloadMode

API_VERSION = "extensions.istio.io/v1alpha1"
KIND = "WasmPlugin"
DEFAULT_NAMESPACE = "default"
ROOT_NAMESPACE = "istio-system"


@dataclass(frozen=True)
class EnvVar:
    name: str
    value_from: EnvValueSource = EnvValueSource.INLINE
    value: str = ""


@dataclass(frozen=True)
class TrafficSelector:
    """One ``match`` entry: the plugin applies when mode **and** port match."""

    mode: WorkloadMode = WorkloadMode.UNDEFINED
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class TargetRef:
    kind: str
    name: str
    group: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class WasmPlugin:
    """One validated WasmPlugin. ``priority`` is None when unset (Istio then sorts it as MinInt32)."""

    name: str
    namespace: str
    url: str
    source: str = ""  # "plugins.yaml document 2" — used in every message about this plugin
    creation_timestamp: str = ""
    resource_version: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    match_labels: Mapping[str, str] | None = None  # None: no selector (every workload)
    target_refs: tuple[TargetRef, ...] = ()  # targetRef merged in when targetRefs is empty
    sha256: str = ""
    image_pull_policy: PullPolicy = PullPolicy.UNSPECIFIED_POLICY
    image_pull_secret: str = ""
    verification_key: str = ""
    plugin_config: Mapping[str, Any] | None = None
    plugin_name: str = ""
    phase: PluginPhase = PluginPhase.UNSPECIFIED_PHASE
    priority: int | None = None
    fail_strategy: FailStrategy = FailStrategy.FAIL_CLOSE
    env: tuple[EnvVar, ...] = ()
    match: tuple[TrafficSelector, ...] = ()
    type: PluginType = PluginType.UNSPECIFIED_PLUGIN_TYPE

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def scheme(self) -> str:
        """The URL scheme, with a scheme-less URL read as ``oci`` as istio-agent does."""
        scheme, sep, _ = self.url.partition("://")
        return scheme.lower() if sep else "oci"

    @property
    def is_network(self) -> bool:
        return self.type is PluginType.NETWORK

    def describe(self) -> str:
        return f"{self.key} ({self.source})" if self.source else self.key


@dataclass(frozen=True)
class Issue:
    """One broken rule: ``path`` is the field path inside the document (``spec.`` left out)."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}" if self.path else self.rule


class WasmPluginError(ProxyWasmError):
    """A document is not a valid WasmPlugin; ``issues`` lists every broken rule, not only the first."""

    def __init__(self, document: str, issues: list[Issue]) -> None:
        self.document = document
        self.issues = issues
        lines = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"{document}: {len(issues)} problem(s)\n{lines}")


def read_documents(source: str | Path) -> list[tuple[str, object]]:
    """(label, parsed document) for each YAML document of a file or YAML text; empty ones skipped."""
    import yaml

    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml", ".json"))
    ):
        path = Path(source)
        text, origin = path.read_text(), path.name
    else:
        text, origin = str(source), "<yaml>"
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise WasmPluginError(origin, [Issue("", f"not valid YAML: {exc}")]) from None
    return [(f"{origin} document {i + 1}", doc) for i, doc in enumerate(docs) if doc is not None]


class FetchError(ProxyWasmError):
    """A module could not be fetched. ``result`` is istio-agent's ``wasm_remote_fetch_count`` label:
    ``download_failure``, ``manifest_failure`` or ``checksum_mismatched``."""

    def __init__(self, message: str, result: str = "download_failure") -> None:
        super().__init__(message)
        self.result = result
