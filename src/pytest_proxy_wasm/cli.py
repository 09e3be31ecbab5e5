"""The ``pytest-proxy-wasm`` command: ``run`` one exchange through a module and print the Outcome."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import check_cli, mesh_cli
from .backends import BackendMismatch, make_backend
from .backends.envoy.faults import EnvoyFault
from .backends.envoy.image import add_image_parser
from .cli_types import text_or_file as _text_or_file
from .client_address_cli import add_client_address_arguments, client_address_options
from .compare.cli import add_compare_parser
from .errors import ProxyWasmError
from .host.clock_start import NOW_FORMATS, parse_now
from .host.options import HostOptions
from .host.proxy_crash import ProxyCrash
from .host.trace import render
from .istio import cli as istio_cli
from .outcome import LogRecord, Outcome
from .plugin_coverage import cli_options as coverage_cli
from .plugin_coverage import scenario_runs as coverage_scenarios
from .scenarios import command as scenario_command
from .traffic.cli import add_import_parser


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
    # The first "=": cluster names never contain one, bodies often do (issue 20).
    cluster, sep, rest = value.partition("=")
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
    run.add_argument(
        "module",
        type=Path,
        nargs="+",
        help="the compiled plugin (.wasm; several: a chain, in order), WasmPlugin YAML (.yaml), or a "
        "scenario file (*.proxywasm.yaml, docs/scenarios.md)",
    )
    run.add_argument(
        "--plugin-config",
        type=_text_or_file,
        action="append",
        default=[],
        help="JSON text or @FILE (per module, or one for all)",
    )
    run.add_argument(
        "--vm-config",
        type=_text_or_file,
        action="append",
        default=[],
        help="JSON text or @FILE (per module, or one for all)",
    )
    run.add_argument("--env", type=_env, action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--root-id", action="append", default=[], help="per module, or one for all")
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
    run.add_argument("-v", "--verbose", action="store_true", help="a scenario: every checked field")
    scenario_command.add_run_options(run)
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
    add_client_address_arguments(run)
    run.add_argument(
        "--envoy-version",
        default=os.environ.get("PYTEST_PROXY_WASM_ENVOY_VERSION", ""),
        metavar="VERSION",
        help="the Envoy to run and follow: 1.36, 1.36.2, ... (default 1.40; docs/backends.md)",
    )
    istio_cli.add_run_options(run)
    mesh_cli.add_run_options(run)
    coverage_cli.add_options(run, report_dir=True)
    istio_cli.add_subcommands(sub)
    check_cli.add_check_parser(sub)
    add_image_parser(sub)
    add_compare_parser(sub)
    add_import_parser(sub)
    return parser


def _summary(outcome: Outcome, logs: list[LogRecord], trace: bool = False) -> str:
    lines = [f"status: {outcome.status}" + (" (local reply)" if outcome.local_reply else "")]
    lines += [f"  {k}: {v}" for k, v in outcome.response_headers]
    if outcome.response_body:
        lines.append("body: " + outcome.response_body.decode("utf-8", "replace"))
    up = outcome.upstream_request
    reset = " (then reset: the request was incomplete)" if up and up.reset else ""
    lines.append(f"upstream saw: {up.method} {up.path}{reset}" if up else "upstream saw: nothing")
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
    version = run_version(args)
    try:
        options = HostOptions(
            trace=trace, start_time_ns=now, **client_address_options(args), **mesh_cli.host_options(args)
        )
        options.client_defaults()  # a bad peer address or setting: a one-line usage error
    except ValueError as exc:
        print(f"pytest-proxy-wasm run: {exc}", file=sys.stderr)
        return 2
    if now is not None and args.backend != "emulator":
        print("pytest-proxy-wasm: --now sets the emulator's clock; Envoy keeps its own", file=sys.stderr)
    if scenario_command.is_scenario(args.module[0]):
        return coverage_scenarios.run_file(args, make_backend, options)  # --coverage: instrumented
    collector = coverage_cli.run_collector(args)  # run --coverage (plugin_coverage)
    runtime = coverage_cli.instrumented_runtime(collector)
    host = make_backend(args.backend, options=options, envoy_version=version, runtime=runtime)
    try:
        mesh_cli.declare(host, args)
        scenario_command.declare(host, args)  # callout answers and services first
        plugin = (
            istio_cli.load_yaml(host, argparse.Namespace(**{**vars(args), "module": args.module[0]}))
            if istio_cli.is_yaml(args.module[0])
            else scenario_command.load_chain(host, args)
        )
        outcome = host.request(
            plugin,
            method=args.method,
            path=args.path,
            authority=args.authority,
            scheme=args.scheme,
            direct_response=args.direct_response,
            headers=args.header,
            body=args.body,
            upstream_status=args.upstream_status,
            upstream_headers=args.upstream_header,
            upstream_body=args.upstream_body,
        )
        if args.advance_ms:
            host.advance(args.advance_ms)
        if args.save_scenario is not None:
            from .scenarios.from_run import save_scenario

            save_scenario(args, outcome)
        data = outcome.to_json()
        if not trace:
            data["trace"] = []
        plugin_logs = [r for r in host.logs if r.source != "host"]
        data["logs"] = [r.to_json() for r in plugin_logs]  # start-up logs too
        data["envoy_version"] = version_label(version)
        if version or args.backend != "emulator":  # the Envoy run (or followed), said once
            print(f"Envoy version: {data['envoy_version']}", file=sys.stderr)
        print(json.dumps(data, indent=2) if args.json else _summary(outcome, plugin_logs, trace))
    finally:
        host.close()
    coverage_cli.finish_run(collector, args)
    return 0


def run_version(args: argparse.Namespace) -> str | None:
    """The one Envoy version ``run`` uses (``--envoy-version`` or ``--istio-version``), or None."""
    from .backends.envoy.versions import EnvoyVersionError, split_versions

    versions = split_versions(args.envoy_version or None, istio_asked(args))
    if len(versions) > 1:
        raise EnvoyVersionError(f"run takes one Envoy version, got {', '.join(versions)} (check: several)")
    return versions[0] if versions else None


def istio_asked(args: argparse.Namespace) -> str | None:
    """``--istio-version`` when given on the command line (it then also picks that Istio's Envoy)."""
    if not getattr(args, "istio_explicit", False):
        return None
    major, minor = args.istio_version
    return f"{major}.{minor}"


def version_label(version: str | None) -> str:
    """``1.36.4`` for ``1.36``; the installed wheel's version when none was asked."""
    from .backends.envoy.versions import DEFAULT_VERSION, installed_version, resolve

    return resolve(version) if version else (installed_version() or DEFAULT_VERSION)


EXIT_MISMATCH = 3  # run --backend diff: the emulator and Envoy disagreed (README, "From the shell")
EXIT_PROXY_FAULT = 4  # Envoy exited, hung or refused, or the emulator says the plugin crashes Envoy


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
    given = sys.argv[1:] if argv is None else list(argv)
    if given[:2] == ["report", "merge"]:  # report merge SHARD.json... --report-dir DIR
        from .reports.merge import merge_main

        return merge_main(given[2:])
    args = build_parser().parse_args(argv)
    args.istio_explicit = any(a == "--istio-version" or a.startswith("--istio-version=") for a in given)
    try:
        status = int(args.handler(args)) if hasattr(args, "handler") else run(args)
        sys.stdout.flush()  # a closed pipe shows here, not as "Exception ignored" at exit
        return status
    except BrokenPipeError:
        return _reader_went_away()
    except BackendMismatch as exc:
        return _mismatch(exc, bool(getattr(args, "json", False)))
    except (EnvoyFault, ProxyCrash) as exc:
        print(f"pytest-proxy-wasm: {exc}", file=sys.stderr)
        return EXIT_PROXY_FAULT
    except ProxyWasmError as exc:
        print(f"pytest-proxy-wasm: {exc}", file=sys.stderr)
        return 2


def _reader_went_away() -> int:
    """stdout's reader closed early (``run ... | head``): no traceback; what is left unwritten goes to
    /dev/null so the interpreter's final flush cannot fail again (the Python docs' recipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 1


if __name__ == "__main__":
    sys.exit(main())
