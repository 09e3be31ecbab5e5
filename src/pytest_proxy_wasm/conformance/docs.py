"""Generate ``docs/conformance.md`` from the case records:
``python -m pytest_proxy_wasm.conformance.docs > docs/conformance.md`` (a test fails when it is stale)."""

from __future__ import annotations

import sys

from .cases import ALL_ABIS, AREAS, KINDS, REGISTRY
from .registry import load_cases
from .verdicts import load_samples, samples_table

_HEAD = """# The conformance suite

`pytest-proxy-wasm check MODULE.wasm` runs these cases on any compiled Proxy-Wasm module, knowing
nothing about what it does. The same suite runs inside any pytest session with
`pytest --proxy-wasm-module MODULE.wasm --proxy-wasm-conformance` (add `--proxy-wasm-select AREA,...`).

Generated from the case records in `src/pytest_proxy_wasm/conformance/` by
`python -m pytest_proxy_wasm.conformance.docs > docs/conformance.md`; a test fails when it is stale.

Cases marked `emulator` run in-process whatever `--backend` says; `differential` needs
`--backend diff` and `performance.envoy_latency` needs `--backend envoy` (skipped otherwise).

## Classification first

Before any case runs, the module is classified (`conformance/classify.py`): its exported callbacks and
imports are read, then it is started in a fresh host and sent one HTTP request and one TCP connection
(`host.connect`) to see which stream contexts its root creates (or whether the SDK aborts). The kind
decides what runs; the classification heads the terminal output and is stored in every case record
under `classification` (a JSON dict: `kind`, `abi`, `callbacks`, `imports`, `contexts`, `timer_ms`,
`reason`).

| kind | what runs |
|---|---|
| `http_filter` | every area but `tcp_robustness` and `service`; no `*.tcp_*` case |
| `network_filter` | `module`, `lifecycle`, `tcp_robustness`, the `*.tcp_*` cases of other areas |
| `service` | `module`, `lifecycle`, `service` (ticks, queues, shared data, reload) |
| `unknown` | everything: the `module.*`/`lifecycle.*` case saying why it does not start fails |

Cases that do not apply are skipped with the reason. `check --kind http|network|service` checks the
module as that kind instead; a module with no HTTP context checked as an HTTP filter then gets exactly
one finding, `lifecycle.http_context` (verified on Envoy 1.40: the Rust SDK's network filter in an HTTP
chain fails the VM on the first request, and Envoy answers 503 `wasm_fail_stream` to every request).

## Severity and assumptions

Each case says what it assumes about the platform, and has a severity: `fail` for what breaks traffic
on Envoy with its defaults, `warn` for what only a non-default platform input triggers (for example a
binary or malformed plugin configuration, which Istio's JSON `pluginConfig` never sends). A warning
never fails the verdict: the case passes and the finding is kept in its details under `warning` (and
listed after the run). A failure in a callout-answer callback (`proxy_on_http_call_response`, gRPC)
on the check's stand-in answer (every cluster answers 200 `ok`) is also only a warning: on Envoy the
cluster may not exist or answers something else.

## Verdict rules

* **Leaks** (`resources.memory_bounded`, `conformance/leaks.py`): memory is sampled every 100 requests
  and judged per window of 500. Garbage-collected runtimes grow linear memory in steps while their heap
  warms up (Go: 3.4 → 8.4 MB over the first few thousand requests, then flat): once two windows in a
  row stay flat the case passes. A leak must grow in every window of the second half of 6000 requests,
  without slowing down, at 128 bytes per request or more. The memory curve is in the details.
* **Determinism** (`isolation.*`, `failure_policy.neighbour_fail_open`): runs are compared only between
  fresh hosts with the same random seed and clock. On a difference, the comparison is repeated with
  seeds 1-5: when the same request on fresh hosts answers differently per seed (a plugin routing on a
  random draw), or the other run matches the baseline under another seed, the case is not applicable,
  with that reason. Only a difference under every seed is a finding.
* **Hangs**: a stream that never completes is reported as hung, naming the plugin and the callback it
  is stuck in and what it waits for (pending events, callouts answered or not), never as `status None`.
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
  string_headers.wasm:            # file name, glob, or the module's sha256
    "http_robustness.header_maps": "panics on a non-UTF-8 header value (String API)"
```

Each listed case is a strict xfail: it must fail, and an unexpected pass fails the check. List only
real findings there: the shipped `fixtures/expectations/*.yaml` do.

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
            "| case | checks | rule | why | assumes | severity | kinds | ABI | backends |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for c in cases:
            abis = "all" if len(c.abi_versions) == len(ALL_ABIS) else ", ".join(c.abi_versions)
            kinds = "all" if set(c.kinds) == set(KINDS) else ", ".join(c.kinds)
            lines.append(
                f"| `{c.id}` | {c.title} | {c.rule.replace('|', '/')} | {c.why} | {c.assumes or '-'} | "
                f"{c.severity} | {kinds} | {abis} | {', '.join(c.backends)} |"
            )
        lines.append("")
    lines += [
        "## Samples and their verdicts",
        "",
        "Each class of module the suite must judge right, as a sample under `fixtures/` (sources in",
        "`plugins_under_test/`), with the cases its verdict rests on (`--seed 1`). Generated from",
        "`docs/conformance-samples.json`, which `tests/conformance/test_samples.py` rebuilds and compares",
        "(`python -m pytest_proxy_wasm.conformance.docs --samples` rewrites it).",
        "",
        *samples_table(load_samples()),
        "",
    ]
    return "\n".join(lines) + _TAIL


if __name__ == "__main__":
    if "--samples" in sys.argv[1:]:
        from ..host.runtime import Runtime
        from .verdicts import ROOT, write_samples

        write_samples(Runtime(), ROOT / "fixtures")
    sys.stdout.write(render())
