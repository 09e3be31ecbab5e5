"""Coverage-guided generation: what ``check``'s generated requests reach beyond the fixed ones.

Under ``--proxy-wasm-coverage`` every generated example of ``http_robustness.explore`` (the hypothesis
phases: ``http_robustness.generated_exchanges``, ``header_maps``, ``tcp_robustness.generated_connections``,
``differential``) is measured on its own: the session's counter sums before the example are subtracted
from the sums after its hosts closed (closing a VM adds its counters). Those deltas add up to what the
generated requests ran; everything else the session ran (the hand-written cases, the user's
``--request`` examples) is the fixed requests' share.

With guidance on (the default), half of ``generated_exchanges``' requests take a path and headers from
the module's own strings (dictionary.py). With ``target``, newly reached code is also the search
target: an example that first reached counters joins a corpus whose requests later draws mutate
(corpus.py), and each example reports to ``hypothesis.target`` how many counters (basic blocks,
function entries) it reached that the session had not reached when the case started, so hypothesis's
targeting phase mutates the examples that went furthest beyond that baseline. Measured, ``target``
reaches no more code than ``on`` at 25-100 examples (docs/coverage.md), so ``on`` is the default.
Without ``--proxy-wasm-coverage`` none of this runs: same draws, same verdicts.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field
from typing import Any

from .collector import CoverageCollector, ModuleCoverage
from .corpus import Corpus

LABEL = "coverage: counters beyond the fixed requests"
SCORES = ("beyond", "new", "reached")  # see score(); "beyond" is the default (docs/coverage.md)


@dataclass
class GeneratedShare:
    """One module: the counter sums of its generated examples (64-bit lanes, as ``ModuleCoverage``)."""

    lanes: int = 0
    examples: int = 0


@dataclass
class GuidedCoverage:
    """The session's split of coverage between generated and fixed requests, and whether to guide."""

    guide: bool = True
    score: str = "beyond"
    dictionary: bool = True  # guided requests also draw from the module's strings (dictionary.py)
    target: bool = False  # each example's score goes to hypothesis.target (the targeting phase runs)
    corpus: bool = False  # requests that first reached code are kept and mutated (corpus.py)
    corpora: dict[int, tuple[Any, Corpus]] = field(default_factory=dict)  # id(strategy) -> its corpus
    shares: dict[str, GeneratedShare] = field(default_factory=dict)  # original sha256 -> share
    strings: dict[str, list[str]] = field(default_factory=dict)  # original sha256 -> module strings

    def share(self, digest: str) -> GeneratedShare:
        return self.shares.setdefault(digest, GeneratedShare())

    def add_counts(self, digest: str, counts: dict[int, int], examples: int) -> None:
        """Add a worker's share (``write_partial``'s counts: counter index -> count)."""
        share = self.share(digest)
        for index, count in counts.items():
            share.lanes += count << (64 * index)
        share.examples += examples


# One GuidedCoverage per collector (each session owns its collector); weak keys: nothing outlives it.
_SESSIONS: weakref.WeakKeyDictionary[CoverageCollector, GuidedCoverage] = weakref.WeakKeyDictionary()


def attach(collector: CoverageCollector, guided: GuidedCoverage) -> None:
    _SESSIONS[collector] = guided


def guided_for(collector: CoverageCollector | None) -> GuidedCoverage | None:
    return None if collector is None else _SESSIONS.get(collector)


def reached(lanes: int, count: int) -> int:
    """A bit set (bit ``64*i``) for each nonzero 64-bit lane ``i`` of ``lanes``: folding each lane's
    high half onto its low half six times, as whole-integer operations (no per-counter loop)."""
    for shift in (32, 16, 8, 4, 2, 1):
        lanes = (lanes | (lanes >> shift)) & _low_bits(shift, count)
    return lanes


@functools.lru_cache(maxsize=64)
def _low_bits(bits: int, count: int) -> int:
    return int.from_bytes(((1 << bits) - 1).to_bytes(8, "little") * count, "little")


def _total(module: ModuleCoverage) -> int:
    module.flush()
    return module.lanes


