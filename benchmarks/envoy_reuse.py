"""Envoy per test versus one Envoy reused across tests (issue 27 item 5).

    python benchmarks/envoy_reuse.py [MODULE] [TESTS]

Writes a test file of TESTS tests (default 6), each loading MODULE (default the 3.4 MB Go sample
``fixtures/go/shared_state.wasm``) with the same configuration and sending one request through it on
``--proxy-wasm-backend envoy``, and runs it three ways in a child pytest: each test with its own Envoy
(the default), with ``--proxy-wasm-reuse-envoy``, and with a module-scoped backend fixture (the pattern
docs/backends.md shows). Prints wall-clock seconds of each run and how many Envoy processes served
the tests, as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODULE = ROOT / "fixtures" / "go" / "shared_state.wasm"

PER_TEST = """
import json, os

def test_{index}(proxy_wasm_backend):
    plugin = proxy_wasm_backend.load_plugin({module!r})
    assert proxy_wasm_backend.request(plugin).status == 200
    with open(os.environ["STARTS_FILE"], "a") as out:
        out.write(json.dumps(proxy_wasm_backend.process.process.pid) + "\\n")
"""

MODULE_SCOPED = """
import json, os
import pytest
from pytest_proxy_wasm.backends import make_backend

@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    backend = make_backend("envoy", workdir=tmp_path_factory.mktemp("envoy"))
    plugin = backend.load_plugin({module!r})
    yield backend, plugin
    backend.close()
"""

MODULE_SCOPED_TEST = """
def test_{index}(shared):
    backend, plugin = shared
    assert backend.request(plugin).status == 200
    with open(os.environ["STARTS_FILE"], "a") as out:
        out.write(json.dumps(backend.process.process.pid) + "\\n")
"""


def run(directory: Path, code: str, *extra: str) -> dict[str, float | int]:
    test_file = directory / "test_bench.py"
    test_file.write_text(code)
    starts_file = directory / "starts.jsonl"
    starts_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
    began = time.perf_counter()
    done = subprocess.run(
        [*command, str(test_file), "--proxy-wasm-backend", "envoy", *extra],
        cwd=directory,
        capture_output=True,
        text=True,
        env={**os.environ, "STARTS_FILE": str(starts_file)},
        check=False,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"the benchmark's tests failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    pids = [json.loads(line) for line in starts_file.read_text().splitlines()]
    return {"seconds": round(seconds, 2), "tests": len(pids), "envoy_processes": len(set(pids))}


def main() -> None:
    module = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_MODULE
    tests = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    per_test = "".join(PER_TEST.format(index=i, module=str(module)) for i in range(tests))
    scoped = MODULE_SCOPED.format(module=str(module)) + "".join(
        MODULE_SCOPED_TEST.format(index=i) for i in range(tests)
    )
    with tempfile.TemporaryDirectory(prefix="pytest-proxy-wasm-reuse-") as tmp:
        directory = Path(tmp)
        report = {
            "module": str(module.relative_to(ROOT) if module.is_relative_to(ROOT) else module),
            "module_bytes": module.stat().st_size,
            "envoy_per_test": run(directory, per_test),
            "reuse_envoy": run(directory, per_test, "--proxy-wasm-reuse-envoy"),
            "module_scoped_backend": run(directory, scoped),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
