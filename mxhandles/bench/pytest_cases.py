"""The registry's rows as pytest-benchmark cases (used by ``bench/``).

:func:`cases` lists ``(row, variant)`` pairs of one group of rows and
:func:`run_case` benchmarks one of them on a fresh fixture.  A steady-state
variant is handed to ``benchmark`` as a zero-argument callable; a one-shot
variant (closing a nest, collecting a cycle) goes through
``benchmark.pedantic`` with its ``prepare`` as the untimed setup of every
round, one iteration a round, as many rounds as the row's full-run repeats
(pytest-benchmark reports the time of the whole operation; ``extra_info``
holds ``per`` and ``unit`` to divide by).
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from .rows import ROWS, VARIANTS, Row

#: Rounds of a one-shot case when the row does not cap its repeats.
ONE_SHOT_ROUNDS = 20


def cases(group: str) -> List[Tuple[Row, str]]:
    """Every (row, variant) of the rows of ``group`` that has a
    statement (whether the variant can run here is known only once the
    row's fixture is built)."""
    return [(row, variant) for row in ROWS if row.group == group
            for variant in VARIANTS if row.statement(variant) is not None]


def case_id(case: Tuple[Row, str]) -> str:
    """A pytest id: the row's name with runs of punctuation as ``_``, then
    the variant."""
    row, variant = case
    return "%s-%s" % (re.sub(r"[^A-Za-z0-9_+]+", "_", row.name).strip("_"),
                      variant)


def run_case(benchmark: Any, row: Row, variant: str) -> None:
    """Benchmarks ``row``'s ``variant`` with pytest-benchmark's fixture
    ``benchmark`` on a fresh fixture, closed afterwards; skips (through
    pytest) a variant this system or the model lacks."""
    import pytest

    fixture = row.setup()
    try:
        variants = row.variants(fixture)
        if variant not in variants:
            pytest.skip("%s: no %s variant here" % (row.name, variant))
        v = variants[variant]
        benchmark.group = row.name
        benchmark.extra_info.update(variant=variant,
                                    statement=row.statement(variant),
                                    unit=row.unit)
        if not v.one_shot:
            benchmark(v.as_callable())
            return
        op = v.as_function()
        prepare = v.prepare
        assert prepare is not None

        def setup() -> Tuple[Tuple[()], Dict[str, Any]]:
            prepare(v.env)
            return (), dict(v.env)

        rounds = row.max_repeats[1] if row.max_repeats else ONE_SHOT_ROUNDS
        if isinstance(row.per, int):
            benchmark.extra_info["per"] = row.per
        benchmark.pedantic(op, setup=setup, rounds=rounds, iterations=1)
    finally:
        fixture.close()
