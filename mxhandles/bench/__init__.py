"""The benchmark report behind ``python -m mxhandles bench``.

- :mod:`.harness` — timeit-style loops, calibration, interleaved repeats;
- :mod:`.rows` — the registry of operations (:data:`ROWS`) and their
  targets;
- :mod:`.report` — running the rows, the table, ``--json`` and ``--plot``.
"""
from __future__ import annotations

from .harness import Measurement, Stats, Variant, measure
from .report import (
    FULL,
    QUICK,
    Progress,
    Report,
    RowResult,
    ScalingResult,
    Settings,
    judge_scaling,
    format_report,
    run_rows,
    write_json,
    write_plot,
)
from .rows import (
    METRICS,
    NS_METRICS,
    ROWS,
    SCALING,
    VARIANTS,
    Fixture,
    Row,
    Scaling,
    Target,
    select_rows,
)

__all__ = [
    "FULL", "METRICS", "NS_METRICS", "QUICK", "ROWS", "SCALING", "VARIANTS",
    "Fixture", "Measurement", "Progress", "Report", "Row", "RowResult",
    "Scaling", "ScalingResult", "Settings", "Stats", "Target", "Variant",
    "format_report", "judge_scaling", "measure", "run_rows", "select_rows",
    "write_json", "write_plot",
]