class ExploreGuide:
    """One ``explore`` call: measures each example, credits generated ones, scores them for hypothesis."""

    def __init__(
        self,
        guided: GuidedCoverage,
        module: ModuleCoverage,
        explicit: tuple[Any, ...],
        corpus: Corpus | None = None,
    ) -> None:
        self.guided = guided
        self.corpus = corpus
        self.module = module
        self.explicit = explicit
        self.count = len(module.counters)
        self.baseline = reached(_total(module), self.count)  # what the session reached before this case
        self.seen = self.baseline
        self.before = 0
        self.first_reached = 0  # counters this case's generated examples reached first
        self.best = 0

    def begin(self) -> None:
        self.before = _total(self.module)

    def end(self, value: Any, failed: bool = False) -> None:
        """After the example's hosts closed: credit its counters, keep it in the corpus when it reached
        code first (``failed``: freeze the corpus for shrinking), score it when targeting."""
        delta = _total(self.module) - self.before
        if any(value is e or value == e for e in self.explicit):
            return  # the user's own request (an explicit example) is a fixed request
        share = self.guided.share(self.module.sha256)
        share.lanes += delta
        share.examples += 1
        mine = reached(delta, self.count)
        new = (mine & ~self.seen).bit_count()
        self.seen |= mine
        self.first_reached += new
        if self.corpus is not None:
            if failed:
                self.corpus.frozen = True
            elif new:
                self.corpus.add(value)
        beyond = (mine & ~self.baseline).bit_count()
        self.best = max(self.best, beyond)
        if self.guided.guide and self.guided.target:
            import hypothesis

            scores = {"beyond": beyond, "new": new, "reached": mine.bit_count()}
            hypothesis.target(float(scores[self.guided.score]), label=LABEL)

    def details(self) -> dict[str, Any]:
        """For the case's ``details.coverage_guidance`` in run.json."""
        return {
            "guided": self.guided.guide,
            "counters": self.count,
            "reached_before": self.baseline.bit_count(),
            "first_reached_by_generated": self.first_reached,
            "most_beyond_in_one_example": self.best,
            "corpus": len(self.corpus.requests) if self.corpus is not None else 0,
        }


def explore_guide(run: Any, explicit: tuple[Any, ...], strategy: Any = None) -> ExploreGuide | None:
    """The guide for one ``explore`` call of ``run`` (a CaseRun); ``None`` without coverage."""
    guided = guided_for(getattr(run.runtime, "coverage", None))
    if guided is None:
        return None
    try:
        digest = run.compiled().sha256
    except Exception:  # the module does not load: the case reports it, nothing to measure
        return None
    module = run.runtime.coverage.modules.get(digest)
    if module is None:
        return None
    _, corpus = guided.corpora.get(id(strategy), (None, None))
    return ExploreGuide(guided, module, explicit, corpus)


def guided_requests(run: Any, strategy: Any) -> Any:
    """The request strategy of ``run``'s generated phase: with guidance, half of the requests take a
    path and headers from the module's own strings (plugin_coverage/dictionary.py)."""
    guided = guided_for(getattr(run.runtime, "coverage", None))
    if guided is None or not guided.guide or not (guided.dictionary or guided.corpus):
        return strategy
    try:
        digest = run.compiled().sha256
    except Exception:  # the module does not load: the case reports it
        return strategy
    module = run.runtime.coverage.modules.get(digest)
    if module is None:
        return strategy
    from .corpus import corpus_requests
    from .dictionary import module_strings, with_module_strings

    if digest not in guided.strings:
        guided.strings[digest] = module_strings(module.original)
    strings = guided.strings[digest]
    requests = with_module_strings(strategy, strings) if guided.dictionary else strategy
    if not guided.corpus:
        return requests
    corpus = Corpus()
    requests = corpus_requests(requests, corpus, strings)
    guided.corpora = {id(requests): (requests, corpus)}  # the one explore call about to run
    return requests


def guiding(guide: ExploreGuide | None) -> bool:
    """Whether hypothesis's targeting phase should run (it changes draws only when guiding)."""
    return guide is not None and guide.guided.guide and guide.guided.target
