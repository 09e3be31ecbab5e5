"""The ``pytest-proxy-wasm`` command: ``run`` one exchange through a module and print the Outcome."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import check_cli
from .backends import BackendMismatch, make_backend
from .backends.envoy.image import add_image_parser
from .errors import ProxyWasmError
from .host.clock_start import NOW_FORMATS, parse_now
from .host.options import HostOptions
from .host.trace import render
from .istio import cli as istio_cli
from .outcome import LogRecord, Outcome
from .plugin_coverage import cli_options as coverage_cli


def _text_or_file(value: str) -> str:
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text()
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read {value[1:]}: {exc.strerror}") from None
    return value


def _header(value: str) -> tuple[str, str | bytes]:
    """``name: value``; a non-ASCII value is sent as the command line's own bytes (as curl does)."""
    name, sep, rest = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'name: value', got {value!r}")
    text = rest.strip()
    return name.strip(), text if text.isascii() else os.fsencode(text)


def _env(value: str) -> tuple[str, str]:
    name, sep, rest = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {value!r}")
    return name, rest


def _callout(value: str) -> tuple[str, int, str]:
    cluster, sep, rest = value.rpartition("=")
    status, _, body = rest.partition(":")
    if not sep or not cluster or not status.isdigit():
        raise argparse.ArgumentTypeError(f"expected CLUSTER=STATUS[:BODY], got {value!r}")
    return cluster, int(status), body


def _now(value: str) -> int | None:
    try:
        return parse_now(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--now: ")) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-proxy-wasm", description="Test Proxy-Wasm plugins.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one request/response exchange through a module")
    run.add_argument("module", type=Path, help="the compiled plugin (.wasm), or WasmPlugin YAML (.yaml)")
    run.add_argument("--plugin-config", type=_text_or_file, default="", help="JSON text or @FILE")
    run.add_argument("--vm-config", type=_text_or_file, default="", help="JSON text or @FILE")
    run.add_argument("--env", type=_env, action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--root-id", default="")
    run.add_argument("--method", default="GET")
    run.add_argument("--path", default="/")
    run.add_argument(
        "--authority", default=None, help="the request's :authority (default example.com, or -H 'host: ...')"
    )
    run.add_argument("-H", "--header", type=_header, action="append", default=[], metavar="'name: value'")
    run.add_argument("--body", type=_text_or_file, default="", help="request body text or @FILE")
    run.add_argument("--upstream-status", type=int, default=200)
    run.add_argument("--upstream-header", type=_header, action="append", default=[], metavar="'name: value'")
    run.add_argument("--upstream-body", default="")
    run.add_argument(
        "--callout",
        type=_callout,
        action="append",
        default=[],
        metavar="CLUSTER=STATUS[:BODY]",
        help="answer HTTP callouts to CLUSTER",
    )
    run.add_argument("--now", type=_now, default=None, metavar="TIME",
                     help=f"start the emulator's clock here: {NOW_FORMATS}")  # fmt: skip
    run.add_argument("--advance-ms", type=float, default=0, help="virtual time to pass after the exchange")
    run.add_argument("--json", action="store_true", help="print the Outcome as JSON")
    run.add_argument(
        "--trace",
        action="store_true",
        help="trace every hostcall and callback of the exchange (docs/traces.md)",
    )
    run.add_argument(
        "--backend",
        choices=("emulator", "envoy", "diff"),
        default="emulator",
        help="run in the in-process emulator (default), a real Envoy, or both and compare",
    )
    istio_cli.add_run_options(run)
    coverage_cli.add_options(run, report_dir=True)
    istio_cli.add_subcommands(sub)
    check_cli.add_check_parser(sub)
    add_image_parser(sub)
    return parser


def _summary(outcome: Outcome, logs: list[LogRecord], trace: bool = False) -> str:
    lines = [f"status: {outcome.status}" + (" (local reply)" if outcome.local_reply else "")]
    lines += [f"  {k}: {v}" for k, v in outcome.response_headers]
    if outcome.response_body:
        lines.append("body: " + outcome.response_body.decode("utf-8", "replace"))
    up = outcome.upstream_request
    lines.append(f"upstream saw: {up.method} {up.path}" if up else "upstream saw: nothing")
    if up:
        lines += [f"  {k}: {v}" for k, v in up.headers]
    lines += [f"[{r.level_name}] {r.message}" for r in logs]
    if outcome.plugin_failed:
        lines.append(f"plugin failed: {outcome.plugin_failed}")
    lines += [f"diagnostic: {d}" for d in outcome.diagnostics]
    if trace and outcome.trace:  # diff mode traces for itself: printed only when asked (--trace)
        lines.append(f"trace ({outcome.backend}, {len(outcome.trace)} records):")
        lines += ["  " + line for line in render(outcome.trace)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    now = getattr(args, "now", None)
    trace = bool(getattr(args, "trace", False))
    options = HostOptions(trace=trace, start_time_ns=now)
    if now is not None and args.backend != "emulator":
        print("pytest-proxy-wasm: --now sets the emulator's clock; Envoy keeps its own", file=sys.stderr)
    collector = coverage_cli.run_collector(args)  # run --coverage (plugin_coverage)
    host = make_backend(args.backend, options=options, runtime=coverage_cli.instrumented_runtime(collector))
    try:
        for cluster, status, body in args.callout:
            host.expect_http_call(cluster).respond_with(status, body=body)
        plugin = (
            istio_cli.load_yaml(host, args)
            if istio_cli.is_yaml(args.module)
            else host.load_plugin(
                args.module,
                plugin_config=args.plugin_config,
                vm_config=args.vm_config,
                env=dict(args.env),
                root_id=args.root_id,
            )
        )
        outcome = host.request(
            plugin,
            method=args.method,
            path=args.path,
            authority=args.authority,
            headers=args.header,
            body=args.body,
            upstream_status=args.upstream_status,
            upstream_headers=args.upstream_header,
            upstream_body=args.upstream_body,
        )
        if args.advance_ms:
            host.advance(args.advance_ms)
        data = outcome.to_json()
        if not trace:
            data["trace"] = []
        plugin_logs = [r for r in host.logs if r.source != "host"]
        data["logs"] = [r.to_json() for r in plugin_logs]  # start-up logs too
        print(json.dumps(data, indent=2) if args.json else _summary(outcome, plugin_logs, trace))
    finally:
        host.close()
    coverage_cli.finish_run(collector, args)
    return 0


EXIT_MISMATCH = 3  # run --backend diff: the emulator and Envoy disagreed (README, "From the shell")


def _mismatch(exc: BackendMismatch, as_json: bool) -> int:
    """Print each differing field (no traceback) and return the mismatch exit status."""
    if as_json:
        data: dict[str, object] = {"backend_mismatch": exc.differences}
        if exc.divergence:
            data["divergence"] = exc.divergence
        print(json.dumps(data, indent=2))
    else:
        print("the emulator and Envoy disagree on this exchange:", file=sys.stderr)
        for difference in exc.differences:
            print(f"  {difference}", file=sys.stderr)
        if exc.divergence:
            print(exc.divergence, file=sys.stderr)
    return EXIT_MISMATCH


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args)) if hasattr(args, "handler") else run(args)
    except BackendMismatch as exc:
        return _mismatch(exc, bool(getattr(args, "json", False)))
    except ProxyWasmError as exc:
        print(f"pytest-proxy-wasm: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
