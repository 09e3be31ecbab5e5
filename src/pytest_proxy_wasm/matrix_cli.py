"""``check`` over a matrix: ``--envoy-version 1.36,1.40`` (or ``all``), ``--istio-version``, ``-n N``
(pytest-xdist workers) and ``--shard I/N`` (this CI job's share of the cases)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest


def add_matrix_options(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--envoy-version",
        default=os.environ.get("PYTEST_PROXY_WASM_ENVOY_VERSION", ""),
        metavar="VERSION,...",
        help="run the Envoy side (and the emulator) as these Envoy versions: 1.36,1.40 or all "
        "(default 1.40, the installed wheel); docs/backends.md 'Envoy versions'",
    )
    check.add_argument("-n", "--workers", type=int, default=0, metavar="N", help="run on N processes (xdist)")
    check.add_argument(
        "--shard",
        default="",
        metavar="I/N",
        help="run only shard I of N (deterministic); merge with report merge",
    )


def matrix_args(args: argparse.Namespace) -> list[str]:
    out: list[str] = []
    if getattr(args, "envoy_version", ""):
        out += ["--proxy-wasm-envoy-version", args.envoy_version]
    if getattr(args, "istio_explicit", False):
        major, minor = args.istio_version
        out += ["--proxy-wasm-istio-version", f"{major}.{minor}"]
    if getattr(args, "workers", 0):
        out += ["-n", str(args.workers)]
    else:
        out += ["-p", "no:xdist"]
    if getattr(args, "shard", ""):
        out += ["--proxy-wasm-shard", args.shard]
    return out


# -- the pytest side of --shard ---------------------------------------------------------------------------

_SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    match = _SHARD.match(text.strip())
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise pytest.UsageError(f"--proxy-wasm-shard {text!r}: expected I/N with 1 <= I <= N, e.g. 1/2")
    return int(match[1]), int(match[2])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("proxy-wasm").addoption(
        "--proxy-wasm-shard", default="", metavar="I/N", help="run only shard I of N of the collected tests"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Shard by position in a fixed order (module and version, then node id): every job sees the same
    order, so the shards partition it, and each module's cases alternate between shards (a heavy module
    is shared out rather than landing whole in one shard)."""
    text = str(config.getoption("--proxy-wasm-shard", default="") or "")
    if not text:
        return
    index, count = parse_shard(text)
    order = sorted(range(len(items)), key=lambda i: (_bracket(items[i].nodeid), items[i].nodeid))
    keep = {i for rank, i in enumerate(order) if rank % count == index - 1}
    deselected = [item for i, item in enumerate(items) if i not in keep]
    items[:] = [item for i, item in enumerate(items) if i in keep]
    config.hook.pytest_deselected(items=deselected)


def _bracket(nodeid: str) -> str:
    """``x.wasm@1.36`` of ``.../module::abi_marker[x.wasm@1.36]``."""
    return nodeid.rpartition("[")[2] if nodeid.endswith("]") else ""


# -- several modules: a directory, WasmPlugin YAML with several plugins -----------------------------------


def expand_directories(modules: list[Path]) -> list[Path]:
    """A directory stands for the ``*.wasm`` files in it (sorted); files are kept as given."""
    out: list[Path] = []
    for module in modules:
        out += sorted(module.glob("*.wasm")) if module.is_dir() else [module]
    return out


def several_wasmplugins(args: argparse.Namespace) -> list[str]:
    """The keys of the WasmPlugins to check one by one: a single YAML with several and no --wasmplugin."""
    from .istio.cli import is_yaml
    from .istio.validate import load_documents

    if args.wasmplugin or len(args.module) != 1 or not is_yaml(args.module[0]):
        return []
    keys = [p.key for p in load_documents(args.module[0]).plugins]
    return keys if len(keys) > 1 else []


def check_each(
    args: argparse.Namespace, keys: list[str], run_one: Callable[[argparse.Namespace], int]
) -> int:
    """Check each WasmPlugin with its own configuration, then merge the reports into one."""
    import copy
    import tempfile

    from .reports.merge import merge_main

    with tempfile.TemporaryDirectory(prefix="proxy-wasm-plugins-") as tmp:
        status, reports = 0, []
        for key in keys:
            one = copy.deepcopy(args)
            one.wasmplugin, one.report_dir = key, Path(tmp) / key.replace("/", ".")
            print(f"== WasmPlugin {key}", flush=True)
            status = max(status, run_one(one))
            if (one.report_dir / "run.json").exists():
                reports.append(str(one.report_dir / "run.json"))
        if args.report_dir is not None and reports:
            merge_main([*reports, "--report-dir", str(args.report_dir)])
    return status
