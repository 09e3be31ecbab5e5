"""``--proxy-wasm-now``: where every host of a pytest session starts its virtual wall clock.

Without it a pytest host starts at the real time when it is created, and a conformance run's case
hosts all start at the real time when the run first asked (one instant for the whole run).
"""

from __future__ import annotations

import time

import pytest

from .host.clock_start import NOW_FORMATS, parse_now

RUN_START_KEY = pytest.StashKey[int]()


def add_now_option(group: pytest.OptionGroup) -> None:
    group.addoption(
        "--proxy-wasm-now",
        default=None,
        metavar="TIME",
        help=f"start every host's virtual clock here: {NOW_FORMATS} (default: the real time)",
    )


def now_option(config: pytest.Config) -> int | None:
    """``--proxy-wasm-now`` in nanoseconds (None: not given or 'real'); a bad value is a usage error."""
    value = config.getoption("--proxy-wasm-now", default=None)
    if value is None:
        return None
    try:
        return parse_now(str(value))
    except ValueError as exc:
        raise pytest.UsageError(str(exc).replace("--now", "--proxy-wasm-now")) from None


def run_start_ns(config: pytest.Config) -> int:
    """One start time for every case host of a conformance run: ``--proxy-wasm-now`` or the real time
    when first asked (kept for the session)."""
    if RUN_START_KEY not in config.stash:
        given = now_option(config)
        config.stash[RUN_START_KEY] = time.time_ns() if given is None else given
    return config.stash[RUN_START_KEY]
