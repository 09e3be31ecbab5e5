"""The module's own strings as request material for guided generation (``check --coverage``).

A branch on ``:path`` starting with ``/admin`` or on an ``x-api-key`` header is a wall for random
requests: no counter moves until the whole string matches. Coverage fuzzers get past it with a
dictionary; ours is the printable strings of the module's data section (C strings, Rust and Go string
literals). Under guidance, half the generated requests take a path and a few headers from it; the
other half are drawn as without coverage. The strategy depends only on the module's bytes, so
hypothesis replays and shrinks as usual.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

from .decode import Reader

DATA_SECTION = 11
_RUN = re.compile(rb"[\x21-\x7e]{3,40}")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,24}")
_PATH = re.compile(r"/[a-zA-Z0-9/._~%-]{0,39}")
_LIMIT = 1024  # strings kept per module (the first ones of the data section)


def module_strings(data: bytes) -> list[str]:
    """Printable ASCII runs (3-40 bytes) of the module's data section, in order, without repeats."""
    reader = Reader(data, 8, "module")
    found: dict[str, None] = {}
    while not reader.done():
        section_id = reader.byte()
        size = reader.u32()
        end = reader.pos + size
        if section_id == DATA_SECTION:
            for run in _RUN.findall(data[reader.pos : end]):
                found.setdefault(run.decode("ascii"), None)
                if len(found) >= _LIMIT:
                    return list(found)
        reader.pos = end
    return list(found)


def with_module_strings(strategy: st.SearchStrategy[Any], strings: list[str]) -> st.SearchStrategy[Any]:
    """``strategy`` (drawing request dicts), or half the time one whose path and first headers come
    from ``strings``."""
    names = sorted({s.lower() for s in strings if _NAME.fullmatch(s) and s.lower() != "host"})
    # a path may sit right after other bytes in the data ("=/admin"): from its first "/" on
    tails = [s[s.index("/") :] for s in strings if "/" in s]
    paths = list(dict.fromkeys([t for t in tails if _PATH.fullmatch(t)] + [f"/{s}" for s in names]))
    if not names and not paths:
        return strategy
    value = st.sampled_from(strings)
    header = st.tuples(st.sampled_from(names), value) if names else None
    overlay: dict[str, st.SearchStrategy[Any]] = {}
    if paths:
        overlay["path"] = st.sampled_from(paths)
    if header is not None:
        overlay["headers"] = st.lists(header, min_size=1, max_size=4)

    def merged(pair: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
        base, extra = pair
        headers = [*extra.get("headers", []), *base.get("headers", [])]
        return {**base, **extra, "headers": headers}

    return st.one_of(strategy, st.tuples(strategy, st.fixed_dictionaries(overlay)).map(merged))
