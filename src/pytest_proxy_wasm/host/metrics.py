"""Metrics as Envoy keeps them: ids carry the type in the low 2 bits; one stat per name.

Envoy (``source/extensions/common/wasm/context.cc``) keeps the id tables on each Wasm (so per VM) with one
counter per type: counters 4, 8, 12...; gauges 5, 9, 13...; histograms 6, 10, 14... The stats themselves
live in the server's scope (``wasmcustom.<name>``), so the same name in any VM is the same stat.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from .abi.enums import MetricType, WasmResult

U64 = (1 << 64) - 1
M32 = 0xFFFFFFFF
TYPE_MASK = 0x3
ID_INCREMENT = 0x4


@dataclass
class Metric:
    name: str
    kind: MetricType
    value: int = 0
    samples: list[int] = field(default_factory=list)


class Metrics:
    """Counters, gauges and histograms. ``scope`` is the VM that defined an id (ids are per VM)."""

    def __init__(self) -> None:
        self.by_name: dict[tuple[MetricType, str], Metric] = {}
        self.by_id: dict[tuple[Hashable, int], Metric] = {}
        self._last_ids: dict[tuple[Hashable, MetricType], int] = {}

    def define(self, kind: int, name: str, scope: Hashable = None) -> tuple[WasmResult, int]:
        if kind > MetricType.HISTOGRAM:
            return WasmResult.BAD_ARGUMENT, 0
        metric_type = MetricType(kind)
        metric = self.by_name.setdefault((metric_type, name), Metric(name, metric_type))
        key = (scope, metric_type)
        metric_id = (self._last_ids.get(key, int(metric_type)) + ID_INCREMENT) & M32
        self._last_ids[key] = metric_id
        self.by_id[(scope, metric_id)] = metric
        return WasmResult.OK, metric_id

    def _find(self, metric_id: int, scope: Hashable) -> Metric | None:
        return self.by_id.get((scope, metric_id))

    def increment(self, metric_id: int, delta: int, scope: Hashable = None) -> WasmResult:
        """Envoy ``incrementMetric``: the type bits decide first; histogram or type-3 ids: BAD_ARGUMENT."""
        kind = metric_id & TYPE_MASK
        if kind not in (MetricType.COUNTER, MetricType.GAUGE):
            return WasmResult.BAD_ARGUMENT
        metric = self._find(metric_id, scope)
        if metric is None:
            return WasmResult.NOT_FOUND
        if kind == MetricType.COUNTER:
            if delta <= 0:
                return WasmResult.BAD_ARGUMENT
            metric.value = (metric.value + delta) & U64
        else:
            metric.value += delta
        return WasmResult.OK

    def record(self, metric_id: int, value: int, scope: Hashable = None) -> WasmResult:
        """Envoy ``recordMetric``: counter adds, gauge sets, histogram records; anything else NOT_FOUND."""
        metric = self._find(metric_id, scope)
        if metric is None:
            return WasmResult.NOT_FOUND
        if metric.kind is MetricType.COUNTER:
            metric.value = (metric.value + value) & U64  # Envoy: record on a counter adds
        elif metric.kind is MetricType.GAUGE:
            metric.value = value
        else:
            metric.samples.append(value)
        return WasmResult.OK

    def get(self, metric_id: int, scope: Hashable = None) -> tuple[WasmResult, int]:
        """Envoy ``getMetric``: histogram (or type 3) ids are BAD_ARGUMENT, known or not."""
        if metric_id & TYPE_MASK not in (MetricType.COUNTER, MetricType.GAUGE):
            return WasmResult.BAD_ARGUMENT, 0
        metric = self._find(metric_id, scope)
        if metric is None:
            return WasmResult.NOT_FOUND, 0
        return WasmResult.OK, metric.value & U64

    def snapshot(self) -> dict[str, int]:
        """Counter and gauge values by name, and histogram sample counts, as Envoy's /stats shows them."""
        out: dict[str, int] = {}
        for (kind, name), metric in self.by_name.items():
            out[name] = len(metric.samples) if kind is MetricType.HISTOGRAM else metric.value
        return out

    def samples(self, name: str) -> list[int]:
        """The values recorded in histogram ``name`` (KeyError if no histogram has that name)."""
        return list(self.by_name[(MetricType.HISTOGRAM, name)].samples)

    def __getitem__(self, name: str) -> int:
        return self.snapshot()[name]
