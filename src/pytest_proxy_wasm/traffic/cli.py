"""``pytest-proxy-wasm import-traffic FILE -o scenario.yaml``: a HAR file or an Envoy JSON access log
as a scenario (docs/scenarios.md, "Importing traffic"). Exit 0 written, 2 the file cannot be read or the
scenario would not be valid."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from .load import load_traffic
from .records import TrafficError
from .scenario import traffic_scenario


def add_import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import-traffic", help="turn a HAR file or Envoy JSON access log into a scenario")
    p.add_argument("traffic", type=Path, help="a HAR 1.2 file, or an Envoy access log in JSON format")
    p.add_argument("-o", "--output", type=Path, required=True, help="the scenario file to write")
    p.add_argument("--module", type=Path, default=None, help="the plugin the scenario runs (.wasm or YAML)")
    p.add_argument("--plugin-config", default=None, metavar="TEXT|@FILE", help="its configuration")
    p.add_argument("--root-id", default="")
    p.add_argument("--vm-id", default="")
    p.add_argument(
        "--scheme",
        default=None,
        help="replay every request with this scheme (http: --backend diff agrees)",
    )
    p.add_argument(
        "--expect-recorded",
        action="store_true",
        help="make each recorded response the step's expectation (status, headers, body)",
    )
    p.set_defaults(handler=run_import)


def _config(value: str | None) -> Any:
    if value is None:
        return None
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        return json.loads(text)  # JSON config kept as a mapping: readable in the scenario
    except ValueError:
        return text


def run_import(args: argparse.Namespace) -> int:
    from ..scenarios import ScenarioError, dump_scenario, scenario_from_dict

    skipped: list[str] = []
    try:
        exchanges = load_traffic(args.traffic, skipped=skipped)
        if args.scheme:
            exchanges = [dataclasses.replace(e, scheme=args.scheme) for e in exchanges]
        plugins: list[dict[str, Any]] = []
        if args.module is not None:
            plugin: dict[str, Any] = {"module": str(args.module.resolve())}
            config = _config(args.plugin_config)
            if config is not None:
                plugin["config"] = config
            plugin.update({k: v for k, v in (("root_id", args.root_id), ("vm_id", args.vm_id)) if v})
            plugins.append(plugin)
        data = traffic_scenario(
            exchanges,
            source=args.traffic.name,
            plugins=plugins,
            expect=args.expect_recorded,
            access_log=exchanges[0].format == "access-log",
            skipped=skipped,
        )
        scenario = scenario_from_dict(data, base_dir=Path.cwd(), source=str(args.output))
        text = dump_scenario(scenario, relative_to=args.output.resolve().parent)
    except (TrafficError, ScenarioError, OSError) as exc:
        print(f"pytest-proxy-wasm import-traffic: {exc}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}: {len(exchanges)} step(s)" + (f", {len(skipped)} skipped" if skipped else ""))
    for note in skipped:
        print(f"  skipped {note}")
    if args.module is None:
        print("  no --module: the scenario has no plugin yet (add one under plugins:)")
    return 0
