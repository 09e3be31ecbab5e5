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
never fails the verdict: the case's outcome is `warned` (severity `warn`), with the finding in its
`warning` field; every output counts it (`counts.warned` in `run.json`, `N warned` in the terminal, the
HTML header and the Markdown summary, `outcome=warned` and `warning` properties in JUnit).
`module.hostcall_misuse` warns this way (and also emits a `MisuseWarning`) unless `--strict` is given.
A failure in a callout-answer callback (`proxy_on_http_call_response`, gRPC) on the check's stand-in
answer (every cluster answers 200 `ok`) is also only a warning: on Envoy the
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
* **One cause, one finding** (`conformance/causes.py`): cases run area by area in the order above
  (`module` first). The first case that fails on a root cause is the finding; a later case of the same
  module failing on the same cause is `blocked` by it, not failed: its own check could not run past
  the cause, and its message says so (`blocked by http_robustness.generated_exchanges (the stream
  hangs: ...): this case's own check (...) could not run past it`). The cause is the failed callback
  with its trap kind and panic message (numbers folded: `index out of range [5]` and `[7]` are one
  cause; source locations such as `lib.rs:12:5` kept), or, for a hang, the callback the stream is
  stuck in and how (`paused` after `StopIteration`, `buffering`). Other failures (different answers, a
  memory curve) are never grouped. The finding lists the cases it blocked (`blocks`); only the finding
  is replayed on Envoy. Under pytest-xdist the run model groups the workers' cases again.
* **Hangs on Envoy**: with `--backend envoy|diff` a finding whose input hung on the emulator is sent to
  a fresh Envoy, which gets 5 s to answer; no answer confirms it: "confirmed: Envoy 1.40 did not answer
  within 5 s" (Envoy itself would wait for the client, or its 5-minute stream idle timeout). In
  `differential.generated_requests` a request that hangs on the emulator waits 5 s for Envoy once;
  later hanging requests are not sent to Envoy (`details.hung_on_both`), and when every request hung
  the case could compare nothing: it fails on the hang, so it is blocked by the hang's finding.
"""

_TAIL = """
## Harness faults

A fault on our side while a case runs (a Python exception in a case, in a hostcall, or while probing
the module) is never counted as a finding about the plugin. The case's outcome is `error`, its record
has `harness_fault` (the exception and the line of pytest-proxy-wasm it came from), the run's verdict is
`error`, a "proxy-wasm harness faults (exit 3)" section lists them, and `check` exits 3. Please report
it. Bad inputs are refused before the suite starts, naming the option, file, entry and field (exit 4):
`only-path.yaml: requests[1].path: missing`, `--plugin-config @cfg.json: cannot read cfg.json`.

## Gateway samples, client address and request attributes

