"""gRPC fakes: what a test declares (expectations, answers), what it inspects (records), message codecs.

Protobuf is optional: messages with ``SerializeToString`` are encoded with it, and message classes with
``FromString`` decode; ``google.protobuf`` is imported only when present.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ExpectationError

OK, INTERNAL, UNAVAILABLE = 0, 13, 14
# What Envoy 1.40 tells a plugin about a call to a cluster with nothing listening (seen with the
# Envoy backend): the router's reply, then its response code details (see grpc_status_message).
UPSTREAM_DOWN = (
    "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"
)
UPSTREAM_DOWN_DETAILS = (
    "upstream_reset_before_response_started"
    "{remote_connection_failure|delayed_connect_error:_Connection_refused}"
)
TIMEOUT_MESSAGE = "upstream request timeout"  # router local reply 504 -> grpc-status 14 (httpToGrpcStatus)
TIMEOUT_DETAILS = "response_timeout"
VIA_UPSTREAM = "via_upstream"  # the details of any answer the gRPC server itself gave


def grpc_status_message(message: str, details: str) -> str:
    """The message ``proxy_get_status`` gives in ``proxy_on_grpc_close`` on Envoy 1.40: Envoy's gRPC
    client (``enhancedGrpcMessage``) appends the stream's response code details as ``{details}``,
    or gives the details alone when the server sent no message (``status 7 "via_upstream"``)."""
    if not message:
        return details
    return f"{message}{{{details}}}" if details else message


Pairs = list[tuple[str, str]]
Replies = Callable[[Any], Any] | Sequence[Any] | None


def _protobuf_message_class() -> type | None:
    """``google.protobuf.message.Message`` when protobuf is installed (an optional dependency)."""
    try:
        module = importlib.import_module("google.protobuf.message")
    except ImportError:
        return None
    cls: type = module.Message
    return cls


def encode_message(message: Any) -> bytes:
    """Bytes as given, str as UTF-8, a protobuf message (anything with ``SerializeToString``) serialized."""
    if isinstance(message, bytes | bytearray | memoryview):
        return bytes(message)
    if isinstance(message, str):
        return message.encode()
    proto = _protobuf_message_class()
    if (proto is not None and isinstance(message, proto)) or hasattr(message, "SerializeToString"):
        data: bytes = message.SerializeToString()
        return data
    raise TypeError(f"a gRPC message must be bytes, str or a protobuf message, not {type(message).__name__}")


def decode_message(data: bytes, message_type: Any = None) -> Any:
    """``data`` itself, or ``message_type.FromString(data)`` for a protobuf message class."""
    return data if message_type is None else message_type.FromString(data)


def pairs_of(value: Pairs | dict[str, str] | None) -> Pairs:
    if value is None:
        return []
    return list(value.items()) if isinstance(value, dict) else list(value)


@dataclass
class GrpcResponse:
    """What the fake server does for one call or stream."""

    messages: list[bytes] = field(default_factory=list)
    initial_metadata: Pairs = field(default_factory=list)
    trailing_metadata: Pairs = field(default_factory=list)
    status: int = OK
    status_message: str = ""
    delay_ms: float = 0
    failure: bool = False  # reset: only proxy_on_grpc_close(status)
    replies: Replies = None
    close_after: int | None = None
    request_type: Any = None


class GrpcExpectation:
    """Declared answers for gRPC calls (``kind="call"``) or streams (``kind="stream"``). Each
    ``respond_with``/``fail`` adds one: calls take them in order and the last one repeats (``once``:
    each answers one call)."""

    def __init__(self, kind: str, cluster: str, service: str | None, method: str | None, once: bool) -> None:
        self.kind = kind
        self.cluster = cluster
        self.service = service
        self.method = method
        self.once = once
        self.answers: list[GrpcResponse] = []
        self.current: GrpcResponse | None = None  # the answer the last call took
        self.calls = 0

    @property
    def response(self) -> GrpcResponse:
        """The answer of the call just matched (before any call: the first declared one)."""
        if self.current is not None:
            return self.current
        return self.answers[0] if self.answers else GrpcResponse()

    @property
    def used_up(self) -> bool:
        return self.once and self.calls >= max(1, len(self.answers))

    def take(self) -> GrpcResponse:
        answer = self.answers[min(self.calls, len(self.answers) - 1)] if self.answers else GrpcResponse()
        self.current = answer
        self.calls += 1
        return answer

    def matches(self, kind: str, cluster: str, service: str, method: str) -> bool:
        if kind != self.kind:
            return False
        if not (cluster == self.cluster or fnmatch.fnmatchcase(cluster, self.cluster)):
            return False
        return (self.service is None or self.service == service) and (
            self.method is None or self.method == method
        )

    def respond_with(
        self,
        *messages: Any,
        initial_metadata: Pairs | dict[str, str] | None = None,
        trailing_metadata: Pairs | dict[str, str] | None = None,
        status: int = OK,
        status_message: str = "",
        delay_ms: float = 0,
        replies: Replies = None,
        close_after: int | None = None,
        request_type: Any = None,
    ) -> GrpcExpectation:
        """Answer with ``messages`` (bytes, str or protobuf messages), then ``status``.

        Streams only: ``messages`` are sent right after the stream opens; ``replies`` answers each
        message the plugin sends (a callable taking the message - decoded with ``request_type`` when
        given - or a list indexed by message number; each answer is one message, a list of them, or
        None); the server closes (trailing metadata, then ``status``) after ``close_after`` plugin
        messages, or when the plugin half-closes (``end_stream`` or ``proxy_grpc_close``).
        """
        if self.kind == "call" and (len(messages) > 1 or replies is not None or close_after is not None):
            raise ValueError("a unary gRPC call answers with at most one message (no replies/close_after)")
        self.answers.append(
            GrpcResponse(
                [encode_message(m) for m in messages],
                pairs_of(initial_metadata),
                pairs_of(trailing_metadata),
                status,
                status_message,
                delay_ms,
                replies=replies,
                close_after=close_after,
                request_type=request_type,
            )
        )
        return self

    def fail(
        self, status: int = UNAVAILABLE, message: str = UPSTREAM_DOWN, delay_ms: float = 0
    ) -> GrpcExpectation:
        """Reset: the plugin only sees ``proxy_on_grpc_close(status)`` (default 14 UNAVAILABLE)."""
        self.answers.append(
            GrpcResponse(status=status, status_message=message, delay_ms=delay_ms, failure=True)
        )
        return self


@dataclass
class GrpcCallRecord:
    """A gRPC call or stream the plugin made, as the test can inspect it."""

    kind: str  # "call" or "stream"
    cluster: str
    service: str
    method: str
    initial_metadata: Pairs
    messages: list[bytes]  # what the plugin sent (the request of a call)
    timeout_ms: int | None
    token: int
    matched: bool = True
    half_closed: bool = False
    cancelled: bool = False
    received: list[bytes] = field(default_factory=list)  # messages delivered to the plugin
    close_status: int | None = None
    close_message: str = ""

    def metadata(self, name: str) -> str | None:
        return next((v for k, v in self.initial_metadata if k == name.lower()), None)

    def decoded(self, message_type: Any) -> list[Any]:
        return [decode_message(m, message_type) for m in self.messages]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "cluster": self.cluster,
            "service": self.service,
            "method": self.method,
            "messages": [m.decode("utf-8", "replace") for m in self.messages],
            "status": self.close_status,
        }


class GrpcDeclarations:
    """Expectations and records of gRPC calls, shared by the emulator and the Envoy backend's fakes."""

    def __init__(self) -> None:
        self.expectations: list[GrpcExpectation] = []
        self.records: list[GrpcCallRecord] = []
        self.reported: set[object] = set()  # problems ``check`` raised already

    def expect(
        self, kind: str, cluster: str, service: str | None, method: str | None, once: bool
    ) -> GrpcExpectation:
        expectation = GrpcExpectation(kind, cluster, service, method, once)
        self.expectations.append(expectation)
        return expectation

    def declared(self, cluster: str) -> bool:
        return any(e.cluster == cluster or fnmatch.fnmatchcase(cluster, e.cluster) for e in self.expectations)

    def find(self, kind: str | None, cluster: str, service: str, method: str) -> GrpcExpectation | None:
        """The first usable expectation for a call (``kind`` None: a call or a stream), counted as used."""
        for expectation in self.expectations:
            if expectation.used_up:
                continue
            if expectation.matches(kind or expectation.kind, cluster, service, method):
                expectation.take()
                return expectation
        return None

    def check(self) -> None:
        """Raise ``ExpectationError`` for gRPC calls nobody declared and once-expectations not used up;
        each problem once."""
        found: list[tuple[object, str]] = [
            (("call", i), f"unexpected gRPC {r.kind} to cluster {r.cluster!r} ({r.service}/{r.method})")
            for i, r in enumerate(self.records)
            if not r.matched
        ]
        found += [
            (("expectation", id(e), e.calls), f"expected gRPC {e.kind} to {e.cluster!r} was never made")
            if not e.calls
            else (
                ("expectation", id(e), e.calls),
                f"expected {len(e.answers)} gRPC {e.kind}s to {e.cluster!r}, got {e.calls}",
            )
            for e in self.expectations
            if e.once and e.calls < max(1, len(e.answers))
        ]
        problems = [text for key, text in found if key not in self.reported]
        self.reported.update(key for key, _ in found)
        if problems:
            raise ExpectationError("; ".join(problems))


def unanswered() -> GrpcResponse:
    """What a call nobody declared gets: the cluster is down."""
    return GrpcResponse(status=UNAVAILABLE, status_message=UPSTREAM_DOWN, failure=True)
