"""The report's memory section (mxhandles/bench/memory.py): a case runs in a
subprocess and reports what it measured; verdicts, JSON and the CLI wiring.
Small counts only: nothing here asserts the 1M/16M figures themselves."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mxhandles.__main__ import main
from mxhandles.bench import memory
from mxhandles.bench.memory import (MemoryCase, MemoryReport, MemoryResult,
                                    measure_here, run_case, run_memory,
                                    selected)

SMALL = [MemoryCase("duplicates", 20_000, max_bytes=48.0),
         MemoryCase("events", 20_000),
         MemoryCase("duplicates", 40_000, quick=False, must_fit=True)]


def test_case_in_a_subprocess() -> None:
    r = run_case(SMALL[0])
    assert r.error is None, r.error
    assert r.raw["live_handles"] == 20_001  # and init's handle to holder
    # One slot is 16 bytes; the figure lands between that and the target
    # (pages are touched 4 KiB at a time, malloc rounds).
    bph = r.bytes_per_handle
    assert bph is not None and 8 <= bph <= 48
    assert abs(r.raw["python_blocks_delta"]) < 1000  # no per-handle object
    assert r.met is True


def test_events_cost_more_than_duplicates() -> None:
    rep = run_memory(True, cases=SMALL)
    assert [r.case.name for r in rep.results] == ["20k duplicates",
                                                  "20k events"]
    assert [c.name for c in rep.skipped] == ["40k duplicates"]
    obj = rep.object_bytes()
    assert obj is not None and obj > 32  # an object is more than a slot
    assert rep.verdicts() == [True]


def test_measure_here_checks_its_arguments() -> None:
    with pytest.raises(ValueError):
        measure_here("channels", 10)
    with pytest.raises(ValueError):
        measure_here("events", 0)


def test_verdicts() -> None:
    dup = MemoryCase("duplicates", 100, max_bytes=48.0)
    raw = {"live_handles": 101, "rss_delta": 101 * 20, "malloc_delta": None,
           "python_blocks_delta": 3, "peak_rss": None, "seconds": 0.1}
    assert MemoryResult(dup, dict(raw)).met is True
    assert MemoryResult(dup, dict(raw, rss_delta=101 * 49)).met is False
    assert MemoryResult(dup, error="boom").met is False
    fit = MemoryCase("duplicates", 100, must_fit=True)
    assert MemoryResult(fit, dict(raw, rss_delta=None)).met is True
    assert MemoryResult(fit, error="MemoryError").met is False
    assert MemoryResult(MemoryCase("events", 100), dict(raw)).met is None
    rep = MemoryReport([MemoryResult(dup, dict(raw)),
                        MemoryResult(fit, error="child exited 1: x")])
    assert rep.verdicts() == [True, False]
    assert len(rep.errors()) == 1
    lines = "\n".join(rep.format_lines())
    assert "ERROR 100 duplicates: child exited 1: x" in lines
    doc = json.loads(json.dumps(rep.as_dict()))
    assert doc["cases"][0]["rss_bytes_per_handle"] == 20.0
    assert doc["cases"][0]["malloc_bytes_per_handle"] is None
    assert doc["cases"][1]["met"] is False


def test_selection() -> None:
    assert selected(None) and selected("") and selected("memory")
    assert selected("MEM*") and selected("duplicate, mem")
    assert not selected("duplicate") and not selected("close*")


def test_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(memory, "CASES", SMALL[:1])
    out = tmp_path / "bench.json"
    assert main(["bench", "--rows", "memory", "--repeats", "2",
                 "--sample-ms", "0.05", "--no-progress", "--json",
                 str(out)]) == 0
    text = capsys.readouterr().out
    assert "memory per live handle" in text and "20k duplicates" in text
    doc = json.loads(out.read_text())
    assert doc["rows"] == []
    assert doc["memory"]["cases"][0]["met"] is True
    assert doc["targets_judged"] == 1 and doc["targets_met"] == 1
    # --no-memory leaves it out; nothing else matches, so no run at all.
    assert main(["bench", "--rows", "memory", "--no-memory",
                 "--no-progress"]) == 2


def test_other_rows_leave_memory_out(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--rows", "replace", "--repeats", "2",
                 "--sample-ms", "0.05", "--no-progress", "--json",
                 str(out)]) == 0
    assert json.loads(out.read_text())["memory"] is None
