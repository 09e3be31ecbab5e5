"""``pytest-proxy-wasm run``: a scenario file (each step's outcome), and the options ``run MODULE``
shares with scenario files (a chain of modules, services, gRPC answers, direct responses)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..backends.base import Backend
from ..backends.outcome_diff import BackendMismatch
from ..host.abi.enums import FailurePolicy
from .host_settings import backend_skip_reason, scenario_host_options
from .loader import load_scenario
from .runner import run_scenario

EXIT_FAILED = 1  # a scenario expectation failed
EXIT_MISMATCH = 3  # diff mode: the emulator and Envoy disagreed
POLICIES = tuple(p.name for p in FailurePolicy)


def _direct_response(value: str) -> tuple[int, str]:
    status, _, body = value.partition(":")
    if not status.isdigit() or not 100 <= int(status) <= 999:
        raise argparse.ArgumentTypeError(f"expected STATUS[:BODY] with a 3-digit status, got {value!r}")
    return int(status), body


def _grpc_callout(value: str) -> tuple[str, int, str]:
    """``CLUSTER=STATUS[:MESSAGE]``, split on the first ``=`` (cluster names never contain one)."""
    cluster, sep, rest = value.partition("=")
    status, _, message = rest.partition(":")
    if not sep or not cluster or not status.isdigit() or int(status) > 16:
        raise argparse.ArgumentTypeError(
            f"expected CLUSTER=GRPC_STATUS[:MESSAGE] (status 0-16), got {value!r}"
        )
    return cluster, int(status), message


def add_run_options(run: argparse.ArgumentParser) -> None:
    """The options ``run MODULE`` takes besides the request's own (docs/scenarios.md, "run")."""
    run.add_argument("--vm-id", action="append", default=[], metavar="ID", help="per module, or one for all")
    run.add_argument(
        "--failure-policy",
        action="append",
        default=[],
        choices=POLICIES,
        help="per module, or one for all (default FAIL_CLOSED)",
    )
    run.add_argument(
        "--scheme",
        default="http",
        help="the request's :scheme (default http; Envoy's plain HTTP/1.1 listener here always sets http)",
    )
    run.add_argument(
        "--direct-response",
        type=_direct_response,
        default=None,
        metavar="STATUS[:BODY]",
        help="route to Envoy's direct_response instead of the upstream",
    )
    run.add_argument(
        "--service",
        type=Path,
        action="append",
        default=[],
        metavar="MODULE",
        help="start MODULE as a singleton envoy.bootstrap.wasm service (repeatable)",
    )
    run.add_argument(
        "--save-scenario",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write this exchange as a scenario file, expecting what it observed (docs/scenarios.md)",
    )
    run.add_argument(
        "--grpc-callout",
        type=_grpc_callout,
        action="append",
        default=[],
        metavar="CLUSTER=STATUS[:MESSAGE]",
        help="answer gRPC calls to CLUSTER: status 0 with MESSAGE as the reply, or a failing status",
    )


def per_module(values: list[Any], count: int, option: str, default: Any) -> list[Any]:
    """One value for every module, or one per module in order."""
    if not values:
        return [default] * count
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise SystemExit(
            f"pytest-proxy-wasm run: {option} given {len(values)} times for {count} modules "
            "(give it once for all, or once per module)"
        )
    return values


def declare(backend: Backend, args: argparse.Namespace) -> None:
    """Callout answers and services, before the chain starts (plugins may call out on configure)."""
    for cluster, status, body in args.callout:
        backend.expect_http_call(cluster).respond_with(status, body=body)
    for cluster, status, message in args.grpc_callout:
        expectation = backend.expect_grpc_call(cluster)
        if status == 0:
            expectation.respond_with(message.encode())
        else:
            expectation.fail(status=status, **({"message": message} if message else {}))
    for service in args.service:
        backend.load_service(service)


def load_chain(backend: Backend, args: argparse.Namespace) -> list[Any]:
    modules: list[Path] = args.module
    count = len(modules)
    configs = per_module(args.plugin_config, count, "--plugin-config", "")
    vm_configs = per_module(args.vm_config, count, "--vm-config", "")
    root_ids = per_module(args.root_id, count, "--root-id", "")
    vm_ids = per_module(args.vm_id, count, "--vm-id", "")
    policies = per_module(args.failure_policy, count, "--failure-policy", "FAIL_CLOSED")
    return [
        backend.load_plugin(
            module,
            plugin_config=configs[i],
            vm_config=vm_configs[i],
            env=dict(args.env),
            root_id=root_ids[i],
            vm_id=vm_ids[i],
            failure_policy=policies[i],
        )
        for i, module in enumerate(modules)
    ]


def is_scenario(path: Path) -> bool:
    """A scenario file: ``*.proxywasm.yaml``, or YAML whose one document has top-level ``steps``."""
    if path.name.endswith((".proxywasm.yaml", ".proxywasm.yml")):
        return True
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the WasmPlugin path reports it
    return len(documents) == 1 and isinstance(documents[0], dict) and "steps" in documents[0]


def run_file(args: argparse.Namespace, make_backend: Callable[..., Backend], options: Any) -> int:
    """``run SCENARIO.yaml``: each step's outcome; exit 1 when an expectation fails, 3 on a diff
    mismatch, 2 when the scenario or a module cannot be loaded (raised as ``ProxyWasmError``)."""
    if len(args.module) > 1:
        raise SystemExit("pytest-proxy-wasm run: a scenario file runs alone (one path)")
    scenario = load_scenario(args.module[0])
    skip = backend_skip_reason(scenario, args.backend)
    if skip:
        print(f"skipped: {skip}", file=sys.stderr)
        return 0
    options = scenario_host_options(scenario, options)  # the file's now, client address, platform
    backend = make_backend(args.backend, options=options)
    try:
        result = run_scenario(scenario, backend)
    finally:
        backend.close()
    print(json.dumps(result.to_json(), indent=2) if args.json else result.report(verbose=args.verbose))
    if result.passed:
        return 0
    return EXIT_MISMATCH if any(s.mismatch for s in result.steps) else EXIT_FAILED


__all__ = ["BackendMismatch", "add_run_options", "declare", "is_scenario", "load_chain", "run_file"]
