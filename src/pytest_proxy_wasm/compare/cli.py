"""The ``compare`` subcommand: parse, run both sides, print (text, ``--json``, ``--html``), exit.

Exit status: 0 the two sides behave the same (accepted differences aside), 3 they differ, 2 a module
cannot be loaded or started, or an input (requests, traffic, scenario, allow-list) cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli_types import text_or_file as _text_or_file
from ..conformance.inputs import InputError, parse_callout
from .accept import AcceptError, Rule, load_rules
from .probes import Probe, ProbeError, from_options
from .result import Comparison, Section
from .run import Side, SideLoadError, run_side

EXIT_SAME, EXIT_USAGE, EXIT_DIFFERENT = 0, 2, 3


def add_compare_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compare", help="run the same requests through two builds; print every difference")
    p.add_argument("old", type=Path, help="the old build (.wasm)")
    p.add_argument("new", type=Path, help="the new build (.wasm)")
    p.add_argument("--request", action="append", default=[], metavar="'METHOD /PATH'", help="repeatable")
    p.add_argument("--requests", type=Path, default=None, metavar="FILE", help="a requests file (as check)")
    p.add_argument("--traffic", type=Path, action="append", default=[], metavar="FILE",
                   help="HAR or JSON access log; each exchange routed to its recorded answer")  # fmt: skip
    p.add_argument("--scenario", type=Path, action="append", default=[], metavar="FILE",
                   help="a scenario file: its steps and clusters (its plugin replaced)")  # fmt: skip
    p.add_argument("--scenario-plugin", type=int, default=0, metavar="N",
                   help="which plugin of the scenario OLD and NEW replace (0: the first)")  # fmt: skip
    p.add_argument("--backend", choices=("emulator", "envoy", "container"), default="emulator")
    for side in ("", "old-", "new-"):
        which = f" of the {side[:-1]} side (instead of --plugin-config)" if side else " of both sides"
        p.add_argument(
            f"--{side}plugin-config", type=_text_or_file, default=None, help="JSON text or @FILE" + which
        )
        p.add_argument(
            f"--{side}vm-config", type=_text_or_file, default=None, help="JSON text or @FILE" + which
        )
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="VM environment")
    p.add_argument("--root-id", default="")
    p.add_argument("--vm-id", default="")
    p.add_argument("--callout", action="append", default=[], metavar="CLUSTER=STATUS[:BODY]",
                   help="answer HTTP callouts to CLUSTER on both sides; repeatable")  # fmt: skip
    p.add_argument("--accept", action="append", default=[], metavar="FIELD[:DETAIL]",
                   help="an expected change (docs/compare.md); repeatable")  # fmt: skip
    p.add_argument("--accept-file", type=Path, default=None, metavar="FILE", help="YAML allow-list")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--html", type=Path, default=None, metavar="FILE", help="write an HTML page here")
    p.add_argument("--no-trace", action="store_true", help="do not trace (no first divergent call shown)")
    p.set_defaults(handler=run_compare)


def _config(args: argparse.Namespace, side: str, name: str) -> str | None:
    own: str | None = getattr(args, f"{side}_{name}")
    common: str | None = getattr(args, name)
    return own if own is not None else common


def sides(args: argparse.Namespace) -> tuple[Side, Side]:
    env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--env: expected NAME=VALUE, got {item!r}")
        env[key] = value
    common = {"env": env, "root_id": args.root_id, "vm_id": args.vm_id}
    return tuple(  # type: ignore[return-value]
        Side(
            side,
            getattr(args, side),
            plugin_config=_config(args, side, "plugin_config"),
            vm_config=_config(args, side, "vm_config"),
            **common,
        )
        for side in ("old", "new")
    )


def _probes(args: argparse.Namespace, skipped: list[str]) -> list[Probe]:
    probes = from_options(args.request, args.requests, args.traffic, skipped)
    if not probes and not args.scenario:
        probes = [Probe("GET /", {"method": "GET", "path": "/"}, "default (no request given)")]
    return probes


def _sections(
    args: argparse.Namespace,
    sides: tuple[Side, Side],
    probes: list[Probe],
    callouts: list[tuple[str, int, str]],
) -> list[Section]:
    """Run every section on both sides (one backend at a time); scenarios are read before anything runs."""
    from .scenario_side import load, probes_of, run_scenario_side

    scenarios = [(path, load(path, args.scenario_plugin)) for path in args.scenario]
    trace = not args.no_trace
    sections = []
    if probes:
        old, new = (run_side(s, probes, backend=args.backend, callouts=callouts, trace=trace) for s in sides)
        sections.append(Section("", probes, old, new))
    for path, scenario in scenarios:
        settings = {"backend": args.backend, "plugin_index": args.scenario_plugin, "trace": trace}
        old, new = (run_scenario_side(scenario, s, **settings) for s in sides)
        sections.append(Section(path.name, probes_of(scenario, path), old, new))
    return sections


def run_compare(args: argparse.Namespace) -> int:
    skipped: list[str] = []
    try:
        old, new = sides(args)
        for side in (old, new):
            if not side.module.is_file():
                raise InputError(f"{side.label.upper()} module {side.module}: no such file")
        rules = [Rule.parse(text) for text in args.accept]
        if args.accept_file is not None:
            rules += load_rules(args.accept_file)
        probes = _probes(args, skipped)
        callouts = [parse_callout(value) for value in args.callout]
        sections = _sections(args, (old, new), probes, callouts)
    except (InputError, ProbeError, AcceptError, SideLoadError) as exc:
        print(f"pytest-proxy-wasm compare: {exc}", file=sys.stderr)
        return EXIT_USAGE
    comparison = Comparison.build(sections, args.backend, rules, skipped)
    if args.json:
        print(json.dumps(comparison.to_json(), indent=2, ensure_ascii=False))
    else:
        print(comparison.text())
    if args.html is not None:
        from .html import render_compare_html

        args.html.write_text(render_compare_html(comparison.to_json()), encoding="utf-8")
    return EXIT_SAME if comparison.same else EXIT_DIFFERENT
