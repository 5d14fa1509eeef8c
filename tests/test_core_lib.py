"""The C layer through ``lib``: the core's contract as the header states it,
independently of the Python API above it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mxhandles import _core
from mxhandles._core import ffi, lib

HEADER = Path(__file__).resolve().parent.parent / "csrc" / "mxhandles.h"
EVENT, CHANNEL, EPAIR, PROCESS = 5, 4, 16, 1
RIGHTS = 0xF


@pytest.fixture
def k():
    kern = lib.mxh_kernel_create(0)
    yield kern
    lib.mxh_kernel_release(kern)


def new_proc(k, secret=1):
    p = lib.mxh_proc_create(k, secret, 0)
    assert p != ffi.NULL
    return p


def test_every_cdef_function_resolves():
    """Every name the Python side may use exists in the compiled module."""
    for name in dir(_core):
        value = getattr(_core, name)
        if (type(value).__name__ == "builtin_function_or_method"
                and value.__name__.startswith("mxh_")):
            assert getattr(lib, value.__name__) is value


def test_every_header_function_is_in_the_cdef():
    declared = set(re.findall(r"^\S[^(;]*?\b(mxh_\w+)\(", HEADER.read_text(), re.M))
    missing = [n for n in declared if not hasattr(lib, n)]
    assert declared and not missing


def test_header_statuses_match_python():
    import mxhandles as mx
    text = HEADER.read_text()
    for name, value in re.findall(r"#define MXH_(ERR_\w+)\s+\((-?\d+)\)", text):
        assert getattr(mx, name) == int(value)


def test_create_dup_close_counts(k):
    p = new_proc(k)
    h = lib.mxh_object_create_handle(p, EVENT, RIGHTS)
    assert 0 < h < 2**31
    d = lib.mxh_handle_duplicate(p, h, 1 << 31)
    st = ffi.new("mxh_stats_t *")
    lib.mxh_kernel_stats(k, st)
    assert st.live_handles == 2 and st.live_objects[0] == 1
    assert lib.mxh_handle_close(p, h) == 0
    assert lib.mxh_handle_close(p, h) == lib.MXH_OK - 11
    assert lib.mxh_handle_close(p, d) == 0
    lib.mxh_kernel_stats(k, st)
    assert st.live_handles == 0 and st.live_objects[0] == 0
    assert st.destroyed_objects == 1


def test_channel_peer_closed_signals(k):
    p = new_proc(k)
    vals = ffi.new("uint32_t[2]")
    koids = ffi.new("uint64_t[2]")
    assert lib.mxh_pair_create_handles(p, CHANNEL, 0xE, vals, koids) == 0
    assert lib.mxh_handle_close(p, vals[0]) == 0
    info = ffi.new("mxh_handle_info_t *")
    assert lib.mxh_handle_basic(p, vals[1], info) == 0
    assert info.signals & 4 and not info.signals & 2   # PEER_CLOSED, !WRITABLE
    assert info.related_koid == koids[0]
    assert lib.mxh_handle_close(p, vals[1]) == 0


def test_transit_take_bind_close(k):
    a, b = new_proc(k, 1), new_proc(k, 2)
    hs = [lib.mxh_object_create_handle(a, EVENT, RIGHTS) for _ in range(4)]
    out = ffi.new("mxh_transit_t **")
    # Duplicate value: nothing moves.
    assert lib.mxh_transit_take(a, hs + [hs[1]], 5, ffi.NULL, out) == -10
    assert lib.mxh_proc_handle_count(a) == 4
    assert lib.mxh_transit_take(a, hs, 4, ffi.NULL, out) == 0
    t = out[0]
    assert lib.mxh_proc_handle_count(a) == 0 and lib.mxh_transit_count(t) == 4
    st = ffi.new("mxh_stats_t *")
    lib.mxh_kernel_stats(k, st)
    assert st.in_transit_handles == 4 and st.live_handles == 4
    vals = ffi.new("uint32_t[4]")
    assert lib.mxh_transit_bind(b, t, vals) == 4
    assert lib.mxh_proc_handle_count(b) == 4
    for v in vals:
        assert lib.mxh_handle_get(b, v, EVENT, 0, ffi.NULL) > 0
    # Move them back and close the bundle instead.
    assert lib.mxh_transit_take(b, list(vals), 4, ffi.NULL, out) == 0
    lib.mxh_transit_close(out[0])
    lib.mxh_kernel_stats(k, st)
    assert st.live_handles == 0 and st.in_transit_handles == 0
    assert st.live_objects[0] == 0


def test_kill_closes_table_and_reports_bad_state(k):
    p = new_proc(k)
    for _ in range(1000):
        lib.mxh_object_create_handle(p, EVENT, RIGHTS)
    assert lib.mxh_proc_kill(p) == 1000
    assert lib.mxh_proc_kill(p) == -20
    assert lib.mxh_object_create_handle(p, EVENT, RIGHTS) == -20
    assert lib.mxh_handle_close(p, 1) == -20
    st = ffi.new("mxh_stats_t *")
    lib.mxh_kernel_stats(k, st)
    assert st.live_handles == 0 and st.destroyed_objects == 1000


def test_pinned_process_outlives_destruction(k):
    p = new_proc(k)
    o = lib.mxh_proc_object(p)
    lib.mxh_object_pin(o)
    lib.mxh_object_release(o)               # the creator's reference
    assert lib.mxh_object_destroyed(o) == 1
    assert lib.mxh_handle_close(p, 5) == -20  # dead, memory still there
    lib.mxh_object_unpin(o)


def test_handle_move(k):
    a, b = new_proc(k, 1), new_proc(k, 2)
    h = lib.mxh_object_create_handle(a, EVENT, RIGHTS)
    no_transfer = lib.mxh_handle_duplicate(a, h, 0x1)
    assert lib.mxh_handle_move(a, no_transfer, b) == -10
    v = lib.mxh_handle_move(a, h, b)
    assert v > 0 and lib.mxh_handle_get(b, v, 0, 0, ffi.NULL) > 0
    assert lib.mxh_handle_get(a, h, 0, 0, ffi.NULL) == -11
    assert lib.mxh_handle_move(a, 0, b) == -10
    lib.mxh_proc_kill(a)
    assert lib.mxh_handle_move(a, h, b) == -20      # a dead source: BAD_STATE


def test_default_rights_and_user_signals():
    import mxhandles as mx
    for t, r in mx.constants.DEFAULT_RIGHTS.items():
        assert lib.mxh_default_rights(int(t)) == r
    assert lib.mxh_user_signals(EVENT) == 0xFF000008
    assert lib.mxh_user_signals(EPAIR) == 0xFF000008
    assert lib.mxh_user_signals(CHANNEL) == 0xFF000000
