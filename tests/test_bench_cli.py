"""The benchmark report's machinery (``python -m mxhandles bench``).

These tests run the harness with tiny repeat counts and check structure:
JSON shape, row selection, target verdicts on made-up samples, the exit
status.  They never assert anything about speed.
"""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

import mxhandles.bench as bench
from mxhandles.__main__ import main
from mxhandles.bench import (
    METRICS,
    ROWS,
    Measurement,
    Progress,
    Report,
    Row,
    RowResult,
    Settings,
    Target,
    Variant,
    run_rows,
    select_rows,
)
from mxhandles.bench.report import machine_info

TINY = Settings("test", repeats=2, sample_ms=0.05)
TINY_ARGS = ["--repeats", "2", "--sample-ms", "0.05", "--no-progress"]


def _check_stats(d: Dict[str, Any]) -> None:
    assert set(d) == {"min", "median", "max", "mean"}
    assert d["min"] <= d["median"] <= d["max"]
    assert all(isinstance(v, float) for v in d.values())


def test_every_row_runs() -> None:
    """Every statement of every row executes on its fixture."""
    report = run_rows(ROWS, TINY)
    assert [r.error for r in report.rows] == [None] * len(ROWS)
    for r in report.rows:
        assert r.has("mx") and r.has("model") and r.has("floor")
        if r.row.os is None:
            assert not r.has("os")


def test_json_structure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    rc = main(["bench", "--rows", "duplicate,replace", "--json", str(out),
               *TINY_ARGS])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == "mxhandles-bench/1"
    assert doc["settings"] == {"repeats": 2, "sample_ms": 0.05}
    assert {"python", "cffi", "cpu_count", "platform",
            "mxhandles"} <= set(doc["machine"])
    assert doc["loop_overhead_ns"] > 0
    assert doc["errors"] == 0
    assert [r["name"] for r in doc["rows"]] == ["duplicate+close", "replace"]
    dup, rep = doc["rows"]
    assert set(dup["variants"]) == {"mx", "model", "floor", "os"}
    assert set(rep["variants"]) == {"mx", "model", "floor"}  # no os
    for row in doc["rows"]:
        for v in row["variants"].values():
            assert v["loops"] >= 1
            assert len(v["samples_ns"]) == 2
            _check_stats(v["ns"])
        for name, ratio in row["ratios"].items():
            assert name in METRICS
            _check_stats(ratio)
        for t in row["targets"]:
            assert set(t) == {"metric", "op", "value", "actual", "met"}
            assert t["met"] in (True, False)
        assert row["error"] is None
    assert "os/mx" not in rep["ratios"]
    judged = sum(len(r["targets"]) for r in doc["rows"])
    assert doc["targets_judged"] == judged
    assert doc["all_met"] == (doc["targets_met"] == judged)


def test_table_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rows", "object_signal", *TINY_ARGS]) == 0
    out = capsys.readouterr().out
    assert "object_signal" in out
    assert "cffi" in out and "CPUs" in out  # the header
    assert "targets met:" in out
    assert out.rstrip().splitlines()[-1].startswith("read:")  # the footer


def test_row_selection() -> None:
    names = [r.name for r in ROWS]
    assert select_rows(None) == list(ROWS)
    assert [r.name for r in select_rows("duplicate")] == ["duplicate+close"]
    assert [r.name for r in select_rows("DUPLICATE")] == ["duplicate+close"]
    picked = [r.name for r in select_rows("*close*, get_info")]
    assert picked == [n for n in names if "close" in n or "get_info" in n]
    assert select_rows("no such row") == []


def test_no_matching_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rows", "no such row", *TINY_ARGS]) == 2
    assert "duplicate+close" in capsys.readouterr().err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    for row in ROWS:
        assert row.name in out


def test_rows_are_well_formed() -> None:
    names = [r.name for r in ROWS]
    assert len(set(names)) == len(names)
    for row in ROWS:
        assert row.targets, row.name
        for t in row.targets:
            assert t.metric in METRICS


