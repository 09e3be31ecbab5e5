"""Higress Redis calls: declared answers per cluster, the record of every call, pending deliveries.

Shaped like HTTP callouts (host/callouts.py): ``host.expect_redis_call(cluster, command="INCR")``
declares answers, calls nobody declared get a failed callback and fail the test at ``host.check()``.
The plugin sends a RESP command (``proxy_redis_call``) and reads the RESP answer from buffer 9 in
``proxy_on_redis_call_response(root_id, token, status, size)``. From Higress's sources (its Go SDK and
wasm-go test host), not checked on a running Higress gateway.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ExpectationError
from .abi.enums import BufferType
from .contexts import Buffer, RootContext

if TYPE_CHECKING:
    from .host import Host

# Callback status for a call that failed (no connection, timeout): nonzero, as Higress's
# wasm-go client treats any nonzero status as a network error.
FAILED_STATUS = 1


class RespError(str):
    """A RESP error answer (``-ERR ...``)."""


class RespSimple(str):
    """A RESP simple string answer (``+OK``)."""


def resp_encode(value: Any) -> bytes:
    """A Python value as RESP, as Higress's test host (tidwall/resp) writes answers: str/bytes as a bulk
    string, int as an integer, None as the null bulk string, list/tuple as an array, ``RespError`` as an
    error and ``RespSimple`` as a simple string."""
    if isinstance(value, RespError):
        return b"-" + value.encode() + b"\r\n"
    if isinstance(value, RespSimple):
        return b"+" + value.encode() + b"\r\n"
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, bool):
        raise TypeError("a RESP answer cannot be a bool; use 0 or 1")
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, str | bytes):
        data = value.encode() if isinstance(value, str) else value
        return b"$%d\r\n%s\r\n" % (len(data), data)
    if isinstance(value, list | tuple):
        return b"*%d\r\n" % len(value) + b"".join(resp_encode(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__} as a RESP answer")


def resp_command(query: bytes) -> list[str] | None:
    """The words of a RESP array of bulk strings (what Redis clients send); None if it is not one."""
    try:
        if not query.startswith(b"*"):
            return None
        head, _, rest = query.partition(b"\r\n")
        words: list[str] = []
        for _ in range(int(head[1:])):
            size_line, _, rest = rest.partition(b"\r\n")
            if not size_line.startswith(b"$"):
                return None
            size = int(size_line[1:])
            words.append(rest[:size].decode("utf-8", "replace"))
            rest = rest[size + 2 :]
        return words
    except ValueError:
        return None


def base_cluster(upstream: str) -> str:
    """wasm-go qualifies the cluster with options (``name?db=0&...``); answers are declared by name."""
    return upstream.split("?", 1)[0]


@dataclass
class RedisAnswer:
    data: bytes = b""
    status: int = 0
    delay_ms: float = 0


class RedisCallExpectation:
    """Declared answers for Redis calls to a cluster (exact name or fnmatch pattern), optionally only
    for one command (case-insensitive) and its arguments. Answers are taken in order; the last repeats."""

    def __init__(self, cluster: str, command: str | None, args: Sequence[str] | None, once: bool) -> None:
        self.cluster = cluster
        self.command = command.upper() if command else None
        self.args = list(args) if args is not None else None
        self.once = once
        self.answers: list[RedisAnswer] = []
        self.calls = 0

    def respond_with(self, value: Any, delay_ms: float = 0) -> RedisCallExpectation:
        """Answer with ``value`` encoded as RESP (see ``resp_encode``)."""
        self.answers.append(RedisAnswer(resp_encode(value), 0, delay_ms))
        return self

    def respond_raw(self, data: bytes, delay_ms: float = 0) -> RedisCallExpectation:
        """Answer with these bytes as they are (already RESP)."""
        self.answers.append(RedisAnswer(bytes(data), 0, delay_ms))
        return self

    def fail(self, status: int = FAILED_STATUS, delay_ms: float = 0) -> RedisCallExpectation:
        """The call fails (no connection, timeout): the callback gets ``status`` and no answer."""
        if status == 0:
            raise ValueError("fail(status=...) takes a nonzero status; 0 is a successful call")
        self.answers.append(RedisAnswer(b"", status, delay_ms))
        return self

    @property
    def used_up(self) -> bool:
        return self.once and self.calls >= max(1, len(self.answers))

    def matches(self, cluster: str, words: list[str] | None) -> bool:
        name = base_cluster(cluster)
        if not (name == self.cluster or fnmatch.fnmatchcase(name, self.cluster)):
            return False
        if self.command is not None and (not words or words[0].upper() != self.command):
            return False
        return self.args is None or (words is not None and words[1:] == self.args)

    def take(self) -> RedisAnswer:
        if not self.answers:
            self.calls += 1
            return RedisAnswer(b"+OK\r\n")  # declared without an answer: Redis's OK
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return answer


@dataclass
class RedisCallRecord:
    """A Redis call the plugin made: the cluster as given, the RESP query and its words."""

    cluster: str
    query: bytes
    command: list[str] | None
    token: int
    matched: bool = True
    status: int | None = None  # the callback's status once answered
    answer: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "command": self.command, "status": self.status}


@dataclass
class RedisInit:
    cluster: str
    username: str
    password: str
    timeout_ms: int


@dataclass
class RedisCalls:
    """The host's Redis state: declared clusters, initialised clients, expectations and records."""

    host: Host
    clusters: set[str] = field(default_factory=set)
    inits: list[RedisInit] = field(default_factory=list)
    expectations: list[RedisCallExpectation] = field(default_factory=list)
    records: list[RedisCallRecord] = field(default_factory=list)
    reported: set[object] = field(default_factory=set)

    def knows(self, cluster: str) -> bool:
        name = base_cluster(cluster)
        return name in self.clusters or any(
            e.cluster == name or fnmatch.fnmatchcase(name, e.cluster) for e in self.expectations
        )

    def initialised(self, cluster: str) -> bool:
        return any(i.cluster == cluster for i in self.inits)

    def expect(
        self, cluster: str, command: str | None, args: Sequence[str] | None, once: bool
    ) -> RedisCallExpectation:
        expectation = RedisCallExpectation(cluster, command, args, once)
        self.expectations.append(expectation)
        return expectation

    def dispatch(self, root: RootContext, cluster: str, query: bytes) -> int:
        vm = root.vm
        vm.http_tokens += 4  # one token sequence for every callout kind of the VM
        token = vm.http_tokens
        words = resp_command(query)
        expectation = next(
            (e for e in self.expectations if not e.used_up and e.matches(cluster, words)), None
        )
        answer = expectation.take() if expectation else RedisAnswer(b"", FAILED_STATUS)
        record = RedisCallRecord(cluster, query, words, token, expectation is not None)
        self.records.append(record)
        due = self.host.clock.monotonic_ns + int(answer.delay_ms * 1_000_000)
        self.host.scheduler.schedule(
            due, lambda: self._deliver(root, record, answer), f"redis call {token} to {cluster}"
        )
        return token

    def _deliver(self, root: RootContext, record: RedisCallRecord, answer: RedisAnswer) -> None:
        vm = root.vm
        record.status, record.answer = answer.status, answer.data
        vm.callout_buffers = {BufferType.REDIS_CALL_RESPONSE: Buffer(answer.data)}
        try:
            vm.call(
                root, "proxy_on_redis_call_response", root.id, record.token, answer.status, len(answer.data)
            )
        finally:
            vm.callout_buffers = {}
        self.host.after_callback()

    def check(self) -> None:
        """Raise ``ExpectationError`` for undeclared calls and once-expectations not used up (once each)."""
        found: list[tuple[object, str]] = [
            (("redis", i), f"unexpected Redis call to cluster {r.cluster!r} ({' '.join(r.command or ['?'])})")
            for i, r in enumerate(self.records)
            if not r.matched
        ]
        found += [
            (("redis-expectation", id(e), e.calls), f"expected Redis call to {e.cluster!r} was never made")
            for e in self.expectations
            if e.once and e.calls < max(1, len(e.answers))
        ]
        problems = [text for key, text in found if key not in self.reported]
        self.reported.update(key for key, _ in found)
        if problems:
            raise ExpectationError("; ".join(problems))


class RedisDeclarations:
    """``Host`` methods for Redis answers (mixed into Host)."""

    redis: RedisCalls

    def expect_redis_call(
        self,
        cluster: str,
        *,
        command: str | None = None,
        args: Sequence[str] | None = None,
        once: bool = False,
    ) -> RedisCallExpectation:
        """Declare answers for ``proxy_redis_call`` to ``cluster`` (name or fnmatch pattern; wasm-go's
        ``?options`` suffix is ignored), optionally only for ``command`` with ``args``. Declaring it
        also makes the cluster known to ``proxy_redis_init``."""
        return self.redis.expect(cluster, command, args, once)

    def add_redis_cluster(self, *names: str) -> None:
        """Clusters ``proxy_redis_init`` accepts without declared answers (calls then fail the test)."""
        self.redis.clusters.update(names)

    @property
    def redis_calls(self) -> list[RedisCallRecord]:
        return self.redis.records
