"""Hostile-module tests reuse the WAT probe builder of tests/host."""

from __future__ import annotations

import sys
from pathlib import Path

HOST_TESTS = str(Path(__file__).resolve().parent.parent / "host")
if HOST_TESTS not in sys.path:
    sys.path.insert(0, HOST_TESTS)