def _fake_result(samples: Dict[str, List[float]], *targets: Target
                 ) -> RowResult:
    row = Row(name="fake", doc="made up", mx="pass", floor="pass",
              floor_doc="nothing", os="pass", targets=targets)
    m = Measurement({k: 1 for k in samples}, samples)
    return RowResult(row, m)


def test_target_verdicts() -> None:
    r = _fake_result({"mx": [100.0, 110.0, 100.0],
                      "model": [400.0, 300.0, 500.0],
                      "floor": [80.0, 80.0, 80.0],
                      "os": [150.0, 150.0, 150.0]},
                     Target("model/mx", ">=", 3), Target("os/mx", ">=", 1.7),
                     Target("mx/floor", "<=", 1.6))
    assert r.ratio("model/mx").median == pytest.approx(4.0)  # type: ignore
    verdicts = {t.target.metric: t.met for t in r.targets()}
    assert verdicts == {"model/mx": True, "os/mx": False, "mx/floor": True}
    assert not r.all_met()


def test_target_without_data_is_not_judged() -> None:
    r = _fake_result({"mx": [1.0], "model": [5.0], "floor": [1.0]},
                     Target("os/mx", ">=", 1))
    [t] = r.targets()
    assert t.actual is None and t.met is None
    assert r.all_met()


def test_target_rejects_unknown_metric() -> None:
    with pytest.raises(ValueError):
        Target("mx/model", ">=", 1)
    with pytest.raises(ValueError):
        Target("os/mx", ">", 1)


def _fake_report(met: bool) -> Report:
    mx = [100.0] if met else [1000.0]
    result = _fake_result({"mx": mx, "model": [500.0], "floor": [90.0]},
                          Target("model/mx", ">=", 3))
    return Report(TINY, machine_info(), 5.0, [result])


@pytest.mark.parametrize("met", [True, False])
def test_check_exit_status(monkeypatch: pytest.MonkeyPatch, met: bool,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench, "run_rows", lambda *a, **k: _fake_report(met))
    assert main(["bench", "--rows", "duplicate", *TINY_ARGS]) == 0
    assert main(["bench", "--rows", "duplicate", "--check",
                 *TINY_ARGS]) == (0 if met else 1)
    out = capsys.readouterr().out
    assert ("\u2717" in out or "MISS" in out) == (not met)


def test_failing_row_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    broken = Row(name="broken", doc="raises", mx="1 / 0", floor="pass",
                 floor_doc="nothing")
    report = run_rows([broken, *select_rows("replace")], TINY)
    assert report.rows[0].error is not None
    assert "ZeroDivisionError" in report.rows[0].error
    assert report.rows[1].error is None  # the run went on
    assert not report.all_met()
    assert json.loads(json.dumps(report.as_dict()))["errors"] == 1


def test_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    out = tmp_path / "ratios.png"
    monkeypatch.setattr(bench, "run_rows", lambda *a, **k: _fake_report(True))
    assert main(["bench", "--plot", str(out), *TINY_ARGS]) == 0
    assert "matplotlib" in capsys.readouterr().err
    assert not out.exists()


def test_variant_keeps_state() -> None:
    """A statement that rebinds a name continues from its last value."""
    v = Variant("n = n + 1", {"n": 0}, keep=("n",))
    v.run(5)
    v.run(3)
    assert v.env["n"] == 8
    op = v.as_callable()
    op()
    op()
    assert v.env["n"] == 8  # the callable keeps its own copy


def test_progress_line() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    p = Progress(tty)
    p.row(1, 2, "duplicate+close")
    p.update("repeat 1/5")
    p.done()
    assert "\r[1/2] duplicate+close repeat 1/5" in tty.getvalue()
    assert tty.getvalue().endswith("\r")

    log = io.StringIO()
    p = Progress(log)
    p.row(2, 2, "replace")
    p.update("repeat 1/5")
    p.done()
    assert log.getvalue() == "[2/2] replace ...\n"
