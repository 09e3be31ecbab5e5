"""Every conformance sample's verdicts with and without plugin coverage, compared (issue 23).

Run: ``python benchmarks/coverage_verdicts.py`` (minutes: every sample twice). Prints each sample's
verdict and the time both ways; exits 1 when a verdict, a case outcome or a message differs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from pytest_proxy_wasm.conformance.verdicts import SAMPLES, sample_verdict
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _comparable(verdict: dict[str, Any]) -> dict[str, Any]:
    cases = {c: (r["outcome"], r.get("message", "")) for c, r in verdict["cases"].items()}
    return {"verdict": verdict["verdict"], "kind": verdict["kind"], "cases": cases}


def main() -> int:
    plain, covered = Runtime(None), Runtime(None)
    covered.coverage = CoverageCollector(None)
    differing = 0
    for sample in SAMPLES:
        if not (FIXTURES / sample.module).exists():
            continue
        started = time.perf_counter()
        without = _comparable(sample_verdict(sample, plain, FIXTURES))
        middle = time.perf_counter()
        with_coverage = _comparable(sample_verdict(sample, covered, FIXTURES))
        ended = time.perf_counter()
        same = without == with_coverage
        differing += not same
        print(f"{sample.module:40} {without['verdict']:5} {'same' if same else 'DIFFERENT'} "
              f"plain {middle - started:6.1f} s, coverage {ended - middle:6.1f} s", flush=True)  # fmt: skip
        if not same:
            for case in sorted(set(without["cases"]) | set(with_coverage["cases"])):
                a, b = without["cases"].get(case), with_coverage["cases"].get(case)
                if a != b:
                    print(f"    {case}: {a} / {b}")
    print(f"{differing} sample(s) differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