`go/ip_allow.wasm` (an allow-list on `source.address`), `go/body_validator.wasm` (403 from
`on_request_body` after the headers went upstream) and `go/route_meter.wasm` (`request.*` read in
every callback) pass `check --backend diff` with no finding. What the suite relies on for them:
streams a case drives directly (`lifecycle.stream_orders`, `http_robustness.reset_midway`) carry
their request like any exchange (with the x-forwarded-proto and x-request-id Envoy's connection
manager adds), with `request.*` computed from the header map the filter holds, as
Envoy does (NOT_FOUND outside `on_request_headers` and `on_log`: `fidelity.md`, "Request
attributes"); the client address follows Envoy's connection manager, and `check --peer-address`,
`--use-remote-address`, `--xff-num-trusted-hops`, `--skip-xff-append`, `--internal-address-cidr` (or
the same fields on a scenario request) set it for every case host, the differential case and the Envoy
replays.

## Reading the report

`--report-dir DIR` writes `run.json` (schema `reports/schemas/run-v3.schema.json`, `schema_version` 3),
`run.html` (self-contained: no network), `summary.md` and `junit.xml`, all four from the same run
model. `pytest-proxy-wasm report DIR/run.json [--html out.html] [--markdown out.md] [--junit out.xml]`
re-renders a saved run (versions 1, 2 and 3; a version 2 case that passed with a warning is shown as
`warned`). A writer that fails never takes the others with it: the other files are written, one line
on stderr names the writer (`pytest-proxy-wasm: the HTML writer failed (...); run.html was not
written (the other reports were written)`) and the exit status is 3.

`run.json` per case: `outcome`, `severity`, `message`, `evidence`, `warning` (warned cases), `cause`
(`{key, label}` of a failure), `blocked_by` (blocked cases), `blocks` (the cases a finding blocked);
`counts` has every outcome (`passed`, `warned`, `failed`, `blocked`, `skipped`, `xfailed`, `xpassed`,
`error`). `junit.xml` (xunit2 shape, suite `proxy-wasm-conformance`): suite properties `backend`,
`verdict`, `count:<outcome>`, `module:<name>:sha256` and `:abi`; per testcase the properties `case`,
`area`, `module_sha256`, `outcome`, `severity`, `warning`, `cause`, `blocks`, `evidence`; a finding is a
`<failure>`, a blocked case `<skipped type="blocked">`, a not applicable case `<skipped type="pytest.skip">`.
With `--coverage` (`--proxy-wasm-coverage`), `run.json` has `plugin_coverage` and `run.html` a "Plugin
code coverage" section (docs/coverage.md, "The HTML report").

* **Verdict**: FAIL when any case failed, or a case listed as an expected failure passed; ERROR when
  a harness fault left a case's result unknown (see "Harness faults").
* **Inputs** (`inputs` in `run.json`, the "Inputs" table of `run.html`): the plugin and VM
  configuration (UTF-8 text, or `{"base64": ...}`), the VM environment, root and VM id, callouts, your
  requests, the WasmPlugin origin, and where every host's clock started (`clock_start_ns`,
  `clock_start` in UTC; `--now` sets it, the default is the time the check started).
* **Classification**: the module's kind, callbacks and imports; exports a known SDK adds although Envoy
  never calls them (`sdk_exports`, e.g. the Higress SDKs' `proxy_on_redis_call_response`) are named
  there once and are not misuse.
* **Differential answers** (`differential.generated_requests`, `details.answers`): what the emulator
  and Envoy each answered (status, local reply details, what reached the upstream, a failure, the body)
  for your requests, every request where they differed (`differs: true`) and the last generated ones.
* **Outcomes**: `passed`; `warned` (passed with a warning; never fails the verdict); `failed` (the module
  broke the rule; the message says how and the rule is quoted); `blocked` (failed on the cause of an
  earlier finding, named in `blocked_by`; never fails the verdict by itself, the finding does);
  `xfailed` (failed as the expectations file says); `xpassed` (listed as failing but passed: update the
  expectations file); `skipped` (not applicable, with the reason: e.g. the module does not load, so
  every later case depends on the failing `module.*` case). The terminal counts blocked and warned cases
  as pytest categories (`1 failed, 21 passed, 16 skipped, 12 blocked`).
* **Generated requests** (`http_robustness.*`): the seed, the number of examples and the shrunk
  minimal failing request are in the case details; rerun with `--seed N` to reproduce.
* **Evidence** (every finding): the minimal input (bytes as `b"\\x80"`), the failed callback and trap,
  the plugin's panic/error lines, the cause and the cases it blocked; with `--backend envoy|diff`,
  "confirmed on Envoy 1.40", "confirmed: Envoy 1.40 did not answer within 5 s" (a hang) or "emulator
  only" after replaying the input on Envoy. `check --request 'GET /v2/'` / `--requests FILE` add your
  own requests (see the README).
* **Hostcall coverage**: which hostcalls and callbacks the module used during the run and how often,
  and which imported hostcalls / exported callbacks were never reached.
* **Performance**: mean and p95 wall time per callback, mean callback time per request and linear
  memory per open stream, and wasmtime fuel per request (from a fuel-metering runtime: its compile of
  the module, unoptimized since fuel counts wasm operators, starts in the background at collection).
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
| 3 | a harness fault (our bug, never a finding: "Harness faults"), or a report writer failed (named) |
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
