"""Shared fixtures: a fresh kernel per test and a baseline check."""
from __future__ import annotations

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
