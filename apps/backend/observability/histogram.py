"""A lock-free histogram for the per-frame hot path, exposed as an ordinary Prometheus histogram.

`prometheus_client.Histogram.observe` takes a lock and walks every bucket; at 50 frames a second per call
that is measurable. Everything here runs on the one event-loop thread, so a sorted bucket search and an
integer increment are enough; the collector turns the counts into cumulative buckets when scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector


class VadCounts(Protocol):
    """What `VadBatchCounters` reads (a `voice.audio.vad_batcher.VadBatcher`)."""

    @property
    def windows_run(self) -> int: ...

    @property
    def windows_skipped(self) -> int: ...

    @property
    def batches_run(self) -> int: ...


class LoopHistogram(Collector):
    """Observed only from the event loop thread; scraped from anywhere (a torn read is off by one)."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(sorted(buckets))
        self._counts = [0] * (len(self.bounds) + 1)  # the last slot is +Inf
        self._sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self.bounds, value)] += 1
        self._sum += value

    @property
    def count(self) -> int:
        return sum(self._counts)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        cumulative, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self._counts, strict=True):
            running += count
            cumulative.append((_le(bound), running))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], cumulative, sum_value=self._sum)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class LoopCounters(Collector):
    """Plain integer counters with one label, for the hot path (no lock: loop thread only)."""

    def __init__(self, name: str, documentation: str, label: str, values: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.label = label
        self.counts = dict.fromkeys(values, 0)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=[self.label])
        for value, count in self.counts.items():
            family.add_metric([value], count)
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, labels=[self.label])


class VadBatchCounters(Collector):
    """The shared VAD batcher's own counters (`VadBatcher.windows_run`, `windows_skipped`, `batches_run`),
    read when scraped: windows run per batch is what the batching saves at a given load."""

    def __init__(self, batcher: VadCounts) -> None:
        self._batcher = batcher

    def collect(self) -> Iterator[CounterMetricFamily]:
        windows = CounterMetricFamily(
            "switchboard_vad_windows",
            "32 ms VAD windows by result: run through the model, or skipped as quiet (probability 0).",
            labels=["result"],
        )
        windows.add_metric(["run"], self._batcher.windows_run)
        windows.add_metric(["skipped"], self._batcher.windows_skipped)
        yield windows
        yield CounterMetricFamily(
            "switchboard_vad_batches",
            "Model runs of the shared VAD batcher (windows run / batches = the mean batch).",
            value=self._batcher.batches_run,
        )

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily("switchboard_vad_windows", "", labels=["result"])
        yield CounterMetricFamily("switchboard_vad_batches", "")
