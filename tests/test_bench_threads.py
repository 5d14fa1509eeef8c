"""The report's threads section (mxhandles/bench/threads.py): the workloads
run on 1 and 2 threads, the section's JSON and table, the CLI wiring.  Tiny
windows; nothing here asserts a speed or a ratio."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mxhandles.__main__ import main
from mxhandles.bench import report as report_mod
from mxhandles.bench.threads import (LAYOUTS, WORKLOADS, ThreadsReport,
                                     gil_state, throughput)


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("layout", LAYOUTS, ids=[name for name, _, _ in
                                                 LAYOUTS])
def test_throughput(workload: str, layout: Any) -> None:
    _, n, same = layout
    assert throughput(workload, n, same, 0.01) > 0


def test_unknown_workload() -> None:
    with pytest.raises(ValueError):
        throughput("fork", 1, False, 0.01)


def _fake(ops: float = 1000.0) -> ThreadsReport:
    rep = ThreadsReport(0.01, 2)
    for w in WORKLOADS:
        rep.samples[w] = {name: [ops * n, ops * n + 2]
                          for name, n, _ in LAYOUTS}
    return rep


def test_report_shapes() -> None:
    rep = _fake()
    name2 = LAYOUTS[1][0]
    assert rep.ratio(WORKLOADS[0], name2) == pytest.approx(2001 / 1001)
    doc = json.loads(json.dumps(rep.as_dict()))
    assert doc["python_build"] == gil_state()
    cell = doc["workloads"][WORKLOADS[0]][name2]
    assert set(cell) == {"ops_per_s", "ratio_to_1_thread",
                         "samples_ops_per_s"}
    text = "\n".join(rep.format_lines())
    assert all(w in text for w in WORKLOADS) and "(x2.00)" in text


def test_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(report_mod, "run_threads", lambda *a, **k: _fake())
    out = tmp_path / "bench.json"
    assert main(["bench", "--rows", "threads", "--no-progress", "--json",
                 str(out)]) == 0
    assert "Python threads calling syscalls" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["rows"] == [] and doc["memory"] is None
    assert set(doc["threads"]["workloads"]) == set(WORKLOADS)
    assert main(["bench", "--rows", "threads", "--no-threads",
                 "--no-progress"]) == 2
