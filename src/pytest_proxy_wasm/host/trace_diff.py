"""The first record where two traces (the emulator's and Envoy's) diverge, with context around it.

Records compare by kind, name, the arguments that are not addresses or context ids, and status
(``TraceRecord.key``): the same module fed the same exchange makes the same calls on both hosts.
"""

from __future__ import annotations

from collections.abc import Sequence

from .trace import TraceRecord

CONTEXT = 3


def first_divergence(
    left: Sequence[TraceRecord], right: Sequence[TraceRecord], context: int = CONTEXT
) -> int | None:
    """Index of the first differing record; ``None`` when the traces agree (or both are empty)."""
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a.key() != b.key():
            return index
    if len(left) != len(right):
        return min(len(left), len(right))
    return None


def divergence_report(
    left: Sequence[TraceRecord],
    right: Sequence[TraceRecord],
    names: tuple[str, str] = ("emulator", "envoy"),
    context: int = CONTEXT,
) -> str | None:
    """Readable lines: the calls both made before, then each side's divergent call and what followed."""
    index = first_divergence(left, right, context)
    if index is None:
        return None
    width = max(len(n) for n in names)
    lines = [
        f"first divergent call: record {index + 1} of {len(left)} ({names[0]}) / {len(right)} ({names[1]})"
    ]
    lines += [f"  {'both':<{width}}  {r.line()}" for r in left[max(0, index - context) : index]]
    for name, trace in zip(names, (left, right), strict=True):
        shown = trace[index : index + 1 + context]
        if not shown:
            lines.append(f"  {name:<{width}}  (trace ends here)")
        for offset, record in enumerate(shown):
            mark = ">" if offset == 0 else " "
            lines.append(f"{mark} {name:<{width}}  {record.line()}")
    return "\n".join(lines)
