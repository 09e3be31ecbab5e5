"""Metrics as Envoy keeps them: ids carry the type in the low 2 bits; one stat per name."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .abi.enums import MetricType, WasmResult

U64 = (1 << 64) - 1


@dataclass
class Metric:
    name: str
    kind: MetricType
    value: int = 0
    samples: list[int] = field(default_factory=list)


class Metrics:
    """Counters, gauges and histograms. ``define`` hands out ids 4, 8, 12... (+ type) like Envoy."""

    def __init__(self) -> None:
        self.by_name: dict[tuple[MetricType, str], Metric] = {}
        self.by_id: dict[int, Metric] = {}
        self._ids = itertools.count(1)

    def define(self, kind: int, name: str) -> tuple[WasmResult, int]:
        if kind > MetricType.HISTOGRAM:
            return WasmResult.BAD_ARGUMENT, 0
        metric_type = MetricType(kind)
        metric = self.by_name.setdefault((metric_type, name), Metric(name, metric_type))
        metric_id = (next(self._ids) << 2) | metric_type
        self.by_id[metric_id] = metric
        return WasmResult.OK, metric_id

    def increment(self, metric_id: int, delta: int) -> WasmResult:
        metric = self.by_id.get(metric_id)
        if metric is None:
            return WasmResult.NOT_FOUND
        if metric.kind is MetricType.COUNTER:
            if delta <= 0:
                return WasmResult.BAD_ARGUMENT
            metric.value = (metric.value + delta) & U64
        elif metric.kind is MetricType.GAUGE:
            metric.value += delta
        else:
            return WasmResult.BAD_ARGUMENT
        return WasmResult.OK

    def record(self, metric_id: int, value: int) -> WasmResult:
        metric = self.by_id.get(metric_id)
        if metric is None:
            return WasmResult.NOT_FOUND
        if metric.kind is MetricType.COUNTER:
            metric.value = (metric.value + value) & U64  # Envoy: record on a counter adds
        elif metric.kind is MetricType.GAUGE:
            metric.value = value
        else:
            metric.samples.append(value)
        return WasmResult.OK

    def get(self, metric_id: int) -> tuple[WasmResult, int]:
        metric = self.by_id.get(metric_id)
        if metric is None:
            return WasmResult.NOT_FOUND, 0
        if metric.kind is MetricType.HISTOGRAM:
            return WasmResult.BAD_ARGUMENT, 0
        return WasmResult.OK, metric.value & U64

    def snapshot(self) -> dict[str, int]:
        """Counter and gauge values by name, and histogram sample counts, as Envoy's /stats shows them."""
        out: dict[str, int] = {}
        for (kind, name), metric in self.by_name.items():
            out[name] = len(metric.samples) if kind is MetricType.HISTOGRAM else metric.value
        return out

    def __getitem__(self, name: str) -> int:
        return self.snapshot()[name]
