"""The leak rule of ``resources.memory_bounded``: warm up, then look for growth that persists.

Linear memory never shrinks, and garbage-collected runtimes grow it in steps while their heap warms up:
a Go (wasip1) module goes 3.4 → 5.8 → 7.3 → 8.1 → 8.4 MB over its first 5000 requests and then stays
flat. A leak instead keeps growing at a steady rate. Memory is sampled five times per window of ``WINDOW``
requests (or connections) and judged per window:

* plateau (pass, stop early): after ``MIN_WINDOWS`` windows, the last ``FLAT_WINDOWS`` did not grow;
* leak (fail, after ``MAX_WINDOWS``): every window of the second half grew, the second half grows at
  least half as fast as the first half after warm-up (no slowing down), and at ``MIN_RATE`` bytes per
  request or more;
* otherwise bounded (pass): growth that comes and goes, or slows down, is a runtime warming up.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = 500
MIN_WINDOWS = 4
FLAT_WINDOWS = 2
WARMUP_WINDOWS = 2
MAX_WINDOWS = 12
MIN_RATE = 128.0  # bytes per request: about one 64 KiB page per window


@dataclass(frozen=True)
class Verdict:
    leak: bool
    reason: str
    growth: list[int]  # bytes grown in each window


def window_growth(curve: list[tuple[int, int]], window: int = WINDOW) -> list[int]:
    """Bytes grown in each complete window of ``window`` requests (curve points at multiples of it)."""
    at = dict(curve)
    ends = [n for n, _ in curve if n and n % window == 0]
    return [at[n] - at[n - window] for n in ends if n - window in at]


def judge(
    curve: list[tuple[int, int]], *, final: bool, window: int = WINDOW, unit: str = "request"
) -> Verdict | None:
    """Decide on the curve so far; None means keep going (only before ``final``)."""
    growth = window_growth(curve, window)
    if len(growth) >= MIN_WINDOWS and not any(growth[-FLAT_WINDOWS:]):
        if not any(growth):
            return Verdict(False, f"memory stayed flat over {curve[-1][0]} {unit}s", growth)
        flat_from = curve[-1][0] - FLAT_WINDOWS * window
        return Verdict(False, f"memory grew during warm-up, then stayed flat from {unit} {flat_from}", growth)
    if not final:
        return None
    after = growth[WARMUP_WINDOWS:]
    half = len(after) // 2
    early, late = after[:half], after[half:]
    late_rate = sum(late) / (len(late) * window) if late else 0.0
    early_rate = sum(early) / (len(early) * window) if early else 0.0
    if late and all(late) and late_rate >= MIN_RATE and late_rate >= 0.5 * early_rate:
        return Verdict(
            True,
            f"memory grew in each of the last {len(late)} windows of {window} {unit}s, {late_rate:.0f} bytes "
            f"per {unit}, not slowing down (after warm-up: {early_rate:.0f} bytes per {unit})",
            growth,
        )
    if not late or not any(late):
        return Verdict(False, "memory stayed flat after warm-up", growth)
    if not all(late):
        grew = sum(1 for g in late if g)
        return Verdict(
            False,
            f"growth comes in steps ({grew} of the last {len(late)} windows grew), not a steady leak",
            growth,
        )
    return Verdict(
        False,
        f"growth slows down ({early_rate:.0f} then {late_rate:.0f} bytes per {unit}): a runtime warming up",
        growth,
    )


def curve_text(curve: list[tuple[int, int]]) -> str:
    step = max(1, len(curve) // 8)
    points = [*curve[::step], curve[-1]] if curve[-1] not in curve[::step] else curve[::step]
    return ", ".join(f"{n}: {size / 1e6:.1f} MB" for n, size in points)
