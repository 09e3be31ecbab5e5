"""HTTP callouts: declarative fakes per cluster, the record of every call, and pending deliveries.

A test states what each cluster answers (``host.expect_http_call(...)``); calls nobody declared are
answered like an Envoy cluster with nothing listening (503) and fail the test at teardown
(``host.check()``), as pytest-httpserver's ``check_assertions`` does.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ExpectationError
from .abi.enums import MapType
from .contexts import Buffer, RootContext
from .headers import HeaderInput, HeaderMap, to_pairs

if TYPE_CHECKING:
    from .host import Host

# Envoy's local replies to an async request, verified against Envoy 1.40.
RESET_BODY = (
    b"upstream connect error or disconnect/reset before headers. reset reason: connection termination"
)
TIMEOUT_BODY = b"upstream request timeout"
# The order every backend's record lists the pseudo-headers in (others keep the plugin's order).
PSEUDO_ORDER = (b":method", b":scheme", b":authority", b":path")


def as_forwarded(headers: HeaderMap) -> HeaderMap:
    """The callout's headers as Envoy's router forwards them (router.cc ``setUpstreamScheme``): a
    ``:scheme`` other than http/https (any case) is replaced by a valid ``x-forwarded-proto``, else by
    ``http`` (the async client has no TLS downstream). Pseudo-headers in ``PSEUDO_ORDER``. Verified on
    Envoy 1.40 through the Envoy backend's scheme probe (docs/backends.md, "Callout records")."""
    headers = HeaderMap(headers.pairs())
    scheme = headers.get(b":scheme")
    if scheme is None or scheme.lower() not in (b"http", b"https"):
        forwarded = headers.get(b"x-forwarded-proto")
        valid = forwarded is not None and forwarded.lower() in (b"http", b"https")
        headers.replace(b":scheme", forwarded if valid and forwarded is not None else b"http")
    return canonical(headers.pairs())


def canonical(pairs: list[tuple[bytes, bytes]]) -> HeaderMap:
    """Pseudo-headers first, in ``PSEUDO_ORDER``; every other header in its original order."""
    rank = {name: index for index, name in enumerate(PSEUDO_ORDER)}
    pseudo = sorted((p for p in pairs if p[0][:1] == b":"), key=lambda p: rank.get(p[0], len(rank)))
    return HeaderMap(pseudo + [p for p in pairs if p[0][:1] != b":"])


@dataclass
class CalloutResponse:
    status: int = 200
    headers: list[tuple[str | bytes, str | bytes]] = field(default_factory=list)
    body: bytes = b""
    trailers: list[tuple[str | bytes, str | bytes]] = field(default_factory=list)
    delay_ms: float = 0
    failure: str | None = None  # "reset" or "timeout"


class HttpCallExpectation:
    """Declared answers for calls to a cluster (exact name or fnmatch pattern).

    Each ``respond_with``/``fail`` adds one answer: calls take them in order and the last one repeats
    (``once=True``: each answers one call, then the expectation is used up). ``withdraw()`` takes the
    declaration back: later calls are answered as undeclared ones (503, reported by ``check``).
    """

    def __init__(
        self,
        cluster: str,
        *,
        method: str | None,
        path: str | None,
        once: bool,
        owner: Callouts | None = None,
    ) -> None:
        self.cluster = cluster
        self.method = method
        self.path = path
        self.once = once
        self.answers: list[CalloutResponse] = []
        self.calls = 0
        self.owner = owner

    @property
    def response(self) -> CalloutResponse:
        """The answer the next call gets."""
        if not self.answers:
            return CalloutResponse()
        return self.answers[min(self.calls, len(self.answers) - 1)]

    @property
    def used_up(self) -> bool:
        return self.once and self.calls >= max(1, len(self.answers))

    def take(self) -> CalloutResponse:
        response = self.response
        self.calls += 1
        return response

    def matches(self, cluster: str, headers: HeaderMap) -> bool:
        if not (cluster == self.cluster or fnmatch.fnmatchcase(cluster, self.cluster)):
            return False
        if self.method is not None and (headers.get(b":method") or b"").decode() != self.method:
            return False
        return self.path is None or (headers.get(b":path") or b"").decode() == self.path

    def respond_with(
        self,
        status: int = 200,
        headers: HeaderInput = None,
        body: bytes | str = b"",
        trailers: HeaderInput = None,
        delay_ms: float = 0,
    ) -> HttpCallExpectation:
        """Add the next answer (the first call gets the first one; the last one repeats). Header values:
        str goes out as Latin-1, bytes as they are."""
        data = body.encode() if isinstance(body, str) else bytes(body)
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
        tail = list(trailers.items()) if isinstance(trailers, Mapping) else list(trailers or [])
        self.answers.append(CalloutResponse(status, pairs, data, tail, delay_ms))
        return self

    def respond_in_order(self, answers: list[dict[str, Any]]) -> HttpCallExpectation:
        """Several answers at once: ``[{"status": 200, "body": "a"}, {"fail": "reset"}, ...]``."""
        for answer in answers:
            if "fail" in answer:
                self.fail(answer["fail"], delay_ms=answer.get("delay_ms", 0))
            else:
                self.respond_with(**answer)
        return self

    def fail(self, how: str = "reset", delay_ms: float = 0) -> HttpCallExpectation:
        """Add a failing answer: ``reset`` (503), ``timeout`` (504) or ``failure`` (no headers)."""
        if how not in ("reset", "timeout", "failure"):
            raise ValueError("fail(how=...) takes 'reset', 'timeout' or 'failure'")
        self.answers.append(CalloutResponse(failure=how, delay_ms=delay_ms))
        return self

    def withdraw(self) -> None:
        """Take this declaration back. The cluster stays (as on a running Envoy): later calls get the
        503 of a cluster nobody answers and fail ``check`` as undeclared."""
        if self.owner is not None:
            self.owner.withdraw(self)


