"""``run MODULE ... --save-scenario FILE``: the same exchange as a scenario file, with what it observed
as the expectations (one model, two spellings: the options are the scenario's fields)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import ProxyWasmError
from ..outcome import Outcome
from .capture import expect_from_outcome
from .loader import dump_scenario
from .model import (
    Cluster,
    DirectResponse,
    GrpcAnswer,
    GrpcDeclaration,
    HttpAnswer,
    PluginDecl,
    Request,
    Scenario,
    ServiceDecl,
    Step,
    UpstreamAnswer,
)


def _text(value: str | bytes) -> str:
    """A header value as the model holds it (bytes from the command line: each byte one character)."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _config(value: str) -> str | None:
    return value or None


def scenario_from_args(args: argparse.Namespace, outcome: Outcome) -> Scenario:
    """The scenario ``run MODULE...`` ran, expecting what ``outcome`` showed."""
    from .command import per_module

    modules: list[Path] = args.module
    count = len(modules)
    configs = per_module(args.plugin_config, count, "--plugin-config", "")
    vm_configs = per_module(args.vm_config, count, "--vm-config", "")
    root_ids = per_module(args.root_id, count, "--root-id", "")
    vm_ids = per_module(args.vm_id, count, "--vm-id", "")
    policies = per_module(args.failure_policy, count, "--failure-policy", "FAIL_CLOSED")
    plugins = [
        PluginDecl(
            module=str(Path(module).resolve()),
            config=_config(configs[i]),
            vm_config=_config(vm_configs[i]),
            env=dict(args.env),
            root_id=root_ids[i],
            vm_id=vm_ids[i],
            failure_policy=policies[i],
        )
        for i, module in enumerate(modules)
    ]
    clusters: dict[str, Cluster] = {}
    for cluster, status, body in args.callout:
        clusters.setdefault(cluster, Cluster()).answers.append(HttpAnswer(status=status, body=body or None))
    for cluster, status, message in args.grpc_callout:
        answer = (
            GrpcAnswer(messages=[message])
            if status == 0
            else GrpcAnswer(status=status, status_message=message, fail=True)
        )
        clusters.setdefault(cluster, Cluster()).grpc.append(GrpcDeclaration(answers=[answer]))
    request = Request(
        method=args.method,
        path=args.path,
        authority=args.authority if args.authority is not None else Request.authority,  # run's default
        scheme=args.scheme,
        headers=[[name, _text(value)] for name, value in args.header] or None,
        body=args.body or None,
    )
    direct = args.direct_response
    step = Step(
        request=request,
        upstream=None
        if direct
        else UpstreamAnswer(
            status=args.upstream_status,
            headers=[[name, _text(value)] for name, value in args.upstream_header] or None,
            body=args.upstream_body or None,
        ),
        direct_response=DirectResponse(status=direct[0], body=direct[1]) if direct else None,
        expect=expect_from_outcome(outcome),
    )
    steps = [step] + ([Step(advance_ms=args.advance_ms)] if args.advance_ms else [])
    return Scenario(
        name=f"run {' '.join(m.name for m in modules)}",
        plugins=plugins,
        services=[ServiceDecl(module=str(Path(s).resolve())) for s in args.service],
        clusters=clusters,
        steps=steps,
    )


def save_scenario(args: argparse.Namespace, outcome: Outcome) -> None:
    """Write the scenario to ``args.save_scenario`` (module paths relative to its directory)."""
    target: Path = args.save_scenario
    if any(module.suffix in (".yaml", ".yml") for module in args.module):
        raise ProxyWasmError(
            "--save-scenario: a WasmPlugin YAML run is not saved (its fetch options have no scenario "
            "field); write `plugins: [{module: FILE.yaml, workload: ...}]` in a scenario file instead"
        )
    scenario = scenario_from_args(args, outcome)
    try:
        target.write_text(dump_scenario(scenario, relative_to=target.resolve().parent), encoding="utf-8")
    except OSError as exc:
        reason = os.strerror(exc.errno or 0)
        raise ProxyWasmError(f"--save-scenario: cannot write {target}: {reason}") from None
