"""pytest-benchmark suites for the handle operations of the report.

Every row of ``mxhandles.bench.ROWS`` (the registry behind ``python -m
mxhandles bench``) becomes one benchmark group here, with one benchmark per
variant: ``mx`` (the C-backed kernel), ``model`` (the pure-Python model),
``floor`` (empty cffi calls with the same argument types) and ``os`` (the
real kernel's equivalent, where there is one).  So the two tools always
measure the same statements.

Run with ``python -m pytest bench --benchmark-enable`` (the project's pytest
configuration disables benchmarks, which then run once each, as smoke
tests).  Compare runs with ``--benchmark-autosave`` and
``pytest-benchmark compare``.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, List, Tuple

import pytest

from mxhandles.bench import ROWS, VARIANTS, Row

CASES: List[Tuple[Row, str]] = [
    (row, variant) for row in ROWS for variant in VARIANTS
    if row.statement(variant) is not None
]


def _case_id(case: Tuple[Row, str]) -> str:
    row, variant = case
    return "%s-%s" % (re.sub(r"[^A-Za-z0-9_+]+", "_", row.name).strip("_"),
                      variant)


@pytest.fixture(params=CASES, ids=[_case_id(c) for c in CASES])
def operation(request: pytest.FixtureRequest,
              benchmark: Any) -> Iterator[Any]:
    """The row's statement for one variant as a zero-argument callable, on a
    fresh fixture that is closed after the benchmark."""
    row, variant = request.param
    fixture = row.setup()
    try:
        variants = row.variants(fixture)
        if variant not in variants:
            pytest.skip("%s: no %s variant on this system" % (row.name,
                                                              variant))
        benchmark.group = row.name
        benchmark.extra_info.update(variant=variant,
                                    statement=row.statement(variant))
        yield variants[variant].as_callable()
    finally:
        fixture.close()


def test_operation(benchmark: Any, operation: Any) -> None:
    """ns per call of one operation (one row, one variant)."""
    benchmark(operation)
