"""``check --emit-scenarios DIR``: one scenario file per finding, reproducing its minimal input, with
what Envoy did as the expectation (the emulator's answer when no Envoy ran; the file says which).

A finding shown by one exchange gives ``<case>.<module>.proxywasm.yaml``: the requests the case sent
before on the same host (no expectations), then the exchange with its expectation (status and whether
the plugin failed). A finding shown by two exchanges (the same request answered two ways) gives one
file per exchange (``….1.proxywasm.yaml``, ``….2…``), each replaying that exchange as the Envoy replay
does. Modules other than the one under test (a case's companion plugins) are written beside the files.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..outcome import Outcome
from .evidence import Evidence, Exchange, PluginSetup, outcome_summary
from .replay import CONFIRMED, EMULATOR_ONLY

HTTP_KEYS = {"method", "path", "authority", "scheme", "headers", "body", "trailers"}
UPSTREAM_KEYS = {"upstream_status": "status", "upstream_headers": "headers", "upstream_body": "body"}


class NotExpressibleError(ValueError):
    """The exchange uses something a scenario cannot say (the reason is the message)."""


def _text(value: str | bytes) -> str:
    """A header value as the scenario sends it: str values go out as Latin-1, so bytes map 1:1."""
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)


def _pairs(value: Any) -> list[list[str]]:
    items = value.items() if isinstance(value, Mapping) else (value or [])
    return [[_text(k), _text(v)] for k, v in items]


def _body(value: Any, allow_chunks: bool = True) -> dict[str, Any]:
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes | bytearray):
        if not value:
            return {}
        try:
            return {"body": bytes(value).decode("utf-8")}
        except UnicodeDecodeError:
            return {"body_base64": base64.b64encode(value).decode()}
    chunks = [bytes(c.encode() if isinstance(c, str) else c) for c in value]
    try:
        texts = [c.decode("utf-8") for c in chunks]
    except UnicodeDecodeError:
        raise NotExpressibleError("the body is in frames that are not UTF-8 text") from None
    if not allow_chunks:
        return _body(b"".join(chunks))
    return {"chunks": texts} if texts else {}


def request_step(kwargs: Mapping[str, Any], name: str = "") -> dict[str, Any]:
    """``Backend.request`` keywords as a scenario step (request, and the upstream's answer)."""
    unknown = set(kwargs) - HTTP_KEYS - set(UPSTREAM_KEYS) - {"direct_response"}
    if unknown:
        raise NotExpressibleError(f"the request uses {', '.join(sorted(unknown))}")
    request: dict[str, Any] = {k: kwargs[k] for k in ("method", "path", "authority", "scheme") if k in kwargs}
    for key in ("headers", "trailers"):
        if kwargs.get(key):
            request[key] = _pairs(kwargs[key])
    request.update(_body(kwargs.get("body", b"")))
    step: dict[str, Any] = {"name": name} if name else {}
    step["request"] = request
    upstream: dict[str, Any] = {}
    if kwargs.get("upstream_status", 200) != 200:
        upstream["status"] = int(kwargs["upstream_status"])
    if kwargs.get("upstream_headers"):
        upstream["headers"] = _pairs(kwargs["upstream_headers"])
    upstream.update(_body(kwargs.get("upstream_body", b""), allow_chunks=False))
    if upstream:
        step["upstream"] = upstream
    if kwargs.get("direct_response") is not None:
        status, body = kwargs["direct_response"]
        step["direct_response"] = {"status": int(status), "body": _text(body)}
    return step


def _kept(module: Path, directory: Path) -> Path:
    """The module where the file can find it later: a module in the temporary directory (``check
    plugins.yaml`` fetches a WasmPlugin's module there, and removes it) is copied beside the files."""
    import tempfile

    if not module.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve()):
        return module
    kept = directory / module.name
    if not kept.exists() or kept.read_bytes() != module.read_bytes():
        kept.write_bytes(module.read_bytes())
    return kept


def _plugin(setup: PluginSetup, target_module: Path, directory: Path) -> dict[str, Any]:
    if setup.is_target or setup.module is None:
        module = _kept(target_module, directory)
    else:
        module = directory / f"companion-{setup.sha256[:12]}.wasm"
        if not module.exists():
            module.write_bytes(setup.module)
    plugin: dict[str, Any] = {"module": str(module.resolve())}
    if setup.plugin_config:
        plugin["config"] = setup.plugin_config.decode("utf-8", "replace")
    if setup.vm_config:
        plugin["vm_config"] = setup.vm_config.decode("utf-8", "replace")
    for key in ("root_id", "vm_id", "name"):
        if getattr(setup, key):
            plugin[key] = getattr(setup, key)
    if setup.env:
        plugin["env"] = dict(setup.env)
    if setup.failure_policy.name != "FAIL_CLOSED":
        plugin["failure_policy"] = setup.failure_policy.name
    return plugin


def _expect(summary: Mapping[str, Any]) -> dict[str, Any]:
    expect: dict[str, Any] = {}
    if summary.get("status") is not None:
        expect["status"] = int(summary["status"])
    expect["plugin_failed"] = bool(summary.get("plugin_failed"))
    return expect


def _clusters(target: Any, exchange: Exchange) -> dict[str, Any]:
    """The answers ``check`` declared (``--callout``), and ``200 ok`` for any other cluster called."""
    clusters: dict[str, Any] = {}
    for cluster, status, body in getattr(target, "callouts", ()):
        clusters.setdefault(cluster, {"answers": []})["answers"].append({"status": status, "body": body})
    for call in getattr(exchange.outcome, "callouts", []) or []:
        name = str(call.get("cluster") or "")
        if name and name not in clusters:
            clusters[name] = {"answers": [{"status": 200, "body": "ok"}]}
    return clusters


