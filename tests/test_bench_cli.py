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
from mxhandles import Kernel
from mxhandles.bench import (
    METRICS,
    NS_METRICS,
    ROWS,
    SCALING,
    Measurement,
    Progress,
    Report,
    Row,
    RowResult,
    Scaling,
    Settings,
    Target,
    Variant,
    format_report,
    judge_scaling,
    measure,
    run_rows,
    select_rows,
)
from mxhandles.bench.harness import VariantError
from mxhandles.bench.report import machine_info
from mxhandles.bench.rows import (build_cycle, build_nest, build_process,
                                  has_channels, has_tasks)
from mxhandles.bench.waits import (AIO_WAITERS, PingPong, aio_round,
                                   asyncio_round, c_bytes_per_async_wait,
                                   has_ports, has_waits)
from mxhandles.model import ModelKernel

TINY = Settings("test", repeats=2, sample_ms=0.05)
#: As TINY, but a quick run: the rows marked full-run-only are left out.
TINY_QUICK = Settings("quick", repeats=2, sample_ms=0.05)
TINY_ARGS = ["--repeats", "2", "--sample-ms", "0.05", "--no-progress"]


def _check_stats(d: Dict[str, Any]) -> None:
    assert set(d) == {"min", "median", "max", "mean"}
    assert d["min"] <= d["median"] <= d["max"]
    assert all(isinstance(v, float) for v in d.values())


def test_every_row_runs() -> None:
    """Every statement of every row executes on its fixture (a quick run:
    the full-run-only rows, the 1M nest, would take seconds to build)."""
    report = run_rows(ROWS, TINY_QUICK)
    quick_rows = [row for row in ROWS if row.quick]
    assert [r.row for r in report.rows] == quick_rows
    assert report.skipped == [row for row in ROWS if not row.quick]
    assert [r.error for r in report.rows] == [None] * len(quick_rows)
    model = ModelKernel().init
    model_channels = has_channels(model)
    # The waiting rows: the model's variant where the model has the calls;
    # the aio row has none (aio drives the C core).
    model_waits = {"wake-up latency (signal \u2192 wait_one)": has_waits(model),
                   "aio wait (%s waiters)" % "{:,}".format(AIO_WAITERS): False,
                   "port queue+wait": has_ports(model)}
    for r in report.rows:
        assert r.has("mx")
        assert r.has("floor") == (r.row.floor is not None)
        if r.row.os is None:
            assert not r.has("os")
        if r.row.name in model_waits:
            assert r.has("model") == model_waits[r.row.name]
            continue
        if r.row.name.startswith("process"):
            # the quick teardowns (1k, 100k) are within the model's reach
            assert r.has("model") == has_tasks(model)
        elif not r.row.name.startswith(("channel", "close nest", "collect")):
            assert r.has("model")
        elif r.row.name.startswith("channel"):
            assert r.has("model") == model_channels


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
        assert row["notes"] == [] and row["info"] == {}
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
    in_scaling = {name for sc in SCALING for name in sc.rows}
    assert in_scaling <= set(names)
    for row in ROWS:
        assert row.targets or row.name in in_scaling, row.name
        for t in row.targets:
            assert t.metric in METRICS or t.metric in NS_METRICS


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


def test_absolute_target() -> None:
    """``Target("mx ns", "<=", 100)``: on the median ns of mx itself,
    shown in the ns table next to the mx cell."""
    t = Target("mx ns", "<=", 100)
    assert t.absolute and not Target("os/mx", ">=", 1).absolute
    assert str(t) == "\u2264100 ns"
    fast = _fake_result({"mx": [90.0, 99.0, 120.0], "model": [500.0] * 3,
                         "floor": [1.0] * 3}, t)
    [v] = fast.targets()
    assert v.actual == pytest.approx(99.0) and v.met
    slow = _fake_result({"mx": [101.0], "model": [500.0], "floor": [1.0]},
                        t, Target("model/mx", ">=", 3))
    assert [x.met for x in slow.targets()] == [False, True]
    assert not slow.all_met()
    report = Report(TINY, machine_info(), 5.0, [fast, slow], scaling=[])
    assert report.target_counts() == (2, 3)
    text = format_report(report)
    assert "\u2264100 ns" in text
    doc = json.loads(json.dumps(report.as_dict()))
    assert doc["rows"][0]["targets"][0]["metric"] == "mx ns"
    assert doc["rows"][0]["targets"][0]["actual"] == pytest.approx(99.0)


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
    with pytest.raises(ValueError):
        Target("model ns", "<=", 1)


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


# -- channel rows, one-shot variants and cross-row targets --------------------


