"""Does coverage guidance reach more code at the same example budget? (issue 23, docs/coverage.md)

For each module and seed: the standard requests (the fixed baseline), then
``http_robustness.generated_exchanges`` with ``--examples`` generated requests in each mode: ``off``
(unguided, the draws of a run without coverage), ``strings`` (module strings: ``--coverage-guidance on``),
``strings+corpus+target`` (``--coverage-guidance target``), or any ``+`` mix of ``strings``, ``corpus``,
``target`` and a score of ``plugin_coverage/guided.py`` (``beyond``, ``new``, ``reached``). Prints the
counters (blocks, function entries) and the own lines (or functions) the generated requests reached
beyond the baseline, per seed and the mean.

Run: ``python benchmarks/coverage_guidance.py [--examples 25] [--seeds 1-10] [--modes off,strings]
[MODULE ...]`` (fixtures/ paths)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from pytest_proxy_wasm.conformance.cases import STREAM_THREAD_ONLY, CaseRun, Target
from pytest_proxy_wasm.conformance.http_robustness import generated_exchanges
from pytest_proxy_wasm.conformance.support import STANDARD_REQUESTS, request
from pytest_proxy_wasm.host.runtime import Runtime, _default_cache_dir
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.guided import SCORES, GuidedCoverage, attach
from pytest_proxy_wasm.plugin_coverage.guided_report import generated_section

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEFAULT_MODULES = ("c/c_guided.wasm", "c/c_coverage.wasm", "rust/headers_debug.wasm", "go/bot_detect.wasm")
MODES = ("off", "strings", "strings+corpus+target")


def beyond(module: Path, seed: int, examples: int, mode: str) -> tuple[int, int]:
    """(counters, own lines or functions) the generated requests reached beyond the standard ones."""
    runtime = Runtime()  # a fresh session: its own collector (both caches on disk)
    collector = CoverageCollector(_default_cache_dir())
    runtime.coverage = collector
    parts = mode.split("+")
    guided = GuidedCoverage(
        guide=mode != "off",
        dictionary="strings" in parts,
        corpus="corpus" in parts,
        target="target" in parts or any(p in SCORES for p in parts),
        score=next((p for p in parts if p in SCORES), "beyond"),
    )
    attach(collector, guided)
    target = Target(module=module, seed=seed, max_examples=examples)
    fixed = CaseRun(target, runtime)
    for fixed_request in STANDARD_REQUESTS:
        host, plugin = fixed.started(**STREAM_THREAD_ONLY)
        request(host, plugin, **fixed_request)
        fixed.close()
    generated = CaseRun(target, runtime)
    with contextlib.suppress(AssertionError):  # a finding: what the examples reached still counts
        generated_exchanges(generated)
    generated.close()
    [entry] = generated_section(collector, guided)["modules"]
    runtime.close()
    return entry["counters"]["generated_beyond_fixed"], entry["own"]["generated_beyond_fixed"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES)
    parser.add_argument("--examples", type=int, default=25)
    parser.add_argument("--seeds", default="1-10", help="FIRST-LAST")
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args(argv)
    first, last = (int(n) for n in args.seeds.split("-"))
    modes = args.modes.split(",")
    print(f"examples {args.examples}, seeds {first}-{last}; counters/own units beyond the standard requests")
    for name in args.modules:
        totals = {mode: [0, 0] for mode in modes}
        for seed in range(first, last + 1):
            row = []
            for mode in modes:
                counters, own = beyond(FIXTURES / name, seed, args.examples, mode)
                totals[mode][0] += counters
                totals[mode][1] += own
                row.append(f"{mode} {counters}/{own}")
            print(f"  {name} seed {seed}: " + ", ".join(row), flush=True)
        seeds = last - first + 1
        summary = ", ".join(f"{m} {c / seeds:.1f}/{o / seeds:.1f}" for m, (c, o) in totals.items())
        print(f"{name} mean: {summary}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