def scenario_data(
    case_id: str,
    message: str,
    target: Any,
    exchange: Exchange,
    expected: Mapping[str, Any],
    said: str,
    directory: Path,
) -> dict[str, Any]:
    """One exchange as a scenario's YAML form."""
    if exchange.tcp or any(kind != "http" for kind, _ in exchange.prefix):
        raise NotExpressibleError("the finding is on a TCP connection")
    steps = [request_step(kwargs, f"sent before (#{i + 1})") for i, (_, kwargs) in enumerate(exchange.prefix)]
    last = request_step(exchange.request, "the finding's input")
    last["expect"] = _expect(expected)
    steps.append(last)
    module = Path(target.module)
    first = message.splitlines()[0] if message else ""
    description = f"Reproduces conformance finding {case_id} on {module.name}: {first[:240]}"
    data: dict[str, Any] = {
        "name": f"{case_id} [{module.name}]",
        "description": description,
        "plugins": [_plugin(p, module, directory) for p in exchange.chain],
    }
    clusters = _clusters(target, exchange)
    if clusters:
        data["clusters"] = clusters
    data["steps"] = steps
    return data


def expected_answers(evidence: Evidence, target: Any) -> tuple[list[dict[str, Any]], str, list[str] | None]:
    """Per exchange the answer to expect, what the files say about it, and the backends to run on."""
    emulated = [outcome_summary(e.outcome) for e in evidence.raw]
    replay = evidence.replay
    if replay is None and getattr(target, "backend", "emulator") in ("envoy", "diff"):
        from .replay import replay as run_replay

        replay = run_replay(target, evidence)
    if (
        replay
        and replay.get("verdict") in (CONFIRMED, EMULATOR_ONLY)
        and len(replay["outcomes"]) == len(emulated)
    ):
        envoy = str(replay.get("envoy") or "Envoy")
        if replay["verdict"] == CONFIRMED:
            return replay["outcomes"], f"what {envoy} did (the emulator answers the same)", None
        said = f"what {envoy} did; the emulator answers otherwise (a fidelity gap), so it runs on Envoy only"
        return replay["outcomes"], said, ["envoy", "container"]
    why = replay.get("detail") if replay else "no Envoy ran (check --backend emulator)"
    return emulated, f"the emulator's answer ({why}); run check --backend envoy for Envoy's", None


def header_lines(said: str) -> list[str]:
    """The comment at the top of an emitted file: where it came from and what its expectation is."""
    return [
        "Emitted by pytest-proxy-wasm check --emit-scenarios.",
        f"Expectation: {said}.",
        "It passes while the plugin behaves this way. Once the finding is fixed, change `expect` to the",
        "answer you want: the file then guards the fix (run it with pytest or `pytest-proxy-wasm run`).",
    ]


def file_stem(case_id: str, module: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{case_id}.{module.stem}")


def emit_scenarios(
    directory: Path, case_id: str, message: str, target: Any, evidence: Evidence
) -> tuple[list[Path], str]:
    """Write the finding's scenario file(s) to ``directory``; the paths, or why none was written."""
    from ..scenarios import ScenarioError, dump_scenario, scenario_from_dict

    if not evidence.raw:
        return [], "no single exchange shows the finding"
    if any(isinstance(e.outcome, Outcome) and e.outcome.hung for e in evidence.raw):
        return [], "the stream hangs (a scenario step needs an answer)"
    directory.mkdir(parents=True, exist_ok=True)
    answers, said, backends = expected_answers(evidence, target)
    stem = file_stem(case_id, Path(target.module))
    written: list[Path] = []
    try:
        for index, (exchange, expected) in enumerate(zip(evidence.raw, answers, strict=True)):
            data = scenario_data(case_id, message, target, exchange, expected, said, directory)
            if backends:
                data["backends"] = backends
            suffix = f".{index + 1}" if len(evidence.raw) > 1 else ""
            path = directory / f"{stem}{suffix}.proxywasm.yaml"
            scenario = scenario_from_dict(data, base_dir=directory, source=str(path))
            header = "".join(f"# {line}\n" for line in header_lines(said))
            path.write_text(header + dump_scenario(scenario, relative_to=directory), encoding="utf-8")
            written.append(path)
    except NotExpressibleError as exc:
        return written, str(exc)
    except ScenarioError as exc:
        return written, f"the scenario would not be valid: {exc}"
    return written, ""


def emit_into(
    directory: Path, case_id: str, message: str, target: Any, evidence: Evidence, details: dict[str, Any]
) -> None:
    """Emit the finding's scenario(s); the files (or why none) go in the case's details and its
    evidence note, so the terminal, run.json and the HTML page name them. Never fails the case."""
    try:
        written, why = emit_scenarios(directory, case_id, message, target, evidence)
    except Exception as exc:  # the finding matters more than its scenario: say why, keep the evidence
        written, why = [], f"{type(exc).__name__}: {exc}"
    details["emitted_scenarios"] = [str(p) for p in written]
    lines = [f"scenario: {p}" for p in written]
    if why:
        details["scenario_not_emitted"] = why
        lines.append(f"scenario not emitted: {why}")
    evidence.note = "\n".join(filter(None, [evidence.note, *lines]))
