"""Events waiting for virtual time: callout answers, queue notifications. Ticks live on root contexts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .contexts import RootContext

if TYPE_CHECKING:
    from .host import Host


@dataclass(order=True)
class Event:
    due_ns: int
    order: int
    deliver: Callable[[], None] = field(compare=False)
    label: str = field(default="", compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    """A time-ordered list of pending deliveries; ties run in the order they were scheduled.

    Ticks are kept on the root contexts; ``next_due`` merges both, ``fire`` delivers one.
    """

    def __init__(self, host: Host) -> None:
        self.host = host
        self.events: list[Event] = []
        self._order = itertools.count()

    def schedule(self, due_ns: int, deliver: Callable[[], None], label: str = "") -> Event:
        event = Event(due_ns, next(self._order), deliver, label)
        self.events.append(event)
        return event

    def next_event(self) -> Event | None:
        live = [e for e in self.events if not e.cancelled]
        self.events = live
        return min(live, default=None)

    def pop(self, event: Event) -> None:
        self.events.remove(event)

    def __len__(self) -> int:
        return sum(1 for e in self.events if not e.cancelled)

    def next_due(self, horizon_ns: int) -> tuple[int, object] | None:
        """The earliest pending thing (a scheduled event or a root's tick) due by ``horizon_ns``."""
        event = self.next_event() if self.events else None
        candidates: list[tuple[int, int, object]] = []
        if event is not None and event.due_ns <= horizon_ns:
            candidates.append((event.due_ns, 0, event))
        for root in self.host.all_roots:  # every thread's and service's root, in creation order
            if root.tick_period_ms and root.next_tick_ns <= horizon_ns and root.vm.failure is None:
                candidates.append((root.next_tick_ns, 1, root))
        if not candidates:
            return None
        due, _, what = min(candidates, key=lambda c: (c[0], c[1]))
        return due, what

    def fire(self, due: int, what: object) -> None:
        self.host.clock.advance_ns(max(0, due - self.host.clock.monotonic_ns))
        if isinstance(what, RootContext):
            what.next_tick_ns += what.tick_period_ms * 1_000_000
            what.vm.call(what, "proxy_on_tick", what.id)
            self.host.after_callback()
        else:
            assert isinstance(what, Event)
            self.pop(what)
            what.deliver()
