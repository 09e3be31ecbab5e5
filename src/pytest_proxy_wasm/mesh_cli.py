"""``run``/``check`` options for where a plugin runs: ``--platform``/``--redis`` (Higress) and ``--profile``
(an Istio placement)."""

from __future__ import annotations

import argparse
from typing import Any

from .host.platforms import PLATFORMS
from .istio.profiles import PROFILES, profile_for_workload


def _redis_answer(value: str) -> tuple[str, str | int]:
    cluster, sep, answer = value.rpartition("=")
    if not sep or not cluster:
        raise argparse.ArgumentTypeError(f"expected CLUSTER=ANSWER, got {value!r}")
    return cluster, int(answer) if answer.lstrip("-").isdigit() else answer


def add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--platform",
        choices=PLATFORMS,
        default="envoy",
        help="envoy (default) or higress: accept the proxy_abi_version_0_2_100 marker and Redis calls",
    )
    run.add_argument(
        "--redis",
        type=_redis_answer,
        action="append",
        default=[],
        metavar="CLUSTER=ANSWER",
        help="answer Redis calls to CLUSTER (an integer answers :N, anything else a bulk string)",
    )
    add_profile_option(run)


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default="",
        help="place the plugin as Istio does: xds.* properties, path normalization, remote address",
    )


def add_check_options(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--platform", choices=PLATFORMS, default="envoy", help="envoy (default) or higress (as for run)"
    )
    add_profile_option(check)


def host_options(args: argparse.Namespace) -> dict[str, Any]:
    """The HostOptions fields these options set. ``run plugins.yaml --workload kind=...`` without
    ``--profile`` takes the workload's profile (istio/profiles.py ``profile_for_workload``)."""
    from .istio.workload import Workload

    profile = getattr(args, "profile", "")
    workload = getattr(args, "workload", None)
    if not profile and isinstance(workload, Workload) and workload != Workload():
        profile = profile_for_workload(workload)
    return {"platform": getattr(args, "platform", "envoy"), "profile": profile}


def declare(host: Any, args: argparse.Namespace) -> None:
    """Declare the ``--redis`` answers (only the emulator has Redis calls)."""
    for cluster, answer in getattr(args, "redis", []):
        if not hasattr(host, "expect_redis_call"):
            raise SystemExit(f"--redis needs the emulator backend (with --platform higress), not {host.name}")
        host.add_redis_cluster(cluster)
        host.expect_redis_call(cluster).respond_with(answer)


def pytest_args(args: argparse.Namespace) -> list[str]:
    """The ``check`` options as pytest options of the conformance run."""
    out = ["--proxy-wasm-platform", getattr(args, "platform", "envoy")]
    return out + (["--proxy-wasm-profile", args.profile] if getattr(args, "profile", "") else [])