def test_one_shot_variant() -> None:
    """prepare runs before every sample, the statement once, and the time
    is divided by ``per`` (a number or a local the statement sets)."""
    calls: List[int] = []

    def prepare(env: Dict[str, Any]) -> None:
        calls.append(1)
        env["todo"] = 4

    v = Variant("done = todo", {"todo": 0, "done": 0}, keep=("done",),
                prepare=prepare, per="done")
    assert v.one_shot
    m = measure({"mx": v}, repeats=3, sample_ns=10**6)
    assert m.loops == {"mx": 1}
    assert len(calls) == 3 and v.env["done"] == 4
    assert v.as_function()(todo=1, done=0) is None
    with pytest.raises(ValueError):
        Variant("pass", {"x": 0}, per="x")  # per names a kept local


def test_one_shot_error_is_a_variant_error() -> None:
    v = Variant("done = 0", {"done": 1}, keep=("done",),
                prepare=lambda env: None, per="done")
    with pytest.raises(VariantError):  # 0 units handled
        measure({"mx": v}, repeats=1, sample_ns=10**6)


@pytest.mark.parametrize("kernel_cls", [Kernel, ModelKernel])
def test_nest_and_cycle_builders(kernel_cls: Any) -> None:
    """The fixtures build what the rows claim: closing the nest's top
    destroys every level, a collection destroys the whole cycle."""
    kernel = kernel_cls(seed=1)
    proc = kernel.init
    if not has_channels(proc):
        pytest.skip("the model has no channels yet")
    before = kernel.stats().live_objects["channel"]
    top = build_nest(proc, 50)
    assert kernel.stats().live_objects["channel"] == before + 50
    proc.mx_handle_close(top)
    assert kernel.stats().live_objects["channel"] == before
    if not hasattr(kernel, "collect"):
        return
    build_cycle(proc, 20)
    assert kernel.stats().live_objects["channel"] == before + 20
    assert kernel.collect() == 20
    assert kernel.stats().live_objects["channel"] == before


@pytest.mark.parametrize("kernel_cls", [Kernel, ModelKernel])
def test_process_builder(kernel_cls: Any) -> None:
    """build_process makes a process holding exactly n handles; the row's
    kill closes them all and destroys the event; the handle left to the
    dead process goes with everything else."""
    kernel = kernel_cls(seed=1)
    init = kernel.init
    if not has_tasks(init) or not hasattr(kernel, "process"):
        pytest.skip("the model has no tasks yet")
    before = kernel.stats()
    ph = build_process(kernel, 300)
    st = kernel.stats()
    assert st.live_handles == before.live_handles + 301
    assert st.live_objects["event"] == before.live_objects["event"] + 1
    assert st.live_objects["process"] == before.live_objects["process"] + 1
    init.mx_task_kill(ph)
    st = kernel.stats()
    assert st.live_handles == before.live_handles + 1
    assert st.live_objects["event"] == before.live_objects["event"]
    info = init.mx_object_get_info(ph, bench.rows._BASIC)
    assert info.type == 1  # still a process handle, to a dead process
    init.mx_handle_close(ph)
    assert kernel.stats().live_objects == before.live_objects


def test_task_rows() -> None:
    """The teardown rows divide by the handles their fixture builds; the
    1M one carries the absolute target; the cycle row leaves nothing
    behind."""
    by_name = {r.name: r for r in ROWS}
    sizes = {"1k": 1_000, "100k": 100_000, "1M": 1_000_000}
    for label, n in sizes.items():
        row = by_name["process teardown (%s handles)" % label]
        assert row.per == n and row.unit == "handle"
        assert row.quick == (n < 1_000_000)
    [t] = by_name["process teardown (1M handles)"].targets
    assert (t.metric, t.op, t.value) == ("mx ns", "<=", 100)
    row = by_name["process create+start+kill"]
    fixture = row.setup()
    try:
        variants = row.variants(fixture)
        kernel = fixture.envs["mx"]["kill"].__self__.kernel
        before = kernel.stats()
        variants["mx"].run(5)
        assert kernel.stats().live_objects == before.live_objects
        assert kernel.stats().live_handles == before.live_handles
        if "model" in variants:
            variants["model"].run(2)
        if "os" in variants:
            variants["os"].run(1)
    finally:
        fixture.close()


def test_row_repeats_cap() -> None:
    row = Row(name="slow", doc="", mx="pass", floor=None, floor_doc="",
              max_repeats=(3, 7))
    assert row.repeats(150, quick=False) == 7
    assert row.repeats(30, quick=True) == 3
    assert row.repeats(2, quick=False) == 2
    assert Row(name="x", doc="", mx="pass", floor="pass",
               floor_doc="").repeats(150, quick=False) == 150


