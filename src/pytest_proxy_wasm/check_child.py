"""The process ``pytest-proxy-wasm check`` runs the suite in: pytest, with the garbage collector set for it.

A check keeps many long-lived objects (a long case's every log record), so the default collector keeps
walking the whole interpreter. Everything alive when collection ends (pytest, hypothesis, the suite) is
frozen out of the collector's walks, and young collections run ten times less often (less CPU by about a
twelfth on the Go samples). Nothing in the suite depends on when garbage goes.

Started with ``python -c`` (CHILD in check_cli.py), not ``-m``: hypothesis also draws short literals of
local modules, and a ``__main__`` guard here would add one, changing the requests generated for a seed.
"""

from __future__ import annotations

import gc

import pytest


class _FreezeAfterCollection:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        gc.collect()
        gc.freeze()


def main(args: list[str]) -> int:
    young, *older = gc.get_threshold()
    gc.set_threshold(young * 10, *older)
    return int(pytest.main(args, plugins=[_FreezeAfterCollection()]))