@dataclass
class HttpCallRecord:
    """A call the plugin made, as the cluster received it, in the same shape on every backend:
    ``:method``, ``:scheme``, ``:authority``, ``:path``, then the plugin's other headers (and
    ``content-length`` for a body). ``token`` is 0 on Envoy, where it cannot be observed."""

    cluster: str
    headers: list[tuple[str, str]]
    body: bytes
    trailers: list[tuple[str, str]]
    timeout_ms: int
    token: int
    matched: bool = True
    answered_status: int | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "headers": [list(h) for h in self.headers],
            "body": self.body.decode("utf-8", "replace"),
            "timeout_ms": self.timeout_ms,
            "status": self.answered_status,
        }


@dataclass
class PendingCall:
    root: RootContext
    token: int
    due_ns: int
    response: CalloutResponse
    record: HttpCallRecord
    index: int = 0  # position in ``Callouts.records``


class Callouts:
    """The host's callout state: known clusters, expectations, records and pending answers."""

    def __init__(self, host: Host | None = None) -> None:
        self.host: Host = host  # type: ignore[assignment]  # None only where nothing is dispatched
        self.clusters: set[str] = set()
        self.expectations: list[HttpCallExpectation] = []
        self.records: list[HttpCallRecord] = []
        self.pending: list[PendingCall] = []  # dispatched, not answered yet (the emulator's)
        self.reported: set[object] = set()  # problems ``check`` raised already

    def add_cluster(self, *names: str) -> None:
        self.clusters.update(names)

    def knows(self, cluster: str) -> bool:
        if cluster in self.clusters:
            return True
        return any(e.cluster == cluster or fnmatch.fnmatchcase(cluster, e.cluster) for e in self.expectations)

    def expect(
        self, cluster: str, *, method: str | None = None, path: str | None = None, once: bool = False
    ) -> HttpCallExpectation:
        expectation = HttpCallExpectation(cluster, method=method, path=path, once=once, owner=self)
        self.expectations.append(expectation)
        return expectation

    def withdraw(self, expectation: HttpCallExpectation) -> None:
        if expectation in self.expectations:
            self.expectations.remove(expectation)
            if not any(ch in expectation.cluster for ch in "*?["):
                self.clusters.add(expectation.cluster)

    def withdraw_cluster(self, cluster: str) -> int:
        """Withdraw every expectation declared for ``cluster`` (its exact name); how many there were."""
        mine = [e for e in self.expectations if e.cluster == cluster]
        for expectation in mine:
            self.withdraw(expectation)
        return len(mine)

    def answer_for(self, cluster: str, headers: HeaderMap) -> tuple[CalloutResponse, bool]:
        for expectation in list(self.expectations):
            if expectation.used_up:
                continue
            if expectation.matches(cluster, headers):
                return expectation.take(), True
        return CalloutResponse(failure="reset"), False  # nothing declared: the connection is dropped

    def pending_due(self, first_record: int) -> int | None:
        """When the next answer to a call made since record ``first_record`` is due (None: none left)."""
        due = [p.due_ns for p in self.pending if p.index >= first_record]
        return min(due) if due else None

    def check(self) -> None:
        """Raise ``ExpectationError`` for calls nobody declared and once-expectations not used up.
        Each problem is raised once, so a test can assert on it and the teardown check stays quiet."""
        found: list[tuple[object, str]] = [
            (
                ("call", i),
                f"unexpected HTTP call to cluster {r.cluster!r} ({r.header(':method')} {r.header(':path')})",
            )
            for i, r in enumerate(self.records)
            if not r.matched
        ]
        found += [
            (
                ("expectation", id(e), e.calls),
                f"expected HTTP call to {e.cluster!r} was never made"
                if not e.calls
                else f"expected {len(e.answers)} HTTP calls to {e.cluster!r}, got {e.calls}",
            )
            for e in self.expectations
            if e.once and e.calls < max(1, len(e.answers))
        ]
        problems = [text for key, text in found if key not in self.reported]
        self.reported.update(key for key, _ in found)
        if problems:
            raise ExpectationError("; ".join(problems))

    def dispatch(
        self,
        root: RootContext,
        cluster: str,
        headers: HeaderMap,
        body: bytes,
        trailers: HeaderMap,
        timeout_ms: int,
    ) -> int:
        vm = root.vm
        vm.http_tokens += 4
        token = vm.http_tokens
        response, matched = self.answer_for(cluster, headers)
        if body and headers.get(b"content-length") is None:
            headers.add(b"content-length", str(len(body)).encode())
        record = HttpCallRecord(
            cluster, as_forwarded(headers).as_text(), body, trailers.as_text(), timeout_ms, token, matched
        )
        self.records.append(record)
        delay = response.delay_ms if not timeout_ms else min(response.delay_ms, timeout_ms)
        due = self.host.clock.monotonic_ns + int(delay * 1_000_000)
        call = PendingCall(root, token, due, response, record, len(self.records) - 1)
        self.pending.append(call)
        self.host.scheduler.schedule(due, lambda: self._deliver(call), f"http call {token} to {cluster}")
        return token

    def _deliver(self, call: PendingCall) -> None:
        if call in self.pending:
            self.pending.remove(call)
        root, vm = call.root, call.root.vm
        headers, body, trailers = response_maps(call.response, call.record.timeout_ms)
        status = headers.get(b":status") if headers is not None else None
        call.record.answered_status = int(status) if status else None
        if headers is None:
            root.status = (11, b"reset")  # BrokenConnection
            counts = (0, 0, 0)
        else:
            root.status = (0, b"")
            vm.callout_maps = {MapType.HTTP_CALL_RESPONSE_HEADERS: headers}
            if trailers is not None:
                vm.callout_maps[MapType.HTTP_CALL_RESPONSE_TRAILERS] = trailers
            vm.callout_buffers = {4: Buffer(body)}
            counts = (len(headers), len(body), len(trailers) if trailers is not None else 0)
        try:
            vm.call(root, "proxy_on_http_call_response", root.id, call.token, *counts)
        finally:
            vm.callout_maps, vm.callout_buffers = {}, {}
        self.host.after_callback()


