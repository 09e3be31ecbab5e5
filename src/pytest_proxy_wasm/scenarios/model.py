"""The scenario model: dataclasses with the same names and shapes as the YAML (docs/scenarios.md).

Build a scenario in code and write it as YAML the loader accepts::

    scenario = Scenario(
        plugins=[PluginDecl(module="auth.wasm", config={"user": "admin"})],
        clusters={"auth": Cluster(answers=[HttpAnswer(status=200, body="ok")])},
        steps=[Step(request=Request(path="/x"), expect=Expect(status=200, upstream=True))],
    )
    text = dump_scenario(scenario)          # YAML text; load_scenario(path) reads it back

Every field defaults to what an absent YAML key means. Expectation fields hold the YAML forms as they
are (``"text"`` for equal, ``{"contains": "x"}``, ``{"regex": "..."}``, ``{"json": {...}}``, ...), so a
scenario built in code and one read from a file are the same object. ``to_dict()`` is the form the JSON
Schema (``schemas/scenario-v1.schema.json``) validates; ``from_dict()`` builds a model from it.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

SCENARIO_VERSION = 1
CLIENT_FIELDS = ("peer_address", "use_remote_address", "xff_num_trusted_hops", "skip_xff_append",
                 "internal_address_cidrs")  # fmt: skip
HOST_FIELDS = ("now", *CLIENT_FIELDS, "platform", "profile", "redis")
ConfigValue = dict[str, Any] | list[Any] | str | None  # mapping/list: JSON; string: as it is
HeadersValue = dict[str, str] | list[list[str]] | None  # {name: value} or [[name, value], ...]
BodyValue = str | dict[str, Any] | list[Any] | None  # text (UTF-8) or JSON


def body_bytes(body: BodyValue, body_base64: str | None = None) -> bytes:
    """The bytes a ``body``/``body_base64`` pair stands for (a mapping or list is sent as JSON)."""
    import json

    if body_base64 is not None:
        return base64.b64decode(body_base64, validate=True)
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, separators=(",", ":")).encode()


def body_fields(data: bytes) -> dict[str, str]:
    """``{"body": text}`` when ``data`` is UTF-8, else ``{"body_base64": ...}`` (for building models)."""
    try:
        return {"body": data.decode()} if data else {}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(data).decode()}


def header_pairs(headers: HeadersValue) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, dict):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


class Model:
    """Shared YAML conversion: ``NESTED`` names the fields holding other models (or lists/maps of them)."""

    NESTED: ClassVar[dict[str, type[Model]]] = {}

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form, without fields left at their defaults."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            default = f.default if f.default is not dataclasses.MISSING else None
            if f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            if value == default and f.name not in getattr(self, "ALWAYS", ()):
                continue
            out[f.name] = _plain(value)
        return out

    @classmethod
    def from_dict(cls: type[M], data: dict[str, Any] | None) -> M:
        """Build from the YAML form (already validated by the schema: unknown keys are not expected)."""
        kwargs: dict[str, Any] = {}
        for key, value in (data or {}).items():
            nested = cls.NESTED.get(key)
            if nested is None or value is None:
                kwargs[key] = value
            elif isinstance(value, list):
                kwargs[key] = [nested.from_dict(v) for v in value]
            elif key in getattr(cls, "MAPS", ()):
                kwargs[key] = {k: nested.from_dict(v) for k, v in value.items()}
            else:
                kwargs[key] = nested.from_dict(value)
        return cls(**kwargs)


M = TypeVar("M", bound=Model)


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass
class PluginDecl(Model):
    """One filter in the chain, in order. ``module``: a .wasm file, or WasmPlugin YAML (.yaml/.yml),
    relative to the scenario file."""

    module: str
    config: ConfigValue = None
    vm_config: ConfigValue = None
    env: dict[str, str] = field(default_factory=dict)
    root_id: str = ""
    vm_id: str = ""
    name: str | None = None
    failure_policy: str = "FAIL_CLOSED"
    workload: str = ""  # WasmPlugin YAML only: the proxy (as `run --workload` takes it)
    start_failure: str | None = None  # a regex: the plugin must refuse to start with a matching reason


@dataclass
class ServiceDecl(Model):
    """A singleton ``envoy.bootstrap.wasm`` service (no filter chain)."""

    module: str
    config: ConfigValue = None
    vm_config: ConfigValue = None
    env: dict[str, str] = field(default_factory=dict)
    root_id: str = ""
    vm_id: str = ""
    name: str | None = None


@dataclass
class HttpAnswer(Model):
    """One answer to an HTTP callout; ``fail``: reset (503), timeout (504) or failure (no headers)."""

    status: int = 200
    headers: HeadersValue = None
    body: BodyValue = None
    body_base64: str | None = None
    trailers: HeadersValue = None
    delay_ms: float = 0
    fail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.fail is not None:
            out.pop("status", None)
        return out


@dataclass
class GrpcAnswer(Model):
    """One answer to a gRPC call or stream: messages then ``status``; ``fail``: a reset."""

    messages: list[str] | None = None
    messages_base64: list[str] | None = None
    status: int = 0
    status_message: str = ""
    initial_metadata: HeadersValue = None
    trailing_metadata: HeadersValue = None
    delay_ms: float = 0
    close_after: int | None = None
    fail: bool = False

    def message_bytes(self) -> list[bytes]:
        if self.messages_base64 is not None:
            return [base64.b64decode(m, validate=True) for m in self.messages_base64]
        return [m.encode() for m in self.messages or []]


@dataclass
class GrpcDeclaration(Model):
    NESTED: ClassVar[dict[str, type[Model]]] = {"answers": GrpcAnswer}

    answers: list[GrpcAnswer]
    service: str | None = None
    method: str | None = None
    stream: bool = False


@dataclass
class Cluster(Model):
    """A cluster's answers, in order (the last one repeats). No answers: the cluster exists, nothing
    answers (503, and the scenario fails as an undeclared call)."""

    NESTED: ClassVar[dict[str, type[Model]]] = {"answers": HttpAnswer, "grpc": GrpcDeclaration}

    answers: list[HttpAnswer] = field(default_factory=list)
    method: str | None = None
    path: str | None = None
    grpc: list[GrpcDeclaration] = field(default_factory=list)


@dataclass
class Request(Model):
    method: str = "GET"
    path: str = "/"
    authority: str = "example.com"
    scheme: str = "http"
    headers: HeadersValue = None
    body: BodyValue = None
    body_base64: str | None = None
    chunks: list[str] | None = None
    trailers: HeadersValue = None
    # This request's client address and connection-manager settings (None: the scenario's)
    peer_address: str | None = None
    use_remote_address: bool | None = None
    xff_num_trusted_hops: int | None = None
    skip_xff_append: bool | None = None
    internal_address_cidrs: list[str] | None = None


@dataclass
class UpstreamAnswer(Model):
    status: int = 200
    headers: HeadersValue = None
    body: BodyValue = None
    body_base64: str | None = None


@dataclass
class DirectResponse(Model):
    ALWAYS: ClassVar[tuple[str, ...]] = ("status",)

    status: int = 200
    body: str = ""


@dataclass
class Connect(Model):
    """One TCP connection through the chain as network filters."""

    downstream: list[str] = field(default_factory=list)
    upstream_reply: list[str] | None = None
    close_from: str = "downstream"


@dataclass
class Expect(Model):
    """What a step must observe; ``None``/empty fields are not checked (docs/scenarios.md)."""

    status: int | None = None
    headers: dict[str, Any] | None = None
    body: Any = None
    local_reply: bool | None = None
    plugin_failed: bool | None = None
    upstream: bool | dict[str, Any] | None = None
    callouts: list[dict[str, Any]] | None = None
    grpc_calls: list[dict[str, Any]] | None = None
    logs: list[str | dict[str, Any]] | None = None
    no_logs: list[str | dict[str, Any]] | None = None
    metrics: dict[str, Any] | None = None
    shared_data: dict[str, Any] | None = None
    upstream_received: Any = None
    client_received: Any = None
    closed_by: str | None = None
    redis_calls: list[dict[str, Any]] | None = None


@dataclass
class RedisAnswer(Model):
    """One answer to a Higress Redis call: one of ``value`` (an integer, a string, a list), ``nil``,
    ``simple``, ``error``, ``raw`` (RESP text as it is) or ``fail`` (the call fails with status 1 or N)."""

    value: int | str | list[Any] | None = None
    nil: bool = False  # the null bulk string ($-1)
    simple: str | None = None
    error: str | None = None
    raw: str | None = None
    fail: bool | int = False
    delay_ms: float = 0


@dataclass
class RedisDeclaration(Model):
    """Answers for Redis calls to one cluster, optionally only for one command and its arguments."""

    NESTED: ClassVar[dict[str, type[Model]]] = {"answers": RedisAnswer}

    answers: list[RedisAnswer] = field(default_factory=list)
    command: str | None = None
    args: list[str] | None = None


@dataclass
class Step(Model):
    """In order: ``clusters`` (re)declared, ``advance_ms`` of time, the ``request`` (routed to the
    ``upstream`` answer or a ``direct_response``) or the TCP ``connect``, then ``expect``."""

    NESTED: ClassVar[dict[str, type[Model]]] = {
        "clusters": Cluster,
        "request": Request,
        "upstream": UpstreamAnswer,
        "direct_response": DirectResponse,
        "connect": Connect,
        "expect": Expect,
    }
    MAPS: ClassVar[tuple[str, ...]] = ("clusters",)

    name: str = ""
    clusters: dict[str, Cluster] = field(default_factory=dict)
    advance_ms: float = 0
    request: Request | None = None
    upstream: UpstreamAnswer | None = None
    direct_response: DirectResponse | None = None
    connect: Connect | None = None
    expect: Expect | None = None


@dataclass
class Scenario(Model):
    """A whole scenario file. ``base_dir``: where relative module paths start (the file's directory);
    not part of the YAML."""

    NESTED: ClassVar[dict[str, type[Model]]] = {
        "plugins": PluginDecl,
        "services": ServiceDecl,
        "clusters": Cluster,
        "steps": Step,
    }
    MAPS: ClassVar[tuple[str, ...]] = ("clusters",)

    steps: list[Step] = field(default_factory=list)
    plugins: list[PluginDecl] = field(default_factory=list)
    services: list[ServiceDecl] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    name: str = ""
    description: str = ""
    backends: list[str] | None = None
    # Regexes of log text random by nature: diff mode masks their groups on both sides.
    volatile_logs: list[str] = field(default_factory=list)
    # The host (HostOptions, docs/scenarios.md "Host settings"); None: the caller's options
    now: str | int | float | None = None
    peer_address: str | None = None
    use_remote_address: bool | None = None
    xff_num_trusted_hops: int | None = None
    skip_xff_append: bool | None = None
    internal_address_cidrs: list[str] | None = None
    platform: str | None = None
    profile: str | None = None
    # Higress Redis answers by cluster: each a list of declarations (a single one in YAML is one)
    redis: dict[str, list[RedisDeclaration]] = field(default_factory=dict)
    version: int = SCENARIO_VERSION
    base_dir: Path = field(default_factory=Path.cwd, compare=False)
    source: str = field(default="", compare=False)  # the file it came from ("" when built in code)
    # The line of each key or item in the file (("steps", 1, "expect") -> 12), for later errors.
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Scenario:
        data = dict(data or {})
        redis = data.pop("redis", None) or {}
        scenario = super().from_dict(data)
        for name, value in redis.items():
            declared = [] if value is None else value if isinstance(value, list) else [value]
            scenario.redis[name] = [RedisDeclaration.from_dict(d) for d in declared]
        return scenario

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for local in ("base_dir", "source", "lines"):
            out.pop(local, None)
        head = ("version", "name", "description", "backends", *HOST_FIELDS, "plugins", "services", "clusters")
        ordered: dict[str, Any] = {k: out.pop(k) for k in head if k in out}
        return {"version": SCENARIO_VERSION, **ordered, **out}

    def resolve(self, module: str) -> Path:
        """A module path as the scenario means it: relative to ``base_dir``."""
        path = Path(module).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """The file's line for a field (its nearest parent's when the field itself is not written)."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)

    def runs_on(self, backend: str) -> bool:
        return self.backends is None or backend in self.backends
