"""How close the empty-chain exchange is to the least work an exchange must do in Python.

    python benchmarks/empty_chain_floor.py [N]

"floor" runs, straight-line with no walk and no state, the steps whose results an empty-chain
exchange's Outcome carries, with the package's own functions: the stream info and request id, the
test's headers in the codec's view, the request and response maps, their text copies for the Outcome,
the upstream request and the Outcome itself. "exchange" is ``Host.request`` with no plugin for the
same request (the one ``test_real_modules.py`` sends). Prints process-CPU µs per run, min and median
of 7 rounds, as JSON. The issue-15 target for the exchange is 15 µs.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Callable

from pytest_proxy_wasm import Host, HostOptions, Runtime
from pytest_proxy_wasm.host.exchange import request_id
from pytest_proxy_wasm.host.headers import HeaderMap, wire_pairs
from pytest_proxy_wasm.host.properties import StreamInfo
from pytest_proxy_wasm.outcome import Outcome, UpstreamRequest, assemble_outcome

HEADERS = [("user-agent", "bench"), ("accept", "*/*")] + [(f"x-req-{i}", "value") for i in range(4)]
UPSTREAM = [("content-type", "text/plain")] + [(f"x-resp-{i}", "value") for i in range(4)]


def floor(rng: random.Random) -> Outcome:
    info = StreamInfo(start_ns=0, connection_id=1, random_bits=rng.getrandbits(128))
    request = HeaderMap.of_lowered(
        [
            (b":authority", b"example.com"),
            (b":path", b"/bench"),
            (b":method", b"GET"),
            (b":scheme", b"http"),
            *wire_pairs(HEADERS),
            (b"x-forwarded-proto", b"http"),
            (b"x-request-id", request_id(info.random_bits)),
            (b"x-envoy-expected-rq-timeout-ms", b"30000"),  # the router's
        ]
    )
    response = HeaderMap.of_lowered(
        [
            (b":status", b"200"),
            *wire_pairs(UPSTREAM),
            (b"content-length", b"2"),
            (b"x-envoy-upstream-service-time", b"0"),
        ]
    )
    info.request_headers, info.response_headers = request, response
    upstream = UpstreamRequest(method="GET", path="/bench", headers=request.as_text(), body=b"", trailers=[])
    return assemble_outcome(
        {
            "status": 200,
            "response_headers": response.as_text(),
            "response_body": b"ok",
            "upstream_request": upstream,
            "logs": [],
            "plugin_failed": None,
            "response_trailers": [],
            "local_reply": False,
            "details": "via_upstream",
            "hung": False,
            "reset": False,
            "callouts": [],
            "metrics": {},
            "diagnostics": [],
        }
    )


def _timed(run: Callable[[], object], n: int) -> list[float]:
    for _ in range(n // 5):
        run()
    rounds = []
    for _ in range(7):
        start = time.process_time()
        for _ in range(n):
            run()
        rounds.append((time.process_time() - start) * 1e6 / n)
    return [round(min(rounds), 1), round(statistics.median(rounds), 1)]


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 20000
    rng = random.Random(0)
    host = Host(Runtime(cache_dir=None), HostOptions())
    bench = {"path": "/bench", "headers": HEADERS, "upstream_headers": UPSTREAM, "upstream_body": "ok"}
    # The floor computes what the exchange's Outcome holds (the request id aside): check it still does.
    real, least = host.request([], **bench), floor(rng)  # type: ignore[arg-type]
    assert real.status == least.status and real.response_headers == least.response_headers
    assert real.upstream_request is not None and least.upstream_request is not None
    assert len(real.upstream_request.headers) == len(least.upstream_request.headers)

    def exchange() -> None:
        host.request([], **bench)  # type: ignore[arg-type]
        host.records.clear()

    figures = {"floor": _timed(lambda: floor(rng), n), "exchange": _timed(exchange, n)}
    figures["exchange_over_floor"] = [round(figures["exchange"][1] / figures["floor"][1], 2)]
    print(json.dumps(figures))
    host.close()


if __name__ == "__main__":
    main(sys.argv[1:])
