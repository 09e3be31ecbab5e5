"""``compare --scenario FILE``: the scenario's steps, clusters, services and chain on each side, with one
plugin of its chain (``--scenario-plugin``, the first by default) replaced by OLD or NEW. Its
expectations are not checked here (``run FILE`` does that): only the two sides are compared."""

from __future__ import annotations

import copy
from pathlib import Path

from ..backends import make_backend
from ..errors import ModuleLoadError, PluginStartError
from ..host.options import HostOptions
from ..outcome import Outcome, TcpOutcome
from ..scenarios import Scenario, ScenarioError, load_scenario
from ..scenarios.host_settings import scenario_host_options
from ..scenarios.model import header_pairs
from ..scenarios.runner import ScenarioRun
from .probes import Probe, ProbeError
from .run import Side, SideLoadError, SideRun, request_id


def load(path: Path, plugin_index: int) -> Scenario:
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        raise ProbeError(f"--scenario {exc}") from None
    if not 0 <= plugin_index < len(scenario.plugins):
        count = len(scenario.plugins)
        raise ProbeError(f"--scenario {path}: no plugins[{plugin_index}] to replace (it has {count})")
    return scenario


def probes_of(scenario: Scenario, path: Path) -> list[Probe]:
    """One probe per step (its title and request, for the report)."""
    probes = []
    for index, step in enumerate(scenario.steps):
        title = step.name or f"step {index + 1}"
        shown = step.request.to_dict() if step.request is not None else {}
        if step.connect is not None:
            shown = {"connect": step.connect.to_dict()}
        probes.append(Probe(title, shown, f"{path.name}: steps[{index}]"))
    return probes


def for_side(scenario: Scenario, side: Side, plugin_index: int) -> Scenario:
    """A copy with the plugin replaced by ``side``'s module (and configuration, when one was given) and a
    fixed ``x-request-id`` on each request (the same on both sides)."""
    mine = copy.deepcopy(scenario)
    plugin = mine.plugins[plugin_index]
    plugin.module = str(side.module.resolve())
    if side.plugin_config is not None:
        plugin.config = side.plugin_config
    if side.vm_config is not None:
        plugin.vm_config = side.vm_config
    for index, step in enumerate(mine.steps):
        if step.request is not None:
            pairs = header_pairs(step.request.headers)
            if not any(name.lower() == "x-request-id" for name, _ in pairs):
                pairs.append(("x-request-id", request_id(index)))
            step.request.headers = [[name, value] for name, value in pairs]
    return mine


def run_scenario_side(
    scenario: Scenario, side: Side, *, backend: str, plugin_index: int, trace: bool
) -> SideRun:
    host = make_backend(backend, options=scenario_host_options(scenario, HostOptions(trace=trace)))
    run = ScenarioRun(for_side(scenario, side, plugin_index), host)
    try:
        try:
            run.start()
        except (ModuleLoadError, PluginStartError, OSError) as exc:
            raise SideLoadError(f"{side.label.upper()} module {side.module}: {exc}") from None
        except ScenarioError as exc:
            raise SideLoadError(f"--scenario {exc}") from None
        startup = [r for r in host.logs if r.source != "host"]
        outcomes: list[Outcome | TcpOutcome | str] = []
        for index, step in enumerate(run.scenario.steps):
            result = run.run_step(index, step)  # each Outcome holds its own exchange's logs
            if result.error is not None:
                outcomes.append(result.error)
            elif result.outcome is None:
                outcomes.append("(no request in this step)")
            else:
                outcomes.append(result.outcome)
        return SideRun(side, startup, outcomes)
    finally:
        host.close()
