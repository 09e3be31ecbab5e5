"""Parse and validate WasmPlugin documents: CRD schema, CEL rules and istiod's webhook checks.

Every broken rule of a document is collected (not only the first); each names the field path and the
rule, e.g. ``vmConfig.env[1].value: may only be set when valueFrom is INLINE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

from .enums import EnvValueSource, FailStrategy, PluginPhase, PluginType, PullPolicy, WorkloadMode, parse_enum
from .hints import numeric_sha256
from .model import (
    API_VERSION,
    DEFAULT_NAMESPACE,
    KIND,
    ROOT_NAMESPACE,
    EnvVar,
    Issue,
    TargetRef,
    TrafficSelector,
    WasmPlugin,
    WasmPluginError,
    read_documents,
)

SHA256 = re.compile(r"^$|^[a-f0-9]{64}$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
SCHEMES = ("", "http", "https", "oci", "file")
SPEC_FIELDS = {
    "selector", "targetRef", "targetRefs", "url", "sha256", "imagePullPolicy", "imagePullSecret",
    "verificationKey", "pluginConfig", "pluginName", "phase", "priority", "failStrategy", "vmConfig",
    "match", "type",
}  # fmt: skip
INT32 = (-(2**31), 2**31 - 1)
# kind -> allowed groups (targetRefs, istio/api CRD and pilot policyattachment.go)
TARGET_KINDS = {
    "Gateway": ("gateway.networking.k8s.io",),
    "GatewayClass": ("gateway.networking.k8s.io",),
    "Service": ("", "core"),
    "ServiceEntry": ("networking.istio.io",),
}
E = TypeVar("E", bound=IntEnum)


@dataclass
class _Checker:
    issues: list[Issue] = field(default_factory=list)

    def fail(self, path: str, rule: str) -> None:
        self.issues.append(Issue(path, rule))

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"must be an object, got {type(value).__name__}")
            return {}
        return value

    def items(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, f"must be a list, got {type(value).__name__}")
            return []
        return value

    def string(self, value: object, path: str, lo: int = 0, hi: int | None = None) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {type(value).__name__}")
            return ""
        if len(value) < lo:
            self.fail(path, "is required" if lo == 1 and not value else f"must be at least {lo} characters")
        if hi is not None and len(value) > hi:
            self.fail(path, f"must be at most {hi} characters (got {len(value)})")
        return value

    def enum(self, enum: type[E], value: object, path: str, default: E) -> E:
        if value is None:
            return default
        try:
            return parse_enum(enum, value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return default

    def unknown(self, data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail(f"{path}{key}", "unknown field")


def _label_selector(c: _Checker, spec: Mapping[str, Any]) -> Mapping[str, str] | None:
    if "selector" not in spec or spec["selector"] is None:
        return None
    selector = c.mapping(spec["selector"], "selector")
    c.unknown(selector, {"matchLabels"}, "selector.")
    labels = c.mapping(selector.get("matchLabels"), "selector.matchLabels")
    if len(labels) > 4096:
        c.fail("selector.matchLabels", f"may have at most 4096 entries (got {len(labels)})")
    result: dict[str, str] = {}
    for key, value in labels.items():
        path = f"selector.matchLabels[{key!r}]"
        if not isinstance(key, str) or not key:
            c.fail(path, "label keys must be non-empty")
            continue
        if "*" in key:
            c.fail(path, "wildcard '*' is not supported in label keys")
        text = c.string(value, path, 0, 63)
        if "*" in text:
            c.fail(path, "wildcard '*' is not supported in label values")
        result[key] = text
    return result


def _target_refs(c: _Checker, spec: Mapping[str, Any], namespace: str) -> tuple[TargetRef, ...]:
    present = [k for k in ("selector", "targetRef", "targetRefs") if spec.get(k) not in (None, [], {})]
    if len(present) > 1:
        c.fail(
            ", ".join(present),
            "only one of targetRefs or workloadSelector can be set (at most one of selector, targetRef, "
            "targetRefs)",
        )
    raw: list[tuple[str, object]] = [
        (f"targetRefs[{i}]", r) for i, r in enumerate(c.items(spec.get("targetRefs"), "targetRefs"))
    ]
    if len(raw) > 16:
        c.fail("targetRefs", f"may have at most 16 items (got {len(raw)})")
    if not raw and spec.get("targetRef") is not None:
        raw = [("targetRef", spec["targetRef"])]  # GetTargetRefs: the singular form when the list is empty
    refs = []
    for path, item in raw:
        data = c.mapping(item, path)
        c.unknown(data, {"group", "kind", "name", "namespace"}, f"{path}.")
        kind = c.string(data.get("kind"), f"{path}.kind", 1)
        name = c.string(data.get("name"), f"{path}.name", 1)
        group = c.string(data.get("group"), f"{path}.group")
        ns = c.string(data.get("namespace"), f"{path}.namespace")
        if ns:
            c.fail(
                f"{path}.namespace", "cross namespace referencing is not currently supported (must be empty)"
            )
        if kind and kind not in TARGET_KINDS:
            c.fail(f"{path}.kind", f"kind {kind!r} is not supported; allowed: {', '.join(TARGET_KINDS)}")
        elif kind and group not in TARGET_KINDS[kind]:
            want = " or ".join(repr(g) for g in TARGET_KINDS[kind])
            c.fail(f"{path}.group", f"group for kind {kind} must be {want}, got {group!r}")
        if kind == "GatewayClass" and namespace != ROOT_NAMESPACE:
            c.fail(
                f"{path}.kind",
                f"GatewayClass may only be referenced from the root namespace ({ROOT_NAMESPACE})",
            )
        refs.append(TargetRef(kind, name, group, ns))
    return tuple(refs)


def _url(c: _Checker, spec: Mapping[str, Any]) -> str:
    url = c.string(spec.get("url"), "url", 1)
    m = URL_SCHEME.match(url)  # Go's url.Parse: "registry:5000/x" has the scheme "registry"
    scheme = m.group(1).lower() if m else ""
    if url and scheme not in SCHEMES:
        c.fail("url", f"unsupported scheme {scheme!r}: must be one of file, http, https, oci "
               "(write oci:// explicitly for registry:port URLs)")  # fmt: skip
    return url


def _env(c: _Checker, spec: Mapping[str, Any]) -> tuple[EnvVar, ...]:
    vm = c.mapping(spec.get("vmConfig"), "vmConfig")
    c.unknown(vm, {"env"}, "vmConfig.")
    items = c.items(vm.get("env"), "vmConfig.env")
    if len(items) > 256:
        c.fail("vmConfig.env", f"may have at most 256 items (got {len(items)})")
    seen: set[str] = set()
    result = []
    for i, item in enumerate(items):
        path = f"vmConfig.env[{i}]"
        data = c.mapping(item, path)
        c.unknown(data, {"name", "valueFrom", "value"}, f"{path}.")
        name = c.string(data.get("name"), f"{path}.name", 1, 256)
        source = c.enum(EnvValueSource, data.get("valueFrom"), f"{path}.valueFrom", EnvValueSource.INLINE)
        value = c.string(data.get("value"), f"{path}.value", 0, 2048)
        if data.get("value") is not None and source is not EnvValueSource.INLINE:
            c.fail(f"{path}.value", "may only be set when valueFrom is INLINE")
        if name and name in seen:
            c.fail(f"{path}.name", f"duplicate env var name {name!r}")
        seen.add(name)
        result.append(EnvVar(name, source, value))
    return tuple(result)


def _match(c: _Checker, spec: Mapping[str, Any]) -> tuple[TrafficSelector, ...]:
    result = []
    for i, item in enumerate(c.items(spec.get("match"), "match")):
        path = f"match[{i}]"
        data = c.mapping(item, path)
        c.unknown(data, {"mode", "ports"}, f"{path}.")
        mode = c.enum(WorkloadMode, data.get("mode"), f"{path}.mode", WorkloadMode.UNDEFINED)
        ports: list[int] = []
        for j, port in enumerate(c.items(data.get("ports"), f"{path}.ports")):
            ppath = f"{path}.ports[{j}]"
            pdata = c.mapping(port, ppath)
            c.unknown(pdata, {"number"}, f"{ppath}.")
            number = pdata.get("number")
            if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
                c.fail(f"{ppath}.number", f"port number must be in the range 1..65535, got {number!r}")
                continue
            if number in ports:
                c.fail(f"{ppath}.number", f"duplicate port {number} (ports is a list-map keyed by number)")
            ports.append(number)
        result.append(TrafficSelector(mode, tuple(ports)))
    return tuple(result)


def _priority(c: _Checker, spec: Mapping[str, Any]) -> int | None:
    value = spec.get("priority")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        c.fail("priority", f"must be an integer, got {value!r}")
        return None
    if not INT32[0] <= value <= INT32[1]:
        c.fail("priority", f"must fit in a 32-bit signed integer (google.protobuf.Int32Value), got {value}")
        return None
    return value


def _metadata(c: _Checker, doc: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]]:
    meta = c.mapping(doc.get("metadata"), "metadata")
    name = c.string(meta.get("name"), "metadata.name", 1, 253)
    if name and not DNS_SUBDOMAIN.match(name):
        c.fail("metadata.name", "must be a lowercase RFC 1123 subdomain")
    namespace = c.string(meta.get("namespace"), "metadata.namespace", 0, 63) or DEFAULT_NAMESPACE
    if not DNS_LABEL.match(namespace):
        c.fail("metadata.namespace", "must be a lowercase RFC 1123 label")
    return name, namespace, meta


def parse_wasmplugin(doc: object, document: str = "") -> WasmPlugin:
    """One WasmPlugin from a parsed YAML/JSON document; ``WasmPluginError`` listing every broken rule."""
    c = _Checker()
    data = c.mapping(doc, "")
    if data.get("apiVersion") != API_VERSION:
        c.fail("apiVersion", f"must be {API_VERSION}, got {data.get('apiVersion')!r}")
    if data.get("kind") != KIND:
        c.fail("kind", f"must be {KIND}, got {data.get('kind')!r}")
    name, namespace, meta = _metadata(c, data)
    if data.get("spec") is None:
        c.fail("spec", "is required")
    spec = c.mapping(data.get("spec"), "spec")
    c.unknown(spec, SPEC_FIELDS, "")
    match_labels = _label_selector(c, spec)
    refs = _target_refs(c, spec, namespace)
    url = _url(c, spec)
    raw_sha = spec.get("sha256")
    numeric = isinstance(raw_sha, int | float) and not isinstance(raw_sha, bool)
    if numeric:
        c.fail("sha256", numeric_sha256(raw_sha))
    sha = "" if numeric else c.string(raw_sha, "sha256")
    if not SHA256.match(sha):
        c.fail("sha256", "must match ^$|^[a-f0-9]{64}$ (64 lower-case hex digits)")
    secret = spec.get("imagePullSecret")
    plugin_name = spec.get("pluginName")
    config = spec.get("pluginConfig")
    if config is not None and not isinstance(config, Mapping):
        c.fail("pluginConfig", "must be an object (google.protobuf.Struct)")
        config = None
    labels = c.mapping(meta.get("labels"), "metadata.labels")
    plugin = WasmPlugin(
        name=name,
        namespace=namespace,
        url=url,
        source=document,
        creation_timestamp=str(meta.get("creationTimestamp") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
        labels={str(k): str(v) for k, v in labels.items()},
        match_labels=match_labels,
        target_refs=refs,
        sha256=sha,
        image_pull_policy=c.enum(
            PullPolicy, spec.get("imagePullPolicy"), "imagePullPolicy", PullPolicy.UNSPECIFIED_POLICY
        ),
        image_pull_secret=c.string(secret, "imagePullSecret", 1, 253) if secret is not None else "",
        verification_key=c.string(spec.get("verificationKey"), "verificationKey"),
        plugin_config=dict(config) if config is not None else None,
        plugin_name=c.string(plugin_name, "pluginName", 1, 256) if plugin_name is not None else "",
        phase=c.enum(PluginPhase, spec.get("phase"), "phase", PluginPhase.UNSPECIFIED_PHASE),
        priority=_priority(c, spec),
        fail_strategy=c.enum(FailStrategy, spec.get("failStrategy"), "failStrategy", FailStrategy.FAIL_CLOSE),
        env=_env(c, spec),
        match=_match(c, spec),
        type=c.enum(PluginType, spec.get("type"), "type", PluginType.UNSPECIFIED_PLUGIN_TYPE),
    )
    if c.issues:
        document = document or "WasmPlugin"
        label = f"{document} ({namespace}/{name})" if name else document
        raise WasmPluginError(label, c.issues)
    return plugin


@dataclass(frozen=True)
class Documents:
    """What a YAML file held: WasmPlugins, dockerconfigjson Secrets (by namespace/name), and the rest."""

    plugins: list[WasmPlugin]
    secrets: dict[str, bytes]
    skipped: list[str]


def load_documents(
    source: str | Path, *, on_error: Callable[[WasmPluginError], None] | None = None
) -> Documents:
    """Every document of a (multi-document) YAML file or text. Invalid WasmPlugins raise one
    ``WasmPluginError`` naming each document and all its problems (or go to ``on_error``)."""
    import base64

    plugins: list[WasmPlugin] = []
    secrets: dict[str, bytes] = {}
    skipped: list[str] = []
    errors: list[WasmPluginError] = []
    for label, doc in read_documents(source):
        kind = doc.get("kind") if isinstance(doc, Mapping) else None
        if isinstance(doc, Mapping) and kind == "Secret":
            meta = doc.get("metadata") or {}
            key = f"{meta.get('namespace') or DEFAULT_NAMESPACE}/{meta.get('name', '')}"
            if doc.get("type") == "kubernetes.io/dockerconfigjson":
                data = (doc.get("data") or {}).get(".dockerconfigjson")
                text = (doc.get("stringData") or {}).get(".dockerconfigjson")
                secrets[key] = base64.b64decode(data) if data else str(text or "").encode()
            else:
                secrets[key] = b""  # wrong type: istiod sends "" and the agent fails the pull
            continue
        if isinstance(doc, Mapping) and kind not in (KIND, None) and "WasmPlugin" not in str(kind):
            skipped.append(f"{label}: kind {kind} ignored")
            continue
        try:
            plugins.append(parse_wasmplugin(doc, label))
        except WasmPluginError as exc:
            errors.append(exc)
    if errors:
        if on_error is not None:
            for error in errors:
                on_error(error)
        else:
            issues = [
                Issue(f"{e.document}: {i.path}" if i.path else e.document, i.rule)
                for e in errors
                for i in e.issues
            ]
            raise (
                errors[0] if len(errors) == 1 else WasmPluginError(f"{len(errors)} invalid documents", issues)
            )
    return Documents(plugins, secrets, skipped)


def load_wasmplugins(source: str | Path) -> list[WasmPlugin]:
    """The WasmPlugins of a YAML file (or YAML text), validated."""
    return load_documents(source).plugins
