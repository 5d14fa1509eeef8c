"""pytest-benchmark suites for the channel rows of the report.

The ``channels`` group of ``mxhandles.bench.ROWS``:

- ``channel write+read (0/1/4/64 handles)``: one message written to a
  channel of init and read back from the other end, its handles going out
  again in the next write; ``mx``, ``model`` (while the model has
  channels), ``floor`` (two empty cffi calls, an approximation) and ``os``
  (``socket.send_fds`` + ``socket.recv_fds`` over a Unix socket pair,
  closing the fds that arrive);
- ``close nest depth 10k/100k/1M``: closing the outermost handle of a nest
  of channels built, untimed, before every round (``benchmark.pedantic``,
  one iteration a round; the time is for the whole nest, divide by
  ``extra_info["per"]`` for ns per level).  The 1M case builds a million
  channels from Python every round: several seconds each;
- ``collect (1000-channel cycle)``: ``Kernel.collect()`` of a fresh
  unreachable cycle each round (the time is for 1000 objects).

Run with ``python -m pytest bench/test_bench_channels.py --benchmark-enable``
(``-k "not 1M"`` to leave the slow case out).
"""
from __future__ import annotations

from typing import Any, Tuple

import pytest

from mxhandles.bench import Row
from mxhandles.bench.pytest_cases import case_id, cases, run_case

CASES = cases("channels")


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_channel_operation(benchmark: Any, case: Tuple[Row, str]) -> None:
    """One channel operation (one row, one variant)."""
    run_case(benchmark, *case)
