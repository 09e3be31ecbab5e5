"""Area ``lifecycle``: start, configure, stream contexts and the end of a plugin (spec §6)."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import PluginStartError
from ..host.plugin import Plugin
from .cases import CaseFailure, CaseRun, case, check
from .classify import KIND_TEXT
from .support import STANDARD_CONNECTIONS, request, status_text

_TRAP_FREE = "a refusal is fine, a trap is not"


@case(
    "lifecycle",
    "start_configure",
    title="The plugin starts and accepts the given configuration",
    rule="cpp-host: on_context_create(root,0) → on_vm_start(root, vm_config_size) → "
    "on_configure(root, plugin_config_size), each returning true",
    why="Envoy refuses the listener update when either returns false or traps; nothing else runs.",
)
def start_configure(run: CaseRun) -> None:
    _, plugin = run.started()
    run.details["root_context"] = plugin.root.id
    check(plugin.failed is None, f"plugin failed during start: {plugin.failed}")


def _configs(run: CaseRun, variants: tuple[tuple[str, bytes], ...]) -> None:
    verdicts: dict[str, str] = {}
    problems: list[str] = []
    for label, config in variants:
        host = run.host()
        try:
            plugin = run.plugin(host, plugin_config=config)
            verdicts[label] = "accepted" if plugin.failed is None else f"failed: {plugin.failed}"
        except PluginStartError as exc:
            verdicts[label] = f"refused: {exc.reason}"
            if not exc.reason.startswith("returned false"):
                problems.append(f"{label} config: {exc.callback} {exc.reason} ({_TRAP_FREE})")
    run.details["configs"] = verdicts
    check(not problems, "; ".join(problems))


@case(
    "lifecycle",
    "config_variants",
    title="Empty and {} configurations are accepted or refused cleanly",
    rule="Envoy PluginConfig: on_configure returning false rejects the config; a trap fails the VM",
    why="An empty pluginConfig (none given) and {} are what Istio sends by default; a plugin that traps "
    "on them takes the whole VM down instead of refusing one configuration.",
    assumes="Istio WasmPlugin: no pluginConfig gives an empty configuration, pluginConfig: {} gives {}",
)
def config_variants(run: CaseRun) -> None:
    _configs(run, (("empty", b""), ("{}", b"{}")))


@case(
    "lifecycle",
    "config_unusual",
    title="Malformed and binary configurations are refused without trapping",
    rule="Envoy PluginConfig: on_configure returning false rejects the config; a trap fails the VM",
    why="Operators writing raw Envoy configuration make typos; a refusal names the problem, a trap does not.",
    assumes="a raw Envoy configuration (StringValue/BytesValue): Istio's WasmPlugin always sends valid "
    "JSON, so this only warns",
    severity="warn",
)
def config_unusual(run: CaseRun) -> None:
    _configs(run, (("malformed", b"{not json"), ("binary", bytes(range(256)))))


@case(
    "lifecycle",
    "http_context",
    title="The plugin creates an HTTP context for each stream (checked as an HTTP filter)",
    rule="cpp-host: a new stream calls proxy_on_context_create(id, root); the SDK must create a context",
    why="A module whose root creates no HTTP context fails the VM on the first request when deployed as "
    "an HTTP filter: under FAIL_CLOSED Envoy answers 503 to every request.",
    assumes="the module is deployed as an HTTP filter (WasmPlugin type HTTP, Istio's default)",
    kinds=("http_filter",),
)
def http_context(run: CaseRun) -> None:
    host, plugin = run.started()  # a module that does not start is lifecycle.start_configure's finding
    http = run.classification.get("contexts", {}).get("http", {})
    if not http.get("created", True):
        kind = run.classification.get("kind", "?")
        what = f"the module creates no HTTP context (it is a {KIND_TEXT.get(kind, kind)})"
        if "callback" in http:
            # Verified on Envoy 1.40 with the Rust SDK's network filter: 503 wasm_fail_stream every time.
            raise CaseFailure(
                f"{what}: the first request fails the VM in {http['callback']} ({http.get('failure')}); "
                "as an HTTP filter under FAIL_CLOSED, Envoy answers 503 to every request"
            )
        raise CaseFailure(
            f"{what}: its HTTP callbacks run and do nothing, so as an HTTP filter it lets every request "
            "through unfiltered (Envoy answers as if the filter were absent)"
        )
    outcome = request(host, plugin, method="GET", path="/")
    check(plugin.failed is None, f"the first request failed the plugin: {plugin.failed}")
    run.details["first_request"] = status_text(outcome)


def _open(plugin: Plugin, count: int) -> list[object]:
    from ..host.http import HttpStream

    streams: list[HttpStream] = []
    for i in range(count):
        stream = plugin.http_stream()
        stream.on_request_headers(
            # what Envoy hands a filter: the connection manager's headers too (request.id is there)
            [
                (":authority", "example.com"),
                (":path", f"/{i}"),
                (":method", "GET"),
                (":scheme", "http"),
                ("x-forwarded-proto", "http"),
                ("x-request-id", f"stream-{i}"),
            ],
            end_of_stream=True,
        )
        streams.append(stream)
    return list(streams)


@case(
    "lifecycle",
    "stream_orders",
    title="Many stream contexts are created and finished in every legal order",
    rule="cpp-host context.cc: context ids from one counter per VM; streams end independently "
    "(on_log → on_done → on_delete in Envoy)",
    why="Plugins keyed on context ids (HashMap<u32, Ctx>) break when streams end out of order.",
    kinds=("http_filter",),
)
def stream_orders(run: CaseRun) -> None:
    from ..host.http import HttpStream

    orders: dict[str, Callable[[int], list[int]]] = {
        "fifo": lambda n: list(range(n)),
        "lifo": lambda n: list(reversed(range(n))),
        "interleaved": lambda n: [*range(0, n, 2), *range(1, n, 2)],
    }
    _, plugin = run.started()
    for label, order in orders.items():
        streams = _open(plugin, 8)
        for index in order(len(streams)):
            stream = streams[index]
            assert isinstance(stream, HttpStream)
            stream.on_response_headers([(":status", "200")], end_of_stream=True)
            stream.complete()
            check(plugin.failed is None, f"{label} order: plugin failed: {plugin.failed}")
    left = [c for c in plugin.vm.contexts.values() if c.kind != "root"]
    check(not left, f"contexts left after every stream ended: {[c.id for c in left]}")


@case(
    "lifecycle",
    "timers",
    title="Timers the plugin sets fire without trapping",
    rule="spec proxy_set_tick_period_milliseconds: proxy_on_tick(root) every period",
    why="A tick handler only runs in production, after deployment; a trap there fails the VM for every "
    "later stream.",
)
def timers(run: CaseRun) -> None:
    host, plugin = run.started()
    traffic(run, plugin)
    host.advance(10_000)
    run.details["ticks"] = plugin.vm.calls.get("proxy_on_tick", 0)
    check(plugin.failed is None, f"plugin failed while time passed: {plugin.failed}")


def traffic(run: CaseRun, plugin: Plugin) -> None:
    """One unit of the module's own traffic (as classified, whatever kind it is checked as): a request
    for an HTTP filter, a connection for a network filter, nothing for a service."""
    kind = run.classification.get("kind", "http_filter")
    if kind == "network_filter":
        plugin.host.connect(plugin, **STANDARD_CONNECTIONS[0])
    elif kind != "service":
        request(plugin.host, plugin)


@case(
    "lifecycle",
    "on_done_contract",
    title="At shutdown on_done returns true, or the plugin later calls proxy_done",
    rule="spec proxy_on_done / proxy_done; cpp-host wasm.cc: on_done false keeps the root pending",
    why="A root that never finishes keeps Envoy's old VM alive across every configuration update.",
)
def on_done_contract(run: CaseRun) -> None:
    host, plugin = run.started()
    traffic(run, plugin)
    root, vm = plugin.root, plugin.vm
    result = vm.call(root, "proxy_on_done", root.id)
    check(vm.failure is None, f"proxy_on_done trapped: {vm.failure}")
    run.details["on_done"] = result
    if result == 0:
        root.done_pending = True
        host.advance(5_000)
        if root.done_pending:
            raise CaseFailure("on_done returned false and the plugin never called proxy_done (5 s)")
    else:
        host.delete_root(root)
    check(vm.failure is None, f"plugin failed at shutdown: {vm.failure}")
