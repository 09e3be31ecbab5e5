"""Argument types the commands share."""

from __future__ import annotations

import argparse
from pathlib import Path


def text_or_file(value: str) -> str:
    """``TEXT``, or the contents of ``@FILE`` (an unreadable file is a usage error naming it)."""
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text()
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read {value[1:]}: {exc.strerror}") from None
    return value
