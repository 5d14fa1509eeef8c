"""Shared fixtures: a fresh kernel per test and a baseline check."""
from __future__ import annotations

import threading
import time

import pytest

import mxhandles as mx


@pytest.fixture
def kernel() -> mx.Kernel:
    return mx.Kernel(seed=12345)


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
