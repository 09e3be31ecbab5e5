"""A corpus of the generated requests that first reached some code, and requests mutated from it.

The coverage-fuzzer loop inside one hypothesis run: a request that reached counters nobody reached
before joins the corpus; later draws take a corpus request and change one part of it (another header
from the module's strings, the headers or path of another corpus request, the rest of a fresh draw),
so a branch nested behind a first one is searched from requests that already pass the first.

Hypothesis replays choice sequences (mutation, shrinking), so the draws keep a fixed shape whatever
the corpus holds: the slots are drawn from a fixed range and taken modulo its size. Once an example
fails the corpus is frozen: shrinking replays against the corpus the failing example was drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

SLOTS = 64  # corpus slots a draw can name (the corpus keeps its first SLOTS requests)
_OPERATIONS = 4


@dataclass
class Corpus:
    requests: list[dict[str, Any]] = field(default_factory=list)
    frozen: bool = False

    def add(self, request: Any) -> None:
        if not self.frozen and isinstance(request, dict) and len(self.requests) < SLOTS:
            self.requests.append(request)

    def mutate(self, plan: dict[str, Any], names: list[str], values: list[str]) -> dict[str, Any]:
        """The request ``plan`` makes from the corpus (a fresh draw while the corpus is empty)."""
        fresh: dict[str, Any] = plan["fresh"]
        if not self.requests:
            return fresh
        base = self.requests[plan["slot"] % len(self.requests)]
        other = self.requests[plan["other"] % len(self.requests)]
        operation = plan["operation"] % _OPERATIONS
        if operation == 0 and names and values:  # one more header: name and value from the module's strings
            name = names[plan["name"] % len(names)].lower()
            value = values[plan["value"] % len(values)]
            return {**base, "headers": [*base["headers"], (name, value)]}
        if operation == 1:  # another corpus request's headers added
            return {**base, "headers": [*base["headers"], *other["headers"]]}
        if operation == 2:  # another corpus request's path
            return {**base, "path": other["path"]}
        return {**fresh, "path": base["path"], "headers": base["headers"]}  # a fresh body and upstream


def corpus_requests(
    base: st.SearchStrategy[Any], corpus: Corpus, strings: list[str]
) -> st.SearchStrategy[Any]:
    """``base`` or a mutated corpus request, about half and half."""
    names = [s for s in strings if _header_name(s)]
    plan = st.fixed_dictionaries(
        {
            "fresh": base,
            "slot": st.integers(0, SLOTS - 1),
            "other": st.integers(0, SLOTS - 1),
            "operation": st.integers(0, _OPERATIONS - 1),
            "name": st.integers(0, 1023),
            "value": st.integers(0, 1023),
        }
    )
    return st.one_of(base, plan.map(lambda p: corpus.mutate(p, names, strings)))


def _header_name(text: str) -> bool:
    return text.lower() != "host" and 0 < len(text) <= 24 and all(c.isalnum() or c in "-_" for c in text)
