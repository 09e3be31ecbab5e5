"""The plugin's configuration and the clock's start, as ``run.json`` ``inputs`` records them."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ..clock_option import run_start_ns
from ..conformance.cases import env_pairs, read_config
from ..host.clock_start import iso


def config_text(data: bytes) -> str | dict[str, str]:
    """UTF-8 text as it is; other bytes as ``{"base64": ...}``."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def configuration_inputs(config: pytest.Config) -> dict[str, Any]:
    """plugin_config, vm_config, env and the clock start of a conformance run."""
    start = run_start_ns(config)
    try:
        plugin_config = read_config(config.getoption("--proxy-wasm-plugin-config", default=""))
        vm_config = read_config(config.getoption("--proxy-wasm-vm-config", default=""))
    except OSError as exc:
        raise pytest.UsageError(f"--proxy-wasm-plugin-config/--proxy-wasm-vm-config: {exc}") from None
    return {
        "plugin_config": config_text(plugin_config),
        "vm_config": config_text(vm_config),
        "env": env_pairs(config.getoption("--proxy-wasm-env", default=[]) or []),
        "clock_start_ns": start,
        "clock_start": iso(start),
    }
