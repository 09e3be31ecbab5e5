"""``run SCENARIO.proxywasm.yaml --coverage``: every plugin and service the scenario loads runs
instrumented; the counts of all their VMs are summed into ``lcov.info``, ``coverage.xml`` and
``coverage.html`` (``--report-dir``), as ``run MODULE --coverage`` does for one exchange.

Scenario files that pytest collects count through the session's runtime instead
(``scenarios/pytest_plugin.session_runtime`` makes it load modules instrumented).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..backends.base import Backend
from . import cli_options


def run_file(args: argparse.Namespace, make_backend: Callable[..., Backend], options: Any) -> int:
    """``scenarios.command.run_file`` with the modules instrumented when ``--coverage`` is given.

    The files are written when the scenario ran (passed or not); a scenario that cannot load (exit 2,
    raised) writes none."""
    from ..scenarios import command

    collector = cli_options.run_collector(args)  # refuses --backend envoy|diff by name
    if collector is None:
        return command.run_file(args, make_backend, options)
    runtime = cli_options.instrumented_runtime(collector)

    def instrumented_backend(name: str, **kwargs: Any) -> Backend:
        return make_backend(name, runtime=runtime, **kwargs)

    try:
        status = command.run_file(args, instrumented_backend, options)
    finally:
        runtime.close()
    cli_options.finish_run(collector, args)
    return status
