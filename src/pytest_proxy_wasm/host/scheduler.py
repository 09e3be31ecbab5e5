"""Events waiting for virtual time: callout answers, queue notifications. Ticks live on root contexts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class Event:
    due_ns: int
    order: int
    deliver: Callable[[], None] = field(compare=False)
    label: str = field(default="", compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    """A time-ordered list of pending deliveries; ties run in the order they were scheduled."""

    def __init__(self) -> None:
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