def _local_reply(status: int, body: bytes) -> HeaderMap:
    return HeaderMap(
        [
            (b":status", str(status).encode()),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"text/plain"),
        ]
    )


def response_maps(
    response: CalloutResponse, timeout_ms: int
) -> tuple[HeaderMap | None, bytes, HeaderMap | None]:
    """What ``on_http_call_response`` sees: headers (None when the call failed), body and trailers.

    An upstream that resets (or that nobody declared) gets Envoy's 503 local reply, a slow one its 504;
    only ``fail("failure")`` (the async client failing inside Envoy) reaches the plugin as 0 headers.
    """
    if response.failure == "failure":
        return None, b"", None
    if response.failure == "reset":
        return _local_reply(503, RESET_BODY), RESET_BODY, None
    if response.failure == "timeout" or (timeout_ms and response.delay_ms > timeout_ms):
        return _local_reply(504, TIMEOUT_BODY), TIMEOUT_BODY, None
    headers = HeaderMap([(b":status", str(response.status).encode())])
    for k, v in to_pairs(response.headers):
        headers.add(k, v)
    if headers.get(b"content-length") is None:
        headers.add(b"content-length", str(len(response.body)).encode())
    headers.add(b"x-envoy-upstream-service-time", b"0")  # Envoy's router adds it to callout answers too
    trailers = HeaderMap(to_pairs(response.trailers)) if response.trailers else None
    return headers, response.body, trailers
