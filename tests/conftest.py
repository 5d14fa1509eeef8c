"""Shared fixtures: a fresh kernel per test and a baseline check."""
from __future__ import annotations

import functools
import os
import threading
import time
import weakref

import pytest

import mxhandles as mx
from mxhandles.model import ModelKernel


#: Lines test modules add to the end-of-session report (figures such as
#: calls made or races run); pytest prints them after the results.
SUMMARY = []


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY:
        terminalreporter.write_line(line)


# -- leak check: every kernel a module made ends at its baseline ----------------
#
# Every Kernel and ModelKernel made while a module runs is remembered (weakly:
# a test may drop a kernel on purpose; the `kernel` fixture's are held to the
# module's end).  When the module ends, each kernel still alive has every
# handle of every process closed (init keeps its root-job handle), then
# collect() runs; it must then hold only what it booted with.

_KERNELS = []           # (weakref to a kernel, the test that made it)
_HELD = []              # the `kernel` fixture's kernels, until the module ends


def _track(cls):
    boot = cls.__init__

    @functools.wraps(boot)
    def __init__(self, *args, **kwargs):
        boot(self, *args, **kwargs)
        _KERNELS.append((weakref.ref(self),
                         os.environ.get("PYTEST_CURRENT_TEST", "?")))
    cls.__init__ = __init__


_track(mx.Kernel)
_track(ModelKernel)


def close_everything(k) -> None:
    """Closes every handle of every process of ``k`` (init keeps its
    root-job handle) and collects, until nothing changes."""
    init_koid = k.init.koid
    for _ in range(100):
        before = k.stats()
        for p in k.snapshot()["processes"]:
            values = [h["value"] for h in p["handles"]
                      if p["koid"] != init_koid
                      or h["value"] != k.init.mx_job_default()]
            if not values:
                continue
            try:
                k.process(p["koid"]).mx_handle_close_many(values)
            except mx.MxError:
                pass            # it died meanwhile; the next round sees it
        k.collect()
        if k.stats() == before:
            return


def leaks(k):
    """What ``k`` holds beyond its boot state, after close_everything()."""
    close_everything(k)
    st, snap = k.stats(), k.snapshot()
    # init may have closed its root-job handle, or died (the root job was
    # killed): then no handle at all is left.
    kept = [p["handles"] for p in snap["processes"]
            if p["koid"] == k.init.koid]
    kept = kept[0] if kept else []
    want = (len(kept), 0, BOOT_OBJECTS)
    got = (st.live_handles, st.in_transit_handles, st.live_objects)
    problems = []
    if got != want:
        problems.append("stats %r, not %r" % (got, want))
    if len(kept) > BOOT_HANDLES or any(
            h["koid"] != k.root_job.koid for h in kept):
        problems.append("init holds %r" % kept)
    if [p["koid"] for p in snap["processes"]] != [k.init.koid]:
        problems.append("processes %r" % snap["processes"])
    if snap["messages"]:
        problems.append("messages %r" % snap["messages"])
    if len(snap["objects"]) != sum(BOOT_OBJECTS.values()):
        problems.append("objects %r" % snap["objects"])
    return problems


@pytest.fixture(autouse=True, scope="module")
def no_leaks():
    """Fails the module if a kernel it made does not return to its boot
    state once every handle is closed and collect() has run."""
    del _KERNELS[:]
    yield
    report = []
    try:
        for ref, test in _KERNELS:
            k = ref()
            if k is not None:
                problems = leaks(k)
                if problems:
                    report.append("%s made %r: %s"
                                  % (test, k, "; ".join(problems)))
    finally:
        del _KERNELS[:], _HELD[:]
    assert not report, "kernels left above their baseline:\n" + "\n".join(report)


@pytest.fixture
def kernel() -> mx.Kernel:
    k = mx.Kernel(seed=12345)
    _HELD.append(k)
    return k


@pytest.fixture
def init(kernel: mx.Kernel) -> mx.Process:
    return kernel.init


BOOT_HANDLES = 1  # init's root-job handle
BOOT_OBJECTS = {"event": 0, "eventpair": 0, "channel": 0, "port": 0,
                "job": 1, "process": 1, "thread": 1}


def assert_baseline(k: mx.Kernel) -> None:
    """The kernel holds only what it booted with."""
    st = k.stats()
    assert st.live_handles == BOOT_HANDLES
    assert st.in_transit_handles == 0
    assert st.live_objects == BOOT_OBJECTS


JOIN = 10.0     # seconds: no helper thread of a test may outlive this


class Threads:
    """Starts threads, joins them with a timeout and re-raises their errors.

    ``results`` maps each thread's name (or the ``name`` given to
    :meth:`start`) to what its function returned."""

    def __init__(self):
        self.threads = []
        self.errors = []
        self.results = {}

    def start(self, fn, *args, name=None):
        def wrap():
            try:
                self.results[name if name is not None else t.name] = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - re-raised in join
                self.errors.append(exc)
        t = threading.Thread(target=wrap, daemon=True)
        self.threads.append(t)
        t.start()
        return t

    def join(self, timeout=JOIN):
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        alive = [t for t in self.threads if t.is_alive()]
        assert not alive, "%d thread(s) did not finish" % len(alive)
        if self.errors:
            raise self.errors[0]
