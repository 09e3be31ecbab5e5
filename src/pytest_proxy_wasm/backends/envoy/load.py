"""Load mode: Envoy with and without the plugin chain, measured on Envoy's side.

The figure users compare is Envoy's own CPU time per request (utime + stime of the Envoy process from
``/proc/PID/stat`` over the run, divided by the requests Envoy counted as completed): it does not depend
on how fast the load generator is. Throughput and latency percentiles come from ``wrk`` when it is on
PATH, else from a Python asyncio client (which tops out near 4,500 requests/s: its latency is mostly
its own); every report names the generator. The upstream is a second Envoy answering with a
``direct_response``, and the measured Envoy runs without access log at log level warning (Istio's
default), so neither a Python upstream nor trace logging is in the figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..spec import PluginSpec
from .client import drive as drive_python
from .client import percentile
from .process import EnvoyProcess

__all__ = ["combine", "cpu_seconds", "drive", "drive_wrk", "measure", "percentile", "startup"]

COMPLETED = "http.ingress.downstream_rq_completed"
PYTHON_CLIENT = "python asyncio client (pytest-proxy-wasm)"


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads) in seconds, from ``/proc/PID/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14 and 15


def wrk_version() -> str | None:
    path = shutil.which("wrk")
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=10)
    match = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return f"wrk {match.group(1)}" if match else "wrk"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """The figures of ``wrk --latency`` output (tested on recorded output)."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    mean = re.search(r"Latency\s+([\d.]+(?:us|ms|s|m))", output)
    if not (done and rate and mean):
        raise ValueError(f"cannot read wrk output:\n{output}")
    percentiles = dict(re.findall(r"^\s+(50|90|99)(?:\.000)?%\s+([\d.]+(?:us|ms|s|m))", output, re.M))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, socket.groups())) if socket else 0)
    return {
        "requests": int(done.group(1)),
        "errors": errors,
        "seconds": round(_ms(done.group(2) + done.group(3)) / 1000, 3),
        "requests_per_second": round(float(rate.group(1)), 1),
        "p50_ms": round(_ms(percentiles["50"]), 3),
        "p90_ms": round(_ms(percentiles["90"]), 3),
        "p99_ms": round(_ms(percentiles["99"]), 3),
        "mean_ms": round(_ms(mean.group(1)), 3),
    }


def drive_wrk(port: int, *, seconds: float = 5.0, connections: int = 16, threads: int = 1) -> dict[str, Any]:
    """``seconds`` of wrk load over ``connections`` keep-alive connections."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-H",
        "x-load: 1",
        f"http://127.0.0.1:{port}/load",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({out.returncode}): {out.stderr.strip()}")
    return {**parse_wrk(out.stdout), "connections": connections, "generator": wrk_version() or "wrk"}


def drive(
    port: int,
    *,
    requests: int = 2000,
    seconds: float = 10.0,
    connections: int = 8,
    generator: str = "auto",
) -> dict[str, Any]:
    """Load on ``port`` from ``generator``: ``wrk`` (runs ``seconds``), ``python`` (at most ``requests``
    or ``seconds``), or ``auto`` (wrk when on PATH)."""
    if generator == "wrk" or (generator == "auto" and shutil.which("wrk")):
        return drive_wrk(port, seconds=seconds, connections=connections)
    if generator not in ("python", "auto"):
        raise ValueError(f"unknown load generator {generator!r}; choose wrk, python or auto")
    report = drive_python(port, requests=requests, seconds=seconds, connections=connections)
    return {**report, "generator": PYTHON_CLIENT}


def on_envoy(process: EnvoyProcess, run: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """``run(port)``'s report plus Envoy's CPU time per request over the run."""
    assert process.process is not None, "a process Envoy (the envoy backend) has a PID to read"
    pid = process.process.pid
    completed = process.stats().get(COMPLETED, 0)
    cpu = cpu_seconds(pid)
    report = run(process.port)
    if not process.running():  # the chain crashed Envoy under load: say so, not a refused stats call
        from .faults import EnvoyExited, exit_text, log_excerpt, panic_line

        lines = process.all_log_lines()
        how = exit_text(process.exit_code(), container=process.in_container)
        raise EnvoyExited(
            f"Envoy ({process.identity()}) exited with {how} during the load run; {panic_line(lines[-200:])}",
            log_excerpt(lines, process.output_lines()),
        )
    cpu = cpu_seconds(pid) - cpu
    served = process.stats().get(COMPLETED, 0) - completed
    return {
        **report,
        "envoy_requests": served,
        "envoy_cpu_seconds": round(cpu, 3),
        "envoy_cpu_us_per_request": round(cpu * 1e6 / served, 2) if served else 0.0,
    }


class _Upstream(EnvoyProcess):
    """A second Envoy answering every request with 200 ``ok`` (a direct_response route)."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "upstream.json"
        config.write_text(json.dumps(_upstream_config()))
        super().__init__(config, workdir, extra_args=())
        self.command[self.command.index("-l") + 1] = "warning"
        self.command[self.command.index("--component-log-level") + 1] = "wasm:warning"


def _upstream_config() -> dict[str, Any]:
    from .bootstrap import HCM, ROUTER

    route = {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}
    hcm = {
        "@type": HCM,
        "stat_prefix": "upstream",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [route]}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}],
    }
    listener = {
        "name": "upstream",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
        ],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {"listeners": [listener]},
    }


