"""Hooks other plugins (or a conftest) may implement to change the conformance report."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_proxy_wasm_update_report(config: pytest.Config, report: dict[str, Any]) -> None:
    """Change the run model (a JSON-able dict, see ``run-v3.schema.json``) before it is written."""