def test_quick_run_leaves_rows_out() -> None:
    rows = [Row(name="small", doc="", mx="pass", floor=None, floor_doc=""),
            Row(name="big", doc="", mx="pass", floor=None, floor_doc="",
                quick=False)]
    report = run_rows(rows, TINY_QUICK)
    assert [r.row.name for r in report.rows] == ["small"]
    assert [r.name for r in report.skipped] == ["big"]
    assert "left out big" in format_report(report)
    assert json.loads(json.dumps(report.as_dict()))["skipped"] == ["big"]
    assert [r.row.name for r in run_rows(rows, TINY).rows] == ["small", "big"]


def _unit_result(name: str, ns: List[float]) -> RowResult:
    row = Row(name=name, doc="", mx="pass", floor=None, floor_doc="",
              unit="level")
    return RowResult(row, Measurement({"mx": 1}, {"mx": ns}))


def test_scaling_verdicts() -> None:
    sc = Scaling("nest", ("n10", "n100", "n1000"), (10, 100, 1000), 12.0)
    # ns per unit 50 -> 55 (x11 per decade) -> 100 (over 18x per decade)
    rows = [_unit_result("n10", [50.0]), _unit_result("n100", [55.0]),
            _unit_result("n1000", [100.0])]
    v = judge_scaling(sc, rows)
    assert [r.sizes for r in v] == [(10, 100), (100, 1000)]
    assert v[0].growth == pytest.approx(11.0) and v[0].met
    assert v[1].growth == pytest.approx(100 * 1000 / (55 * 100))
    assert not v[1].met
    # a missing row: the sizes on either side of it are compared
    [skip] = judge_scaling(sc, [rows[0], rows[2]])
    assert skip.sizes == (10, 1000)
    assert skip.growth == pytest.approx((100 * 1000 / (50 * 10)) ** 0.5)
    assert judge_scaling(sc, rows[:1]) == []
    report = Report(TINY, machine_info(), 5.0, rows, scaling=[sc])
    assert report.target_counts() == (1, 2)
    doc = json.loads(json.dumps(report.as_dict()))
    assert [s["met"] for s in doc["scaling"]] == [True, False]
    assert {"rows", "sizes", "ns_per_unit", "growth_per_decade",
            "max_per_decade"} <= set(doc["scaling"][0])
    assert doc["rows"][0]["unit"] == "level"
    text = format_report(report)
    assert "10 \u2192 100" in text and "scaling" in text


def test_scaling_rows_are_registered() -> None:
    """The close-nest and teardown rows and their scaling targets agree on
    names and on the sizes the rows divide by."""
    by_name = {r.name: r for r in ROWS}
    for sc in SCALING:
        for name, size in zip(sc.rows, sc.sizes):
            assert by_name[name].per == size


# -- waiting rows ------------------------------------------------------------------


def test_wait_rows_are_registered() -> None:
    names = [r.name for r in ROWS]
    for name in ("wake-up latency (signal \u2192 wait_one)",
                 "aio wait (10,000 waiters)", "port queue+wait"):
        assert name in names
    assert [r.name for r in select_rows("wake-up")] == [
        "wake-up latency (signal \u2192 wait_one)"]


def test_ping_pong_thread_stops() -> None:
    import threading

    e1, e2 = threading.Event(), threading.Event()
    far = PingPong(e1.wait, e1.clear, e2.set, e1.set)
    for _ in range(20):
        e1.set()
        assert e2.wait(10)
        e2.clear()
    far.stop()
    assert not far.thread.is_alive() and far.error is None


def test_aio_rounds_wake_everyone() -> None:
    """One round of each of the aio row's statements: every waiter woken
    (a round raises otherwise); the C core's bytes per async wait, where
    glibc tells."""
    import asyncio

    from mxhandles import aio

    kernel = Kernel(seed=1)
    proc = kernel.init
    events = [proc.mx_event_create() for _ in range(50)]
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(aio_round(proc, events, 1 << 24)) == 50
        assert aio.pending(proc) == 0
        loop_events = [asyncio.Event() for _ in range(50)]
        assert loop.run_until_complete(asyncio_round(loop_events)) == 50
    finally:
        aio.close(proc)
        loop.close()
    c_bytes = c_bytes_per_async_wait(kernel, 1000)
    assert c_bytes is None or c_bytes > 0
    assert kernel.stats().live_objects["port"] == 0


def test_notes_reach_table_and_json() -> None:
    r = _fake_result({"mx": [1.0], "model": [5.0], "floor": [1.0]},
                     Target("model/mx", ">=", 3))
    r.notes.append("memory per waiter: 1 B")
    r.info["bytes"] = 1
    report = Report(TINY, machine_info(), 5.0, [r])
    assert "fake: memory per waiter: 1 B" in format_report(report)
    row = json.loads(json.dumps(report.as_dict()))["rows"][0]
    assert row["notes"] == ["memory per waiter: 1 B"]
    assert row["info"] == {"bytes": 1}
