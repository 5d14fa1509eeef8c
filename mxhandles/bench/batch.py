"""Batch entry points against per-call loops, from Python:
``python -m mxhandles.bench.batch``.

Closing ``n`` handles by one ``mx_handle_close_many(hs)`` against a loop of
``n`` ``mx_handle_close(h)``, for n = 1, 4, 16, 64, 1024.  Each sample
first makes :data:`TOTAL` duplicates of an event handle (untimed, split into
lists of ``n``), then times closing all of them one way; ns per handle,
median over the repeats, the two ways interleaved.  An evaluation for
deciding which batch calls to add (docs/performance.md), not a row of the
report.
"""
from __future__ import annotations

import gc
import statistics
import sys
import time
from typing import Callable, Dict, List, Sequence

from ..constants import RIGHT_SAME_RIGHTS
from ..kernel import Kernel

SIZES = (1, 4, 16, 64, 1024)
#: Handles closed per sample.
TOTAL = 16384


def _batches(dup: Callable[[int, int], int], h: int, n: int
             ) -> List[List[int]]:
    r = int(RIGHT_SAME_RIGHTS)
    return [[dup(h, r) for _ in range(n)] for _ in range(TOTAL // n)]


def close_ns(n: int, repeats: int) -> Dict[str, float]:
    """Median ns per handle of ``close_many`` batches of ``n`` and of a
    loop of ``close``."""
    proc = Kernel(seed=1).init
    dup, close, close_many = (proc.mx_handle_duplicate, proc.mx_handle_close,
                              proc.mx_handle_close_many)
    h = proc.mx_event_create()
    samples: Dict[str, List[float]] = {"close_many": [], "close loop": []}
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for r in range(repeats + 1):  # the first warms up
            for way in (("close_many", "close loop") if r % 2
                        else ("close loop", "close_many")):
                batches = _batches(dup, h, n)
                if way == "close_many":
                    t0 = clock()
                    for hs in batches:
                        close_many(hs)
                    t = clock() - t0
                else:
                    t0 = clock()
                    for hs in batches:
                        for x in hs:
                            close(x)
                    t = clock() - t0
                if r:
                    samples[way].append(t / TOTAL)
    finally:
        gc.enable()
    return {way: statistics.median(s) for way, s in samples.items()}


def run(sizes: Sequence[int] = SIZES, repeats: int = 15) -> List[str]:
    """The table, one line per batch size."""
    out = ["closing handles from Python: ns per handle, median of %d "
           "samples of %d handles" % (repeats, TOTAL),
           "  %6s  %12s  %12s  %8s" % ("n", "close_many", "close loop",
                                       "speed-up")]
    for n in sizes:
        ns = close_ns(n, repeats)
        out.append("  %6d  %12.1f  %12.1f  %7.2fx" % (
            n, ns["close_many"], ns["close loop"],
            ns["close loop"] / ns["close_many"]))
    return out


if __name__ == "__main__":
    print("\n".join(run(repeats=5 if "--quick" in sys.argv[1:] else 15)))