def _load_backend(workdir: Path | None, upstream_port: int) -> Any:
    """An EnvoyBackend whose Envoy routes to ``upstream_port``, without access log, at level warning."""
    from . import bootstrap
    from .backend import EnvoyBackend

    class LoadBackend(EnvoyBackend):
        def make_runner(self, config_path: Path) -> EnvoyProcess:
            config = json.loads(config_path.read_text())
            for cluster in config["static_resources"]["clusters"]:
                if cluster["name"] == bootstrap.UPSTREAM_CLUSTER:
                    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
                    endpoint["address"]["socket_address"]["port_value"] = upstream_port
            for chain in config["static_resources"]["listeners"][0]["filter_chains"]:
                for network_filter in chain["filters"]:
                    network_filter["typed_config"].pop("access_log", None)
            bootstrap.write(config, config_path)
            runner = super().make_runner(config_path)
            runner.command[runner.command.index("-l") + 1] = "warning"
            runner.command[runner.command.index("--component-log-level") + 1] = "wasm:warning"
            return runner

    return LoadBackend(workdir)


def combine(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One side's rounds: totals for counts and CPU (CPU per request = all CPU ÷ all requests served),
    the median round for latency percentiles."""
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    served = sum(r["envoy_requests"] for r in rounds)
    cpu = sum(r["envoy_cpu_seconds"] for r in rounds)
    return {
        "requests": requests,
        "errors": sum(r["errors"] for r in rounds),
        "seconds": round(seconds, 3),
        "requests_per_second": round(requests / seconds, 1) if seconds else 0.0,
        **{
            k: round(statistics.median(r[k] for r in rounds), 3)
            for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")
        },
        "connections": rounds[0]["connections"],
        "generator": rounds[0]["generator"],
        "rounds": len(rounds),
        "envoy_requests": served,
        "envoy_cpu_seconds": round(cpu, 3),
        "envoy_busy": round(cpu / seconds, 2) if seconds else 0.0,  # < 1: Envoy was not the bottleneck
        "envoy_cpu_us_per_request": round(cpu * 1e6 / served, 2) if served else 0.0,
        "envoy_cpu_us_per_request_by_round": [r["envoy_cpu_us_per_request"] for r in rounds],
    }


def measure(
    modules: Sequence[str | Path | bytes],
    *,
    requests: int = 2000,
    seconds: float = 10.0,
    connections: int = 8,
    workdir: Path | None = None,
    generator: str = "auto",
    specs: Callable[[Any], list[PluginSpec]] | None = None,
    rounds: int = 2,
) -> dict[str, Any]:
    """Envoy without and with the chain: both reports, Envoy's CPU µs per request on each side and the
    difference (the chain's CPU cost per request), and the chain's added latency. ``specs(backend)``
    loads the chain instead of ``modules`` (for plugin/VM configuration).

    Two Envoys run side by side (one without, one with the chain) and take the load in alternating
    rounds, so drifting load on the machine falls on both sides alike. ``seconds`` (wrk) and
    ``requests`` (Python client) are per side, split over the rounds."""
    import tempfile

    rounds = max(1, rounds)

    def load(port: int) -> dict[str, Any]:
        return drive(
            port,
            requests=max(1, requests // rounds),
            seconds=max(1.0, seconds / rounds),
            connections=connections,
            generator=generator,
        )

    with tempfile.TemporaryDirectory(prefix="pytest-proxy-wasm-load-") as tmp:
        root = workdir or Path(tmp)
        upstream = _Upstream(root / "upstream").start()
        try:
            with (
                _load_backend(root / "without", upstream.port) as bare,
                _load_backend(root / "with", upstream.port) as loaded,
            ):
                chain = specs(loaded) if specs else [loaded.load_plugin(m) for m in modules]
                processes = {
                    "envoy_without_plugins": bare._ensure([]),
                    "envoy_with_plugins": loaded._ensure(chain),
                }
                runs: dict[str, list[dict[str, Any]]] = {side: [] for side in processes}
                for _ in range(rounds):
                    for side, process in processes.items():
                        runs[side].append(on_envoy(process, load))
        finally:
            upstream.stop()
    sides = {side: combine(reports) for side, reports in runs.items()}
    baseline, with_chain = sides["envoy_without_plugins"], sides["envoy_with_plugins"]
    return {
        **sides,
        "plugins": [str(m) if not isinstance(m, bytes) else "<bytes>" for m in modules],
        "generator": with_chain["generator"],
        "cpu_source": f"/proc/PID/stat utime+stime of the Envoy process ÷ its {COMPLETED}",
        "plugin_cpu_us_per_request": round(
            with_chain["envoy_cpu_us_per_request"] - baseline["envoy_cpu_us_per_request"], 2
        ),
        "added_latency_ms": {
            key: round(with_chain[key] - baseline[key], 3)
            for key in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")
        },
        "throughput_ratio": round(with_chain["requests_per_second"] / baseline["requests_per_second"], 3)
        if baseline["requests_per_second"]
        else 0.0,
    }


def startup(module: str | Path | bytes, *, runs: int = 10) -> dict[str, Any]:
    """Envoy start (process spawn, with ``module`` loaded) to the first answered request, ``runs`` times."""
    from .backend import EnvoyBackend

    samples = []
    for _ in range(runs):
        with EnvoyBackend() as backend:
            started = time.perf_counter()
            plugin = backend.load_plugin(module)
            outcome = backend.request(plugin)
            samples.append(time.perf_counter() - started)
            if outcome.status is None:
                raise RuntimeError("Envoy did not answer the first request")
    return {
        "module": str(module) if not isinstance(module, bytes) else "<bytes>",
        "runs": runs,
        "median_s": round(statistics.median(samples), 3),
        "min_s": round(min(samples), 3),
        "max_s": round(max(samples), 3),
    }
