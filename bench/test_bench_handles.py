"""pytest-benchmark suites for the handle operations of the report.

Every row of ``mxhandles.bench.ROWS`` (the registry behind ``python -m
mxhandles bench``) in the ``handles`` group becomes one benchmark group
here, with one benchmark per variant: ``mx`` (the C-backed kernel),
``model`` (the pure-Python model), ``floor`` (empty cffi calls with the
same argument types) and ``os`` (the real kernel's equivalent, where there
is one).  So the two tools always measure the same statements.  The
channel rows are in ``test_bench_channels.py``.

Run with ``python -m pytest bench --benchmark-enable`` (the project's pytest
configuration disables benchmarks, which then run once each, as smoke
tests).  Compare runs with ``--benchmark-autosave`` and
``pytest-benchmark compare``.
"""
from __future__ import annotations

from typing import Any, Tuple

import pytest

from mxhandles.bench import Row
from mxhandles.bench.pytest_cases import case_id, cases, run_case

CASES = cases("handles")


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_operation(benchmark: Any, case: Tuple[Row, str]) -> None:
    """ns per call of one operation (one row, one variant)."""
    run_case(benchmark, *case)
