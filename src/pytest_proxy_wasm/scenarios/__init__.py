"""Scenario files: Proxy-Wasm plugin tests written in YAML, run on every backend (docs/scenarios.md).

Public API (stable):

- ``load_scenario(path) -> Scenario``: read and validate a file (``ScenarioError`` names the file, the
  line and the field); ``loads_scenario(text, base_dir=..., source=...)`` for text;
  ``scenario_from_dict(data, base_dir=...)`` for the parsed form.
- ``dump_scenario(scenario, relative_to=None) -> str``: YAML text ``load_scenario`` accepts
  (``relative_to``: the directory the file goes in; module paths are rewritten relative to it).
- ``Scenario`` and its parts (``PluginDecl``, ``ServiceDecl``, ``Cluster``, ``HttpAnswer``,
  ``GrpcDeclaration``, ``GrpcAnswer``, ``Step``, ``Request``, ``UpstreamAnswer``, ``DirectResponse``,
  ``Connect``, ``Expect``, ``RedisDeclaration``, ``RedisAnswer``): dataclasses named and shaped like
  the YAML; ``to_dict()``/``from_dict()``.
  ``body_fields(data)`` gives ``{"body": text}`` or ``{"body_base64": ...}`` for raw bytes.
- ``run_scenario(scenario, backend) -> ScenarioResult`` on any ``Backend`` (``make_backend(name)``):
  ``result.passed``, ``result.steps`` (``StepResult``: ``passed``, ``checks`` of ``FieldCheck``
  (``field``, ``expected``, ``actual``, ``passed``, ``note``), ``outcome``, ``logs``, ``error``),
  ``result.report()`` (text), ``result.to_json()``.
- ``scenario_host_options(scenario, base=None) -> HostOptions``: the options to create the backend with
  (the file's ``now``, client address, ``platform``, ``profile``); ``backend_skip_reason(scenario,
  name)``: why it does not run on a backend (None when it does).
- ``scenario_schema()``: the JSON Schema (``schemas/scenario-v1.schema.json``).
- ``expect_from_outcome(outcome, upstream=True, callouts=True, skip_headers=()) -> Expect``: the
  expectations an observed exchange meets on any backend (headers a backend adds left out);
  ``body_check(data)`` the body check for exact bytes.
"""

from __future__ import annotations

from .capture import body_check, expect_from_outcome
from .checks import FieldCheck
from .host_settings import backend_skip_reason, scenario_host_options
from .loader import (
    ScenarioError,
    dump_scenario,
    load_scenario,
    loads_scenario,
    scenario_from_dict,
    scenario_schema,
)
from .model import (
    SCENARIO_VERSION,
    Cluster,
    Connect,
    DirectResponse,
    Expect,
    GrpcAnswer,
    GrpcDeclaration,
    HttpAnswer,
    PluginDecl,
    RedisAnswer,
    RedisDeclaration,
    Request,
    Scenario,
    ServiceDecl,
    Step,
    UpstreamAnswer,
    body_fields,
)
from .results import ScenarioResult, StepResult
from .runner import run_scenario

__all__ = [
    "SCENARIO_VERSION",
    "Cluster",
    "Connect",
    "DirectResponse",
    "Expect",
    "FieldCheck",
    "GrpcAnswer",
    "GrpcDeclaration",
    "HttpAnswer",
    "PluginDecl",
    "RedisAnswer",
    "RedisDeclaration",
    "Request",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "ServiceDecl",
    "Step",
    "StepResult",
    "UpstreamAnswer",
    "backend_skip_reason",
    "body_check",
    "body_fields",
    "dump_scenario",
    "expect_from_outcome",
    "load_scenario",
    "loads_scenario",
    "run_scenario",
    "scenario_from_dict",
    "scenario_host_options",
    "scenario_schema",
]
