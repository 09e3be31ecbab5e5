"""What ``--proxy-wasm-conformance`` runs: the selected areas and one Target per module (and Envoy
version), read from the pytest options."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..clock_option import run_start_ns
from .cases import AREAS, Target, env_pairs, read_config
from .classify import KIND_OPTIONS
from .inputs import input_options


def _budgets(values: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for value in values:
        name, sep, number = value.partition("=")
        try:
            out[name] = float(number)
        except ValueError:
            raise pytest.UsageError(f"--proxy-wasm-budget expects NAME=NUMBER, got {value!r}") from None
        if not sep:
            raise pytest.UsageError(f"--proxy-wasm-budget expects NAME=NUMBER, got {value!r}")
    return out


def selection(config: pytest.Config) -> list[str]:
    raw = [s.strip() for s in str(config.getoption("--proxy-wasm-select")).split(",") if s.strip()]
    for item in raw:
        if item.split(".")[0] not in AREAS:
            raise pytest.UsageError(f"--proxy-wasm-select: unknown area {item!r}; areas: {', '.join(AREAS)}")
    return raw


def targets(config: pytest.Config) -> list[Target]:
    modules = [Path(m) for m in config.getoption("--proxy-wasm-module") or []]
    common = {
        "plugin_config": read_config(config.getoption("--proxy-wasm-plugin-config")),
        "vm_config": read_config(config.getoption("--proxy-wasm-vm-config")),
        "env": env_pairs(config.getoption("--proxy-wasm-env")),
        "backend": str(config.getoption("--proxy-wasm-backend")),
        "deadline_seconds": float(config.getoption("--proxy-wasm-deadline")),
        "budgets": _budgets(config.getoption("--proxy-wasm-budget")),
        "seed": config.getoption("--proxy-wasm-seed"),
        "max_examples": int(config.getoption("--proxy-wasm-examples")),
        "kind": KIND_OPTIONS.get(str(config.getoption("--proxy-wasm-kind", default="auto")), "auto"),
        **input_options(config),
        "strict": bool(config.getoption("--proxy-wasm-strict", default=False)),
        "trace": bool(config.getoption("--proxy-wasm-trace", default=False)),
        "start_time_ns": run_start_ns(config),
        "platform": str(config.getoption("--proxy-wasm-platform", default="envoy")),
        "profile": str(config.getoption("--proxy-wasm-profile", default="")),
    }
    from ..version_options import asked_versions

    versions = asked_versions(config) or [""]
    return [Target(module=m.resolve(), envoy_version=v, **common) for m in modules for v in versions]
