"""python -m mxhandles.bench.instructions: the child side and the table
(the callgrind runs themselves take about a minute a row: not here)."""
from __future__ import annotations

import subprocess
import sys

from mxhandles.bench import instructions
from mxhandles.bench.rows import ROWS, select_rows


def test_child_runs_a_rows_loop_for_each_countable_variant():
    (row,) = select_rows("duplicate+close")
    names = instructions.countable(row)
    assert names == ["mx", "model", "floor"]
    for variant in names:
        instructions._child(row.name, variant, 50)


def test_one_shot_rows_are_not_counted():
    nests = [r for r in ROWS if r.name == "close nest depth 10k"]
    assert instructions.countable(nests[0]) == []


def test_table_ratios():
    table = instructions.format_table([
        {"row": "op", "n": 10,
         "instructions": {"mx": 1000.0, "model": 3000.0, "floor": 500.0}},
        {"row": "no floor", "n": 10,
         "instructions": {"mx": 200.0, "model": 100.0}},
    ])
    lines = table.splitlines()
    assert lines[0].split() == ["operation", "mx", "model", "floor",
                                "model/mx", "mx/floor"]
    assert lines[2].split() == ["op", "1,000", "3,000", "500", "3.00", "2.00"]
    assert lines[3].split() == ["no", "floor", "200", "100", "0.50"]


def test_no_matching_row_is_an_error():
    proc = subprocess.run(
        [sys.executable, "-m", "mxhandles.bench.instructions", "--rows",
         "no such row"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "no row matches" in proc.stderr or "valgrind" in proc.stderr
