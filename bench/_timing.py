"""Timing that survives a busy machine: calibrated blocks, interleaved with a reference, medians of ratios.

Other processes share the two cores, so an absolute time drifts by tens of percent from one second to the
next. Every case is therefore timed in rounds, and each round also times the reference (the RSA floor)
right next to it: the ratio of two neighbours is stable even when both move, and the median over rounds
discards the rounds some other process spoiled.

Blocks are timed in this thread's CPU time (``time.thread_time``), not wall-clock time: with more
runnable processes than cores, the scheduler takes the CPU away for whole time slices in the middle of a
block, and wall-clock time would count those waits as ours. CPU time counts only the instructions this
thread ran (cache and memory-bandwidth interference from neighbours remains, and the median handles it).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CLOCK", "Measurement", "calibrate", "measure", "time_block"]

#: The clock every block is timed with: CPU time of the calling thread (see the module docstring).
CLOCK = time.thread_time


@dataclass(frozen=True, slots=True)
class Measurement:
    """Medians (microseconds per call) of a case and of its reference, and the median per-round ratio."""

    median_us: float
    reference_us: float
    ratio: float
    rounds: int


def time_block(fn: Callable[[], object], number: int) -> float:
    """Seconds per call over ``number`` back-to-back calls (garbage collection paused, as timeit does)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = CLOCK()
        for _ in range(number):
            fn()
        return (CLOCK() - start) / number
    finally:
        if enabled:
            gc.enable()


def calibrate(fn: Callable[[], object], block_seconds: float) -> int:
    """How many calls make one timing block last about ``block_seconds`` (at least one call)."""
    fn()  # warm up, and fail loudly before any timing if the call is broken
    number = 1
    while True:
        elapsed = time_block(fn, number) * number
        if elapsed >= block_seconds / 4 or number >= 1 << 22:
            break
        number *= 4
    per_call = max(elapsed / number, 1e-9)
    return max(1, round(block_seconds / per_call))


def measure(
    fn: Callable[[], object],
    reference: Callable[[], object],
    *,
    rounds: int,
    block_seconds: float,
    reference_number: int | None = None,
) -> Measurement:
    """Time ``fn`` and ``reference`` alternately for ``rounds`` rounds; medians and the median ratio."""
    number = calibrate(fn, block_seconds)
    ref_number = reference_number or calibrate(reference, block_seconds)
    case_times: list[float] = []
    ref_times: list[float] = []
    ratios: list[float] = []
    for index in range(rounds):
        # Alternate which goes first so neither always inherits the other's cache and branch state.
        if index % 2:
            case = time_block(fn, number)
            ref = time_block(reference, ref_number)
        else:
            ref = time_block(reference, ref_number)
            case = time_block(fn, number)
        case_times.append(case)
        ref_times.append(ref)
        ratios.append(case / ref)
    return Measurement(
        median_us=statistics.median(case_times) * 1e6,
        reference_us=statistics.median(ref_times) * 1e6,
        ratio=statistics.median(ratios),
        rounds=rounds,
    )
