"""Generate ``docs/conformance.md`` from the case records:
``python -m pytest_proxy_wasm.conformance.docs > docs/conformance.md`` (a test fails when it is stale)."""

from __future__ import annotations

import sys

from .cases import AREAS, REGISTRY
from .registry import load_cases

_HEAD = """# The conformance suite

`pytest-proxy-wasm check MODULE.wasm` runs these cases on any compiled Proxy-Wasm module, knowing
nothing about what it does. The same suite runs inside any pytest session with
`pytest --proxy-wasm-module MODULE.wasm --proxy-wasm-conformance` (add `--proxy-wasm-select AREA,...`).

Generated from the case records in `src/pytest_proxy_wasm/conformance/` by
`python -m pytest_proxy_wasm.conformance.docs > docs/conformance.md`; a test fails when it is stale.

Cases marked `emulator` run in-process whatever `--backend` says; `differential` needs
`--backend diff` and `performance.envoy_latency` needs `--backend envoy` (skipped otherwise).
"""

_TAIL = """
## Reading the report

`--report-dir DIR` writes `run.json` (schema `reports/schemas/run-v2.schema.json`, `schema_version` 2),
`run.html` (self-contained: no network), `summary.md` and `junit.xml` (pytest's JUnit with the
module sha256, ABI and backend as properties). `pytest-proxy-wasm report DIR/run.json --html out.html`
re-renders a saved run.

* **Verdict**: FAIL when any case failed, or a case listed as an expected failure passed.
* **Outcomes**: `passed`; `failed` (the module broke the rule; the message says how and the rule is
  quoted); `xfailed` (failed as the expectations file says); `xpassed` (listed as failing but passed:
  update the expectations file); `skipped` (not applicable, with the reason: e.g. the module does not
  load, so every later case depends on the failing `module.*` case).
* **Generated requests** (`http_robustness.*`): the seed, the number of examples and the shrunk
  minimal failing request are in the case details; rerun with `--seed N` to reproduce.
* **Evidence** (every finding): the minimal input (bytes as `b"\\x80"`), the failed callback and trap,
  the plugin's panic/error lines; with `--backend envoy|diff`, "confirmed on Envoy 1.40" or "emulator
  only" after replaying the input on Envoy. `check --request 'GET /v2/'` / `--requests FILE` add your
  own requests (see the README).
* **Hostcall coverage**: which hostcalls and callbacks the module used during the run and how often,
  and which imported hostcalls / exported callbacks were never reached.
* **Performance**: mean and p95 wall time per callback, mean callback time per request and linear
  memory per open stream, and wasmtime fuel per request (from a fuel-metering runtime).
  `--budget request_us=200 --budget callback_us=100 --budget context_bytes=4096` fails
  `performance.*` cases above those limits.

## Expected failures

`--expect FILE` (YAML or JSON, repeatable) lists per module the cases known to fail:

```yaml
modules:
  tcp.wasm:                       # file name, glob, or the module's sha256
    "http_robustness.*": "network filter: the SDK aborts on HTTP callbacks"
```

Each listed case is a strict xfail: it must fail, and an unexpected pass fails the check.

## Exit codes

| code | meaning |
|---|---|
| 0 | every case passed, was skipped as not applicable, or failed as expected |
| 1 | a case failed, or an expected failure passed |
| 2 | interrupted (or `report` could not read the run) |
| 3 | internal error |
| 4 | usage error: bad option, missing module, unreadable expectations file |
| 5 | no case selected (`--select` matched nothing) |

## GitHub Actions

```yaml
jobs:
  proxy-wasm-conformance:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {python-version: "3.12"}
      - run: pip install pytest-proxy-wasm
      # build your plugin here, e.g. cargo build --target wasm32-wasip1 --release
      - run: >
          pytest-proxy-wasm check target/wasm32-wasip1/release/my_plugin.wasm
          --plugin-config @config.json --expect conformance-expectations.yaml
          --report-dir reports/
      - if: always()
        uses: actions/upload-artifact@v4
        with: {name: conformance-report, path: reports/}
```

The Markdown summary is appended to `$GITHUB_STEP_SUMMARY` automatically when that variable is set.
"""


def render() -> str:
    load_cases()
    lines = [_HEAD]
    for area in AREAS:
        cases = [c for c in REGISTRY.values() if c.area == area]
        lines += [
            f"## {area}",
            "",
            "| case | checks | rule | why | ABI | backends |",
            "|---|---|---|---|---|---|",
        ]
        for c in cases:
            abis = "all" if len(c.abi_versions) == 3 else ", ".join(c.abi_versions)
            lines.append(
                f"| `{c.id}` | {c.title} | {c.rule.replace('|', '/')} | {c.why} | {abis} | "
                f"{', '.join(c.backends)} |"
            )
        lines.append("")
    return "\n".join(lines) + _TAIL


if __name__ == "__main__":
    sys.stdout.write(render())
