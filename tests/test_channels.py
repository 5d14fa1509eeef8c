"""Channels through the public API: SPEC §4 (Channels), §5 (lifetime and
collect()), §7 (snapshot(), to_dot()) and §8 (threads).

Only ``k.init`` exists as a process for now, so every reader is init too: a
handle read back into init still gets a NEW value and the old one is stale.
Waiting syscalls are not there yet either, so helper threads poll reads.
"""
from __future__ import annotations

import array
import gc
import json
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import mxhandles as mx
from conftest import assert_baseline, Threads

CH_RIGHTS = mx.RIGHT_TRANSFER | mx.RIGHT_READ | mx.RIGHT_WRITE
EV_RIGHTS = mx.RIGHT_DUPLICATE | mx.RIGHT_TRANSFER | mx.RIGHT_READ | mx.RIGHT_WRITE
JOIN = 10.0          # seconds: no helper thread may outlive this
CALL_DEADLINE = 5 * 10**9


# -- helpers ------------------------------------------------------------------

def status(ei: pytest.ExceptionInfo) -> int:
    return ei.value.status


def info(p, h):
    return p.mx_object_get_info(h, mx.INFO_HANDLE_BASIC)


def koid(p, h) -> int:
    return info(p, h).koid


def is_valid(p, h) -> bool:
    try:
        p.mx_object_get_info(h, mx.INFO_HANDLE_VALID)
    except mx.MxError as e:
        assert e.status == mx.ERR_BAD_HANDLE
        return False
    return True


def txid(n: int) -> bytes:
    return struct.pack("<I", n)


def state(k, p):
    """Everything a failed syscall must leave as it was."""
    return (k.stats(), sorted(p.handles()), k.snapshot()["messages"])


def read_wait(p, h, timeout=JOIN, **kw):
    """Polls mx_channel_read until a message arrives (no waits exist yet)."""
    end = time.monotonic() + timeout
    while True:
        try:
            return p.mx_channel_read(h, **kw)
        except mx.MxError as e:
            if e.status != mx.ERR_SHOULD_WAIT:
                raise
        if time.monotonic() > end:
            raise AssertionError("no message within %.1f s" % timeout)
        time.sleep(0.0005)


def queue_empty(p, h) -> bool:
    with pytest.raises(mx.MxError) as ei:
        p.mx_channel_read(h)
    return status(ei) == mx.ERR_SHOULD_WAIT


def close_all(p, *hs):
    for h in hs:
        p.mx_handle_close(h)


# -- create -------------------------------------------------------------------

def test_create_both_endpoints(kernel, init):
    a, b = init.mx_channel_create()
    assert a != b and 0 < a < 2**31 and 0 < b < 2**31
    ia, ib = info(init, a), info(init, b)
    assert ia.type == ib.type == mx.OBJ_TYPE_CHANNEL
    assert ia.rights == ib.rights == CH_RIGHTS
    assert ia.koid != ib.koid
    assert ia.related_koid == ib.koid and ib.related_koid == ia.koid
    assert ia.props == mx.OBJ_PROP_WAITABLE
    st = kernel.stats()
    assert st.live_objects["channel"] == 2 and st.live_handles == 3
    d0 = st.destroyed_objects
    close_all(init, a, b)
    assert kernel.stats().destroyed_objects == d0 + 2
    assert_baseline(kernel)


def test_create_keyword_and_options(kernel, init):
    a, b = init.mx_channel_create(options=0)
    close_all(init, a, b)
    for bad in (1, 2, 2**31, 2**32, 2**64, -1):
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_create(bad)
        assert status(ei) == mx.ERR_INVALID_ARGS
    with pytest.raises(TypeError):
        init.mx_channel_create("0")
    with pytest.raises(TypeError):
        init.mx_channel_create(0.0)
    assert kernel.stats().destroyed_objects == 2
    assert_baseline(kernel)


def test_channels_cannot_be_duplicated(kernel, init):
    a, b = init.mx_channel_create()
    for rights in (mx.RIGHT_SAME_RIGHTS, mx.RIGHT_READ, 0):
        with pytest.raises(mx.MxError) as ei:
            init.mx_handle_duplicate(a, rights)
        assert status(ei) == mx.ERR_ACCESS_DENIED
    # replace needs no DUPLICATE right and keeps the endpoint.
    k_a = koid(init, a)
    r = init.mx_handle_replace(a, mx.RIGHT_READ | mx.RIGHT_TRANSFER)
    assert not is_valid(init, a)
    assert info(init, r).rights == mx.RIGHT_READ | mx.RIGHT_TRANSFER
    assert koid(init, r) == k_a
    close_all(init, r, b)
    assert_baseline(kernel)


# -- write / read round trips -------------------------------------------------

def _payloads():
    raw = bytes(range(256)) * 3
    nd = memoryview(bytearray(raw)).cast("B", shape=[48, 16])
    return [
        ("bytes", raw),
        ("bytearray", bytearray(raw)),
        ("memoryview", memoryview(raw)),
        ("memoryview-slice", memoryview(raw)[10:100]),
        ("array-i", array.array("i", range(-50, 50))),
        ("array-d", array.array("d", [1.5, -2.25, 1e300])),
        ("noncontiguous", memoryview(raw)[::3]),
        ("reversed", memoryview(raw)[::-1]),
        ("2d", nd),
        ("cast-noncontiguous", memoryview(array.array("H", range(300)))[1::7]),
        ("readonly-bytes-subclass", type("B", (bytes,), {})(b"sub")),
        ("empty-bytearray", bytearray()),
    ]


@pytest.mark.parametrize("name,data", _payloads(), ids=[n for n, _ in _payloads()])
def test_round_trip_bytes_like(kernel, init, name, data):
    a, b = init.mx_channel_create()
    expected = memoryview(data).tobytes()
    init.mx_channel_write(a, data)
    got, hs = init.mx_channel_read(b)
    assert type(got) is bytes and got == expected and hs == []
    # And the other direction, through the keyword.
    init.mx_channel_write(b, data=data)
    assert init.mx_channel_read(a) == (expected, [])
    close_all(init, a, b)
    assert_baseline(kernel)


def test_empty_message(kernel, init):
    a, b = init.mx_channel_create()
    init.mx_channel_write(a)
    init.mx_channel_write(a, b"", [])
    init.mx_channel_write(a, b"", ())
    for _ in range(3):
        assert init.mx_channel_read(b) == (b"", [])
    # An empty message fits zero limits.
    init.mx_channel_write(a)
    assert init.mx_channel_read(b, max_bytes=0, max_handles=0) == (b"", [])
    assert queue_empty(init, b)
    close_all(init, a, b)
    assert_baseline(kernel)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_max_message_bytes(kernel, init, kind):
    a, b = init.mx_channel_create()
    big = bytes((i * 7) & 0xFF for i in range(mx.CHANNEL_MAX_MSG_BYTES))
    assert len(big) == 65536
    init.mx_channel_write(a, kind(big))
    assert init.mx_channel_read(b) == (big, [])
    before = state(kernel, init)
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_write(a, kind(big + b"x"))
    assert status(ei) == mx.ERR_OUT_OF_RANGE
    assert state(kernel, init) == before
    assert queue_empty(init, b)
    close_all(init, a, b)
    assert_baseline(kernel)


def test_max_message_handles(kernel, init):
    a, b = init.mx_channel_create()
    evs = [init.mx_event_create() for _ in range(mx.CHANNEL_MAX_MSG_HANDLES + 1)]
    koids = [koid(init, e) for e in evs]
    before = state(kernel, init)
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_write(a, b"x", evs)
    assert status(ei) == mx.ERR_OUT_OF_RANGE
    assert state(kernel, init) == before
    assert all(is_valid(init, e) for e in evs)

    init.mx_channel_write(a, b"y", evs[:1024])
    st = kernel.stats()
    assert st.in_transit_handles == 1024
    assert not any(is_valid(init, e) for e in evs[:1024])
    data, got = init.mx_channel_read(b)
    assert data == b"y" and len(got) == 1024 and len(set(got)) == 1024
    assert [koid(init, h) for h in got] == koids[:1024]
    assert kernel.stats().in_transit_handles == 0
    # Both limits at once.
    big = bytes(65536)
    init.mx_channel_write(a, big, got)
    data, got = init.mx_channel_read(b)
    assert data == big and [koid(init, h) for h in got] == koids[:1024]
    init.mx_handle_close_many(got + evs[1024:])
    close_all(init, a, b)
    assert_baseline(kernel)


def test_messages_whole_and_in_order(kernel, init):
    a, b = init.mx_channel_create()
    sent = []
    for i in range(200):
        data = bytes([i & 0xFF]) * (i * 37 % 1000)
        hs = [init.mx_event_create() for _ in range(i % 4)]
        sent.append((data, [koid(init, h) for h in hs]))
        init.mx_channel_write(a, data, hs)
    assert len(kernel.snapshot()["messages"]) == 200
    got_all = []
    for data, ks in sent:
        got, hs = init.mx_channel_read(b)
        assert got == data
        assert [koid(init, h) for h in hs] == ks
        got_all += hs
    assert queue_empty(init, b)
    init.mx_handle_close_many(got_all)
    close_all(init, a, b)
    assert_baseline(kernel)


def test_both_directions_are_independent(kernel, init):
    a, b = init.mx_channel_create()
    init.mx_channel_write(a, b"to b")
    init.mx_channel_write(b, b"to a")
    assert init.mx_channel_read(a) == (b"to a", [])
    assert init.mx_channel_read(b) == (b"to b", [])
    assert queue_empty(init, a) and queue_empty(init, b)
    close_all(init, a, b)
    assert_baseline(kernel)


def test_handles_move_and_get_new_values(kernel, init):
    a, b = init.mx_channel_create()
    ev = init.mx_event_create()
    ro = init.mx_handle_duplicate(ev, mx.RIGHT_TRANSFER | mx.RIGHT_READ)
    e0, e1 = init.mx_eventpair_create()
    c0, c1 = init.mx_channel_create()
    sent = [ev, ro, e1, c1]
    infos = [info(init, h) for h in sent]
    st0 = kernel.stats()
    init.mx_channel_write(a, b"m", sent)
    st1 = kernel.stats()
    assert st1.live_handles == st0.live_handles          # moved, not copied
    assert st1.in_transit_handles == 4
    assert st1.live_objects == st0.live_objects
    for h in sent:
        assert not is_valid(init, h)
        with pytest.raises(mx.MxError) as ei:
            init.mx_handle_close(h)
        assert status(ei) == mx.ERR_BAD_HANDLE
    data, got = init.mx_channel_read(b)
    assert data == b"m" and len(got) == 4
    assert not set(got) & set(sent)                       # NEW values
    for h, old in zip(got, infos):
        new = info(init, h)
        assert (new.koid, new.rights, new.type, new.related_koid) == (
            old.koid, old.rights, old.type, old.related_koid)
    st2 = kernel.stats()
    assert st2.in_transit_handles == 0 and st2.live_handles == st0.live_handles
    # The moved handles work: the channel end talks to its peer.
    init.mx_channel_write(got[3], b"via moved end")
    assert init.mx_channel_read(c0) == (b"via moved end", [])
    init.mx_handle_close_many(got + [e0, c0, a, b])
    assert_baseline(kernel)


def test_peer_endpoint_may_travel_in_its_own_queue(kernel, init):
    a, b = init.mx_channel_create()
    kb = koid(init, b)
    init.mx_channel_write(a, b"self", [b])
    assert not is_valid(init, b)
    msgs = kernel.snapshot()["messages"]
    assert msgs == [{"endpoint_koid": kb, "bytes": 4, "handle_koids": [kb]}]
    assert kernel.stats().in_transit_handles == 1
    # Closing a leaves b alone in its own queue: only collect() reaches it.
    d0 = kernel.stats().destroyed_objects
    init.mx_handle_close(a)
    d1 = kernel.stats().destroyed_objects
    assert d1 == d0 + 1                  # a: no handle and no peer reference
    n = kernel.collect()
    assert n == 1 and kernel.stats().destroyed_objects == d0 + 2
    assert kernel.collect() == 0
    assert_baseline(kernel)


# -- write errors, in SPEC order ----------------------------------------------

@pytest.fixture
def scene(kernel, init):
    """a, b: a channel; ev: an event; nt: an event without TRANSFER;
    nw: a channel handle without WRITE (c0 replaced); c1: its peer."""
    a, b = init.mx_channel_create()
    ev = init.mx_event_create()
    ev2 = init.mx_event_create()
    nt = init.mx_handle_duplicate(ev, mx.RIGHT_READ | mx.RIGHT_WRITE)
    c0, c1 = init.mx_channel_create()
    nw = init.mx_handle_replace(c0, mx.RIGHT_READ | mx.RIGHT_TRANSFER)
    stale = init.mx_event_create()
    init.mx_handle_close(stale)
    s = dict(a=a, b=b, ev=ev, ev2=ev2, nt=nt, nw=nw, c1=c1, stale=stale)
    yield s
    if kernel.stats().live_handles > 1:
        init.mx_handle_close_many({h for k_, h in s.items()
                                   if k_ != "stale" and is_valid(init, h)})
    assert_baseline(kernel)


BIG = b"z" * 65537
MANY = 1025


def _write_cases(s):
    a, ev, ev2, nt, nw, c1, stale = (s[x] for x in
                                     ("a", "ev", "ev2", "nt", "nw", "c1", "stale"))
    too_many = [ev] * MANY
    return [
        # options first: before even the handle is looked at
        ("options", dict(h=a, handles=[ev], options=1), mx.ERR_INVALID_ARGS),
        ("options-big", dict(h=a, options=2**32), mx.ERR_INVALID_ARGS),
        ("options-neg", dict(h=a, options=-1), mx.ERR_INVALID_ARGS),
        ("options-before-handle", dict(h=0, options=1), mx.ERR_INVALID_ARGS),
        # the channel handle
        ("bad-0", dict(h=0, handles=[ev]), mx.ERR_BAD_HANDLE),
        ("bad-stale", dict(h=stale, handles=[ev]), mx.ERR_BAD_HANDLE),
        ("bad-neg", dict(h=-5), mx.ERR_BAD_HANDLE),
        ("bad-huge", dict(h=2**64 + 3), mx.ERR_BAD_HANDLE),
        ("bad-before-size", dict(h=stale, data=BIG), mx.ERR_BAD_HANDLE),
        ("wrong-type", dict(h=ev, handles=[ev2]), mx.ERR_WRONG_TYPE),
        ("wrong-type-before-size", dict(h=ev, data=BIG, handles=too_many),
         mx.ERR_WRONG_TYPE),
        ("no-write", dict(h=nw, handles=[ev]), mx.ERR_ACCESS_DENIED),
        ("no-write-before-size", dict(h=nw, data=BIG), mx.ERR_ACCESS_DENIED),
        # sizes, before any handle item
        ("too-big", dict(h=a, data=BIG, handles=[ev]), mx.ERR_OUT_OF_RANGE),
        ("too-big-before-items", dict(h=a, data=BIG, handles=[0, a]),
         mx.ERR_OUT_OF_RANGE),
        ("too-many", dict(h=a, handles=too_many), mx.ERR_OUT_OF_RANGE),
        ("too-many-before-items", dict(h=a, handles=[0] * MANY),
         mx.ERR_OUT_OF_RANGE),
        # per handle, in order
        ("item-bad", dict(h=a, handles=[ev, 0]), mx.ERR_BAD_HANDLE),
        ("item-stale", dict(h=a, handles=[stale, ev]), mx.ERR_BAD_HANDLE),
        ("item-neg", dict(h=a, handles=[ev, -1]), mx.ERR_BAD_HANDLE),
        ("item-huge", dict(h=a, handles=[2**70]), mx.ERR_BAD_HANDLE),
        ("item-self", dict(h=a, handles=[ev, a]), mx.ERR_NOT_SUPPORTED),
        ("item-no-transfer", dict(h=a, handles=[ev, nt]), mx.ERR_ACCESS_DENIED),
        ("item-order-self-then-bad", dict(h=a, handles=[a, 0]),
         mx.ERR_NOT_SUPPORTED),
        ("item-order-bad-then-self", dict(h=a, handles=[0, a]),
         mx.ERR_BAD_HANDLE),
        ("item-order-nt-then-self", dict(h=a, handles=[nt, a]),
         mx.ERR_ACCESS_DENIED),
        ("item-order-self-then-nt", dict(h=a, handles=[a, nt]),
         mx.ERR_NOT_SUPPORTED),
        # duplicates only after every item passed its own checks
        ("twice", dict(h=a, handles=[ev, ev2, ev]), mx.ERR_INVALID_ARGS),
        ("twice-then-bad", dict(h=a, handles=[ev, ev, 0]), mx.ERR_BAD_HANDLE),
        ("twice-then-self", dict(h=a, handles=[ev, ev, a]),
         mx.ERR_NOT_SUPPORTED),
        ("twice-then-nt", dict(h=a, handles=[ev, ev, nt]),
         mx.ERR_ACCESS_DENIED),
        ("twice-channel", dict(h=a, handles=[c1, c1]), mx.ERR_INVALID_ARGS),
    ]


_WRITE_IDS = [c[0] for c in _write_cases(dict.fromkeys(
    ("a", "ev", "ev2", "nt", "nw", "c1", "stale"), 1))]


@pytest.mark.parametrize("case", _WRITE_IDS)
def test_write_errors_in_spec_order(kernel, init, scene, case):
    kw, err = {c[0]: c[1:] for c in _write_cases(scene)}[case]
    kw = dict(kw)
    h = kw.pop("h")
    before = state(kernel, init)
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_write(h, **kw)
    assert ei.value.name == mx.MxError(err, "x").name
    assert status(ei) == err
    assert "mx_channel_write" in str(ei.value)
    # Nothing moved: same handles, same values, same stats, no message.
    assert state(kernel, init) == before
    for name in ("a", "b", "ev", "ev2", "nt", "nw", "c1"):
        assert is_valid(init, scene[name])
    assert queue_empty(init, scene["b"])


def test_write_peer_closed_is_last(kernel, init, scene):
    a, b, ev, ev2 = scene["a"], scene["b"], scene["ev"], scene["ev2"]
    init.mx_handle_close(b)
    before = state(kernel, init)
    for kw, err in ((dict(handles=[ev, ev2]), mx.ERR_PEER_CLOSED),
                    (dict(), mx.ERR_PEER_CLOSED),
                    (dict(handles=[ev, ev]), mx.ERR_INVALID_ARGS),
                    (dict(handles=[ev, a]), mx.ERR_NOT_SUPPORTED),
                    (dict(data=BIG), mx.ERR_OUT_OF_RANGE),
                    (dict(options=1), mx.ERR_INVALID_ARGS)):
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_write(a, **kw)
        assert status(ei) == err, kw
        assert state(kernel, init) == before
    assert is_valid(init, ev) and is_valid(init, ev2)
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_read(a)
    assert status(ei) == mx.ERR_PEER_CLOSED


def test_write_type_errors(kernel, init, scene):
    a, ev = scene["a"], scene["ev"]

    class NotIndex:
        pass

    before = state(kernel, init)
    bad = [
        dict(data="text"),
        dict(data=None),
        dict(data=12),
        dict(data=[1, 2, 3]),
        dict(handles=["1"]),
        dict(handles=[ev, "1"]),
        dict(handles=[ev, 1.0]),
        dict(handles=[ev, None]),
        dict(handles=[ev, NotIndex()]),
        dict(handles=5),
        dict(handles=None),
        dict(handles="ab"),
        dict(options="0"),
        dict(options=0.0),
    ]
    for kw in bad:
        with pytest.raises(TypeError):
            init.mx_channel_write(a, **kw)
        assert state(kernel, init) == before, kw
    with pytest.raises(TypeError):
        init.mx_channel_write(str(a), b"x")
    with pytest.raises(TypeError):
        init.mx_channel_write(float(a), b"x")
    assert state(kernel, init) == before
    assert is_valid(init, ev)
    # Any sequence works: a tuple, a list subclass.
    init.mx_channel_write(a, b"1", (ev,))
    data, (ev,) = init.mx_channel_read(scene["b"])
    init.mx_channel_write(a, b"2", type("L", (list,), {})([ev]))
    data, (ev,) = init.mx_channel_read(scene["b"])
    assert data == b"2" and is_valid(init, ev)
    scene["ev"] = ev


def test_write_handle_items_with_index(kernel, init, scene):
    a, b, ev = scene["a"], scene["b"], scene["ev"]
    k_ev = koid(init, ev)

    class Idx:
        def __index__(self):
            return ev

    init.mx_channel_write(a, b"i", [Idx()])
    data, (new,) = init.mx_channel_read(b)
    assert data == b"i" and koid(init, new) == k_ev
    scene["ev"] = new


# -- hostile arguments --------------------------------------------------------

@pytest.mark.parametrize("mode", ["clear", "replace", "grow"])
def test_handle_list_mutated_while_read_is_read_once(kernel, init, scene, mode):
    """An item whose __index__ rewrites the very list being converted: the
    message carries the items as they were when the list was read, each
    item is converted once, and the list's new contents stay behind."""
    a, b, ev, ev2 = scene["a"], scene["b"], scene["ev"], scene["ev2"]
    k_ev, k_ev2 = koid(init, ev), koid(init, ev2)
    extra = [init.mx_event_create() for _ in range(50)]
    lst = []
    calls = []

    class Mutator:
        def __index__(self):
            calls.append(1)
            if mode == "clear":
                lst.clear()
            elif mode == "replace":
                lst[:] = extra
            else:
                lst.extend(extra * 40)
            return ev2

    lst[:] = [Mutator(), ev]
    init.mx_channel_write(a, b"m", lst)
    assert len(calls) == 1
    data, got = init.mx_channel_read(b)
    assert data == b"m" and [koid(init, h) for h in got] == [k_ev2, k_ev]
    assert all(is_valid(init, e) for e in extra)             # not sent
    assert kernel.stats().in_transit_handles == 0
    init.mx_handle_close_many(extra)
    scene["ev2"], scene["ev"] = got


def test_handle_list_mutated_by_another_thread(kernel, init):
    """A thread keeps reordering the list while it is being written: every
    message carries exactly the handles, each once, none lost."""
    a, b = init.mx_channel_create()
    evs = [init.mx_event_create() for _ in range(64)]
    koids = sorted(koid(init, e) for e in evs)
    lst = list(evs)
    stop = threading.Event()

    def mutate():
        while not stop.is_set():
            lst.reverse()        # atomic under the GIL: same multiset
            lst.sort()

    # The mutator never blocks, so every syscall here (each releases the
    # GIL) would wait a whole switch interval to get it back: shorten it
    # for the test, or it runs for minutes on a loaded machine.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    th = Threads()
    th.start(mutate)
    try:
        for _ in range(100):
            init.mx_channel_write(a, b"", lst)
            _, got = init.mx_channel_read(b)
            assert sorted(koid(init, h) for h in got) == koids
            lst[:] = got
    finally:
        stop.set()
        th.join()
        sys.setswitchinterval(interval)
    init.mx_handle_close_many(lst)
    close_all(init, a, b)
    assert_baseline(kernel)


def test_bytearray_cannot_be_resized_while_written(kernel, init, scene):
    a, b, ev = scene["a"], scene["b"], scene["ev"]
    data = bytearray(b"original")
    seen = []

    class Resizer:
        def __index__(self):
            for op in (lambda: data.extend(b"!" * 100000),
                       lambda: data.clear(),
                       lambda: data.__delitem__(slice(0, 4))):
                try:
                    op()
                    seen.append("resized")
                except BufferError:
                    seen.append("BufferError")
            return ev

    init.mx_channel_write(a, data, [Resizer()])
    got, (new,) = init.mx_channel_read(b)
    assert seen == ["BufferError"] * 3
    assert got == b"original" and data == bytearray(b"original")
    data.extend(b"!")          # free again after the write
    assert data == bytearray(b"original!")
    scene["ev"] = new


def test_bytearray_resized_by_another_thread(kernel, init):
    a, b = init.mx_channel_create()
    n = 4096
    data = bytearray(b"a" * n)
    stop = threading.Event()
    counts = {"resized": 0, "refused": 0}

    def resize():
        while not stop.is_set():
            try:        # one resizing operation at a time: n or n + 4096
                if len(data) == n:
                    data[n:] = b"a" * 4096
                else:
                    del data[n:]
                counts["resized"] += 1
            except BufferError:
                counts["refused"] += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)     # the resizer never blocks (see above)
    th = Threads()
    th.start(resize)
    try:
        for _ in range(2000):
            init.mx_channel_write(a, data)
            got, _ = init.mx_channel_read(b)
            assert len(got) in (n, n + 4096) and got == b"a" * len(got)
    finally:
        stop.set()
        th.join()
        sys.setswitchinterval(interval)
    close_all(init, a, b)
    assert_baseline(kernel)


# -- read errors --------------------------------------------------------------

def test_read_errors(kernel, init, scene):
    a, b, ev, stale = (scene[x] for x in ("a", "b", "ev", "stale"))
    init.mx_channel_write(a, b"keep", [scene["ev2"]])
    no_read = init.mx_handle_replace(b, mx.RIGHT_WRITE | mx.RIGHT_TRANSFER)
    scene["b"] = no_read
    before = state(kernel, init)
    cases = [
        (dict(h=no_read, options=2), mx.ERR_NOT_SUPPORTED),
        (dict(h=no_read, options=3), mx.ERR_NOT_SUPPORTED),
        (dict(h=no_read, options=2**31), mx.ERR_NOT_SUPPORTED),
        (dict(h=0, options=2), mx.ERR_NOT_SUPPORTED),        # options first
        (dict(h=no_read, options=2**32), mx.ERR_INVALID_ARGS),
        (dict(h=0, options=2**64), mx.ERR_INVALID_ARGS),
        (dict(h=no_read, options=-1), mx.ERR_INVALID_ARGS),
        (dict(h=0), mx.ERR_BAD_HANDLE),
        (dict(h=stale), mx.ERR_BAD_HANDLE),
        (dict(h=-1), mx.ERR_BAD_HANDLE),
        (dict(h=2**40), mx.ERR_BAD_HANDLE),
        (dict(h=stale, options=mx.CHANNEL_READ_MAY_DISCARD), mx.ERR_BAD_HANDLE),
        (dict(h=ev), mx.ERR_WRONG_TYPE),
        (dict(h=init.mx_job_default()), mx.ERR_WRONG_TYPE),
        (dict(h=no_read), mx.ERR_ACCESS_DENIED),
        (dict(h=no_read, max_bytes=0), mx.ERR_ACCESS_DENIED),
        (dict(h=no_read, options=mx.CHANNEL_READ_MAY_DISCARD, max_bytes=0),
         mx.ERR_ACCESS_DENIED),
    ]
    for kw, err in cases:
        kw = dict(kw)
        h = kw.pop("h")
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_read(h, **kw)
        assert status(ei) == err, kw
        assert "mx_channel_read" in str(ei.value)
        assert state(kernel, init) == before, kw
    for kw in (dict(options="0"), dict(max_bytes="1"), dict(max_handles=1.0)):
        with pytest.raises(TypeError):
            init.mx_channel_read(a, **kw)
    with pytest.raises(TypeError):
        init.mx_channel_read(str(no_read))
    assert state(kernel, init) == before
    # The message is still there for a handle with READ (nw reads c1's queue,
    # which is empty; the scene's message sits in the old b's queue).
    assert len(kernel.snapshot()["messages"]) == 1


def test_should_wait_then_peer_closed(kernel, init):
    a, b = init.mx_channel_create()
    for opts in (0, mx.CHANNEL_READ_MAY_DISCARD):
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_read(b, options=opts)
        assert status(ei) == mx.ERR_SHOULD_WAIT
    ev = init.mx_event_create()
    kev = koid(init, ev)
    for i in range(3):
        init.mx_channel_write(a, b"before %d" % i, [ev] if i == 1 else [])
    init.mx_handle_close(a)
    # Write sees the closed peer; messages queued before it are still there.
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_write(b, b"late")
    assert status(ei) == mx.ERR_PEER_CLOSED
    assert init.mx_channel_read(b) == (b"before 0", [])
    data, (ev,) = init.mx_channel_read(b)
    assert data == b"before 1" and koid(init, ev) == kev
    assert init.mx_channel_read(b) == (b"before 2", [])
    for opts in (0, mx.CHANNEL_READ_MAY_DISCARD):
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_read(b, options=opts)
        assert status(ei) == mx.ERR_PEER_CLOSED
    close_all(init, b, ev)
    assert_baseline(kernel)


def test_buffer_too_small_keeps_message(kernel, init):
    a, b = init.mx_channel_create()
    e1, e2 = init.mx_event_create(), init.mx_event_create()
    ks = [koid(init, e1), koid(init, e2)]
    init.mx_channel_write(a, b"0123456789", [e1, e2])
    init.mx_channel_write(a, b"second")
    before = state(kernel, init)
    for mb, mh in ((9, None), (None, 1), (0, 0), (9, 2), (10, 1), (0, None)):
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_read(b, max_bytes=mb, max_handles=mh)
        e = ei.value
        assert e.status == mx.ERR_BUFFER_TOO_SMALL
        assert (e.actual_bytes, e.actual_handles) == (10, 2)
        assert state(kernel, init) == before
    data, hs = init.mx_channel_read(b, max_bytes=10, max_handles=2)
    assert data == b"0123456789" and [koid(init, h) for h in hs] == ks
    # The limits are about the first message only.
    assert init.mx_channel_read(b, max_bytes=6, max_handles=0) == (b"second", [])
    # Huge limits mean "no limit".
    init.mx_channel_write(a, b"x")
    assert init.mx_channel_read(b, max_bytes=2**70, max_handles=2**70) == (b"x", [])
    init.mx_handle_close_many(hs + [a, b])
    assert_baseline(kernel)


def test_may_discard_drops_message_and_closes_its_handles(kernel, init):
    a, b = init.mx_channel_create()
    e1 = init.mx_event_create()
    keep = init.mx_event_create()
    e2 = init.mx_handle_duplicate(keep, mx.RIGHT_SAME_RIGHTS)  # object survives
    c0, c1 = init.mx_channel_create()
    init.mx_channel_write(a, b"dropped!", [e1, e2, c1])
    init.mx_channel_write(a, b"next", [])
    st0 = kernel.stats()
    assert st0.in_transit_handles == 3
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_read(b, options=mx.CHANNEL_READ_MAY_DISCARD, max_bytes=4)
    assert ei.value.status == mx.ERR_BUFFER_TOO_SMALL
    assert (ei.value.actual_bytes, ei.value.actual_handles) == (8, 3)
    st1 = kernel.stats()
    assert st1.in_transit_handles == 0
    assert st1.live_handles == st0.live_handles - 3
    # e1's event and c1's endpoint are destroyed; keep's event lives on.
    assert st1.destroyed_objects == st0.destroyed_objects + 2
    assert st1.live_objects["event"] == st0.live_objects["event"] - 1
    assert st1.live_objects["channel"] == st0.live_objects["channel"] - 1
    assert is_valid(init, keep)
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_read(c0)
    assert status(ei) == mx.ERR_PEER_CLOSED
    # The next message is next; MAY_DISCARD with a fitting message just reads.
    assert init.mx_channel_read(
        b, options=mx.CHANNEL_READ_MAY_DISCARD, max_bytes=4) == (b"next", [])
    init.mx_channel_write(a, b"too many handles", [keep])
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_read(b, options=mx.CHANNEL_READ_MAY_DISCARD,
                             max_handles=0)
    assert (ei.value.actual_bytes, ei.value.actual_handles) == (16, 1)
    assert queue_empty(init, b)
    assert kernel.stats().live_objects["event"] == 0
    close_all(init, a, b, c0)
    assert_baseline(kernel)


# -- lifetime (§5) ------------------------------------------------------------

def test_closing_reader_closes_handles_in_transit(kernel, init):
    a, b = init.mx_channel_create()
    evs = [init.mx_event_create() for _ in range(3)]
    c0, c1 = init.mx_channel_create()
    p0, p1 = init.mx_eventpair_create()
    init.mx_channel_write(a, b"1", evs[:2])
    init.mx_channel_write(a, b"2", [evs[2], c1, p1])
    st0 = kernel.stats()
    assert st0.in_transit_handles == 5
    init.mx_handle_close(b)
    st1 = kernel.stats()
    # b, three events, c1, p1: six objects.
    assert st1.destroyed_objects == st0.destroyed_objects + 6
    assert st1.in_transit_handles == 0
    assert st1.live_handles == st0.live_handles - 6
    assert st1.live_objects["event"] == 0
    for h, err in ((a, mx.ERR_PEER_CLOSED), (c0, mx.ERR_PEER_CLOSED)):
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_write(h, b"")
        assert status(ei) == err
    # The event pair end in transit was closed: its peer saw it.
    snap = {o["koid"]: o for o in kernel.snapshot()["objects"]}
    assert snap[koid(init, p0)]["signals"] & mx.EPAIR_PEER_CLOSED
    close_all(init, a, c0, p0)
    assert_baseline(kernel)


def test_closing_writer_keeps_queue(kernel, init):
    a, b = init.mx_channel_create()
    ev = init.mx_event_create()
    init.mx_channel_write(a, b"kept", [ev])
    d0 = kernel.stats().destroyed_objects
    init.mx_handle_close(a)
    assert kernel.stats().destroyed_objects == d0 + 1
    assert kernel.stats().in_transit_handles == 1
    data, (ev,) = init.mx_channel_read(b)
    assert data == b"kept"
    close_all(init, b, ev)
    assert_baseline(kernel)


NEST = 100_000


def _build_nest(init, n, leaf_events=0):
    """Channel i's read end travels in channel i+1's queue; writer ends are
    closed; returns the outermost read end."""
    create, write, close = (init.mx_channel_create, init.mx_channel_write,
                            init.mx_handle_close)
    w, r = create()
    if leaf_events:
        write(w, b"leaf", [init.mx_event_create() for _ in range(leaf_events)])
    close(w)
    for _ in range(n - 1):
        w, r2 = create()
        write(w, b"", [r])
        close(w)
        r = r2
    return r


def test_nest_of_100000_channels_freed_by_one_close(kernel, init):
    assert_baseline(kernel)
    limit = sys.getrecursionlimit()
    outer = _build_nest(init, NEST, leaf_events=2)
    st = kernel.stats()
    assert st.live_objects["channel"] == NEST
    assert st.in_transit_handles == NEST - 1 + 2
    d0 = st.destroyed_objects
    t0 = time.perf_counter()
    init.mx_handle_close(outer)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0, elapsed
    assert sys.getrecursionlimit() == limit
    st = kernel.stats()
    assert st.destroyed_objects == d0 + NEST + 2
    assert kernel.collect() == 0
    assert_baseline(kernel)


def test_nest_unwinds_on_a_small_stack():
    """The same nest, freed on a thread with a 512 KiB stack, in a child
    process so that a C recursion would crash only the child."""
    code = textwrap.dedent("""
        import threading, mxhandles as mx
        k = mx.Kernel(seed=1)
        p = k.init
        w, r = p.mx_channel_create()
        p.mx_handle_close(w)
        for _ in range(%d):
            w, r2 = p.mx_channel_create()
            p.mx_channel_write(w, b"", [r])
            p.mx_handle_close(w)
            r = r2
        threading.stack_size(512 * 1024)
        t = threading.Thread(target=p.mx_handle_close, args=(r,))
        t.start(); t.join()
        st = k.stats()
        assert st.live_objects["channel"] == 0, st
        print("ok", st.destroyed_objects)
    """ % (NEST - 1))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, (res.returncode, res.stderr[-2000:])
    assert res.stdout.split() == ["ok", str(2 * NEST)]


def test_nest_inside_a_cycle_is_collected(kernel, init):
    """A deep nest hanging in the queue of a 2-cycle: collect() frees all."""
    inner = _build_nest(init, 10_000)
    w0, r0 = init.mx_channel_create()
    w1, r1 = init.mx_channel_create()
    init.mx_channel_write(w0, b"", [r1, inner])
    init.mx_channel_write(w1, b"", [r0])
    close_all(init, w0, w1)
    assert kernel.stats().live_objects["channel"] == 10_002
    d0 = kernel.stats().destroyed_objects
    n = kernel.collect()
    assert n == 10_002 == kernel.stats().destroyed_objects - d0
    assert_baseline(kernel)


# -- collect() ----------------------------------------------------------------

def _cycle(init, n, events_per_queue=0):
    """n channels: r[i]'s queue holds r[i+1]'s only handle (mod n); the
    writer ends are closed."""
    ends = [init.mx_channel_create() for _ in range(n)]
    for i, (w, _) in enumerate(ends):
        extra = [init.mx_event_create() for _ in range(events_per_queue)]
        init.mx_channel_write(w, b"cycle", [ends[(i + 1) % n][1]] + extra)
    for w, _ in ends:
        init.mx_handle_close(w)


@pytest.mark.parametrize("n", [1, 2, 3, 1000])
def test_collect_cycles(kernel, init, n):
    assert kernel.collect() == 0
    _cycle(init, n, events_per_queue=1)
    st = kernel.stats()
    assert st.live_objects["channel"] == n and st.live_objects["event"] == n
    assert st.in_transit_handles == 2 * n
    assert st.live_handles == 1 + 2 * n
    d0 = st.destroyed_objects
    got = kernel.collect()
    assert got == 2 * n
    assert kernel.stats().destroyed_objects == d0 + 2 * n
    assert_baseline(kernel)
    assert kernel.collect() == 0


def test_collect_spares_a_cycle_hanging_off_init(kernel, init):
    """x0 (init's) -> r0 -> r1 (+ an event) -> x1, x0's own peer: a cycle
    through the peer link, reachable from init, so nothing is garbage until
    init closes x0; then all of it goes (by the close's cascade and/or
    collect()) and nothing is left."""
    x0, x1 = init.mx_channel_create()
    w0, r0 = init.mx_channel_create()
    w1, r1 = init.mx_channel_create()
    ev = init.mx_event_create()
    init.mx_channel_write(x1, b"", [r0])            # into x0's queue
    init.mx_channel_write(w0, b"", [r1, ev])        # into r0's queue
    init.mx_channel_write(w1, b"", [x1])            # into r1's queue
    close_all(init, w0, w1)
    before = state(kernel, init)
    assert before[0].live_objects["channel"] == 4
    assert kernel.collect() == 0
    assert kernel.collect() == 0
    assert state(kernel, init) == before
    # Reachable means usable: take r0 out; x1, in transit, still gets mail.
    _, (r0,) = init.mx_channel_read(x0)
    assert kernel.collect() == 0
    init.mx_channel_write(x0, b"to x1, in transit")
    assert kernel.collect() == 0
    d0 = kernel.stats().destroyed_objects
    init.mx_handle_close_many([x0, r0])
    n = kernel.collect()
    assert kernel.stats().destroyed_objects == d0 + 5      # x0 x1 r0 r1 ev
    assert 0 <= n <= 5
    assert_baseline(kernel)


def test_collect_self_queue(kernel, init):
    a, b = init.mx_channel_create()
    ev = init.mx_event_create()
    init.mx_channel_write(b, b"a goes into its own queue", [a, ev])
    assert kernel.snapshot()["messages"][0]["endpoint_koid"] == \
        info(init, b).related_koid
    init.mx_channel_write(b, b"still writable")
    before = kernel.stats()
    assert before.in_transit_handles == 2
    n = kernel.collect()
    assert n == 2                                     # a and the event
    st = kernel.stats()
    assert st.destroyed_objects == before.destroyed_objects + 2
    assert st.live_objects["channel"] == 1 and st.in_transit_handles == 0
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_read(b)
    assert status(ei) == mx.ERR_PEER_CLOSED
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_write(b, b"")
    assert status(ei) == mx.ERR_PEER_CLOSED
    snap = {o["koid"]: o for o in kernel.snapshot()["objects"]}
    sig = snap[koid(init, b)]["signals"]
    assert sig & mx.CHANNEL_PEER_CLOSED and not sig & mx.CHANNEL_WRITABLE
    init.mx_handle_close(b)
    assert_baseline(kernel)


def test_collect_two_cycle_with_writers_held(kernel, init):
    """Holding the writing ends does not make a cycle reachable."""
    p0, p1 = init.mx_channel_create()
    q0, q1 = init.mx_channel_create()
    init.mx_channel_write(p1, b"", [q0])       # q0 -> p0's queue
    init.mx_channel_write(q1, b"", [p0])       # p0 -> q0's queue
    assert kernel.collect() == 2
    for h in (p1, q1):
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_read(h)
        assert status(ei) == mx.ERR_PEER_CLOSED
    close_all(init, p1, q1)
    assert_baseline(kernel)


def test_collect_while_other_threads_do_traffic(kernel, init):
    """Threads keep an event and a channel endpoint (candidates for the
    collector while in transit) moving through queues init can read, and
    one thread makes garbage 2-cycles: collect() runs all the while and
    reclaims exactly the cycles."""
    p = init
    rounds = 300
    cycles = 100
    th = Threads()
    # Traffic starts only once the collector is running, so the two
    # overlap however the machine schedules the threads.
    collecting = threading.Event()

    def ping(i):
        assert collecting.wait(JOIN)
        a, b = p.mx_channel_create()
        ev = p.mx_event_create()
        c_near, c_far = p.mx_channel_create()
        k_ev, k_far = koid(p, ev), koid(p, c_far)
        for j in range(rounds):
            p.mx_channel_write(a, struct.pack("<II", i, j), [ev, c_far])
            data, (ev, c_far) = read_wait(p, b)
            assert data == struct.pack("<II", i, j)
            assert (koid(p, ev), koid(p, c_far)) == (k_ev, k_far)
            p.mx_channel_write(b, b"", [c_far, ev])
            _, (c_far, ev) = read_wait(p, a)
            # The moved endpoint still reaches its peer.
            p.mx_channel_write(c_far, b"%d" % j)
            assert p.mx_channel_read(c_near) == (b"%d" % j, [])
        close_all(p, a, b, ev, c_near, c_far)

    def make_cycles():
        assert collecting.wait(JOIN)
        for _ in range(cycles):
            w0, r0 = p.mx_channel_create()
            w1, r1 = p.mx_channel_create()
            p.mx_channel_write(w0, b"", [r1])
            p.mx_channel_write(w1, b"", [r0])
            close_all(p, w0, w1)

    for i in range(3):
        th.start(ping, i)
    th.start(make_cycles)
    total = runs = 0
    deadline = time.monotonic() + JOIN
    while any(t.is_alive() for t in th.threads) and time.monotonic() < deadline:
        total += kernel.collect()
        runs += 1
        collecting.set()
    th.join()
    total += kernel.collect()
    assert runs >= 1
    assert total == 2 * cycles
    assert_baseline(kernel)


# -- mx_channel_call ----------------------------------------------------------

class Server:
    """Polls requests on ``s`` and answers through ``handler(data, handles)``
    which returns a list of (data, handles) replies (possibly delayed)."""

    def __init__(self, p, s, handler, count=None):
        self.p, self.s, self.handler, self.count = p, s, handler, count
        self.stop = threading.Event()
        self.requests = []
        self.th = Threads()
        self.th.start(self.run)

    def run(self):
        end = time.monotonic() + JOIN
        while not self.stop.is_set() and time.monotonic() < end:
            if self.count is not None and len(self.requests) >= self.count:
                return
            try:
                data, hs = self.p.mx_channel_read(self.s)
            except mx.MxError as e:
                if e.status in (mx.ERR_PEER_CLOSED, mx.ERR_BAD_HANDLE):
                    return
                assert e.status == mx.ERR_SHOULD_WAIT
                time.sleep(0.0005)
                continue
            self.requests.append((data, hs))
            for rd, rh in self.handler(data, hs) or ():
                self.p.mx_channel_write(self.s, rd, rh)

    def join(self):
        self.stop.set()
        self.th.join()


def test_call_round_trip_with_handles_both_ways(kernel, init):
    c, s = init.mx_channel_create()
    created = []

    def handler(data, hs):
        ev = init.mx_event_create()
        created.append(koid(init, ev))
        if len(data) < 4:                 # txid 0: so is an empty reply
            return [(b"", hs + [ev])]
        return [(data[:4] + b"re:" + data[4:], hs + [ev])]

    srv = Server(init, s, handler, count=2)
    e1 = init.mx_event_create()
    k1 = koid(init, e1)
    data, hs = init.mx_channel_call(c, txid(7) + b"hello", [e1],
                                    deadline=mx.deadline_after(CALL_DEADLINE))
    assert data == txid(7) + b"re:hello"
    assert e1 not in hs                    # a new value in the reader
    assert [koid(init, h) for h in hs] == [k1, created[0]]
    # Short requests have txid 0: an empty reply (txid 0) answers them.
    data2, hs2 = init.mx_channel_call(c, b"ab", deadline=mx.deadline_after(CALL_DEADLINE))
    srv.join()
    assert data2 == b"" and len(hs2) == 1
    assert kernel.stats().in_transit_handles == 0
    assert queue_empty(init, c)
    init.mx_handle_close_many(hs + hs2 + [c, s])
    assert_baseline(kernel)


def test_call_needs_write_only(kernel, init):
    c, s = init.mx_channel_create()
    wo = init.mx_handle_replace(c, mx.RIGHT_WRITE)
    srv = Server(init, s, lambda d, h: [(d, h)], count=1)
    assert init.mx_channel_call(wo, txid(1) + b"x",
                                deadline=mx.deadline_after(CALL_DEADLINE)) == \
        (txid(1) + b"x", [])
    srv.join()
    close_all(init, wo, s)
    assert_baseline(kernel)


def test_call_other_messages_go_to_the_queue(kernel, init):
    c, s = init.mx_channel_create()

    def handler(data, hs):
        return [(txid(99) + b"unsolicited", []), (data + b"!", [])]

    srv = Server(init, s, handler, count=1)
    got = init.mx_channel_call(c, txid(5) + b"req",
                               deadline=mx.deadline_after(CALL_DEADLINE))
    srv.join()
    assert got == (txid(5) + b"req!", [])
    assert init.mx_channel_read(c) == (txid(99) + b"unsolicited", [])
    assert queue_empty(init, c)
    close_all(init, c, s)
    assert_baseline(kernel)


def test_call_many_callers_reverse_replies(kernel, init):
    c, s = init.mx_channel_create()
    n = 8
    results = {}
    batch = []

    def handler(data, hs):
        batch.append((data, hs))
        if len(batch) < n:
            return []
        out = [(d + b"/reply", h) for d, h in reversed(batch)]
        return out

    srv = Server(init, s, handler, count=n)
    callers = Threads()

    def caller(i):
        ev = init.mx_event_create()
        k_ev = koid(init, ev)
        data, hs = init.mx_channel_call(
            c, txid(1000 + i) + b"caller %d" % i, [ev],
            deadline=mx.deadline_after(CALL_DEADLINE))
        assert data == txid(1000 + i) + b"caller %d/reply" % i
        assert [koid(init, h) for h in hs] == [k_ev]
        results[i] = hs[0]

    for i in range(n):
        callers.start(caller, i)
    callers.join()
    srv.join()
    assert sorted(results) == list(range(n))
    order = [struct.unpack("<I", d[:4])[0] - 1000 for d, _ in srv.requests]
    assert sorted(order) == list(range(n))
    assert queue_empty(init, c)
    init.mx_handle_close_many(list(results.values()) + [c, s])
    assert_baseline(kernel)


def test_call_deadline_in_the_past(kernel, init):
    c, s = init.mx_channel_create()
    ev = init.mx_event_create()
    k_ev = koid(init, ev)
    t0 = time.monotonic()
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_call(c, txid(3) + b"now", [ev], deadline=0)
    assert status(ei) == mx.ERR_TIMED_OUT
    assert time.monotonic() - t0 < 0.5
    # The request went out (and its handle with it).
    assert not is_valid(init, ev)
    data, (ev,) = init.mx_channel_read(s)
    assert data == txid(3) + b"now" and koid(init, ev) == k_ev
    # A reply after the timeout is an ordinary message.
    init.mx_channel_write(s, txid(3) + b"late", [ev])
    data, (ev,) = init.mx_channel_read(c)
    assert data == txid(3) + b"late"
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_call(c, txid(4), deadline=mx.deadline_after(0))
    assert status(ei) == mx.ERR_TIMED_OUT
    init.mx_channel_read(s)
    close_all(init, c, s, ev)
    assert_baseline(kernel)


def test_call_short_deadline_late_reply(kernel, init):
    c, s = init.mx_channel_create()

    def handler(data, hs):
        time.sleep(0.2)
        return [(data + b" (late)", hs)]

    srv = Server(init, s, handler, count=1)
    ev = init.mx_event_create()
    t0 = time.monotonic()
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_call(c, txid(11) + b"q", [ev],
                             deadline=mx.deadline_after(50 * 10**6))
    elapsed = time.monotonic() - t0
    assert status(ei) == mx.ERR_TIMED_OUT
    assert 0.04 <= elapsed < 1.0, elapsed
    srv.join()
    data, hs = read_wait(init, c, timeout=2)
    assert data == txid(11) + b"q (late)" and len(hs) == 1
    init.mx_handle_close_many(hs + [c, s])
    assert_baseline(kernel)


def test_call_peer_closed_while_waiting(kernel, init):
    c, s = init.mx_channel_create()
    holder = {}

    def handler(data, hs):
        holder["hs"] = hs
        time.sleep(0.05)
        init.mx_handle_close(s)
        return []

    srv = Server(init, s, handler, count=1)
    ev = init.mx_event_create()
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_call(c, txid(1) + b"bye", [ev],
                             deadline=mx.deadline_after(CALL_DEADLINE))
    srv.join()
    assert status(ei) == mx.ERR_CALL_FAILED
    assert ei.value.read_status == mx.ERR_PEER_CLOSED
    assert len(holder["hs"]) == 1                   # the request was delivered
    # Peer already closed: the write phase fails, the handles stay.
    before = state(kernel, init)
    ev2 = holder["hs"][0]
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_call(c, txid(2), [ev2], deadline=mx.deadline_after(10**9))
    assert status(ei) == mx.ERR_PEER_CLOSED
    assert state(kernel, init) == before and is_valid(init, ev2)
    close_all(init, c, ev2)
    assert_baseline(kernel)


@pytest.mark.parametrize("how", ["close", "replace", "transfer"])
def test_call_canceled_when_callers_handle_goes(kernel, init, how):
    """SPEC: the caller's own handle closed -> CALL_FAILED / CANCELED.
    Replacing it or sending it away also ends the handle the call waits
    through (docs/design.md, as for waits in SPEC)."""
    c, s = init.mx_channel_create()
    out = {}
    th = Threads()

    def caller():
        try:
            init.mx_channel_call(c, txid(9) + b"wait",
                                 deadline=mx.deadline_after(CALL_DEADLINE))
        except mx.MxError as e:
            out["e"] = e

    th.start(caller)
    data, _ = read_wait(init, s, timeout=5)      # the request is out
    assert data == txid(9) + b"wait"
    time.sleep(0.02)
    t0 = time.monotonic()
    keep = []
    if how == "close":
        init.mx_handle_close(c)
    elif how == "replace":
        keep.append(init.mx_handle_replace(c, mx.RIGHT_SAME_RIGHTS))
    else:
        t_a, t_b = init.mx_channel_create()
        init.mx_channel_write(t_a, b"", [c])
        keep += [t_a, t_b]
    th.join()
    assert time.monotonic() - t0 < 2
    e = out["e"]
    assert e.status == mx.ERR_CALL_FAILED and e.read_status == mx.ERR_CANCELED
    if how == "close":
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_read(s)
        assert status(ei) == mx.ERR_PEER_CLOSED
    init.mx_handle_close_many(keep + [s])
    assert_baseline(kernel)


def test_call_deadline_races_reply(kernel, init):
    """Replies that arrive around the deadline: each reaches the caller or
    the ordinary queue, exactly once, with its handle."""
    c, s = init.mx_channel_create()

    def handler(data, hs):
        return [(data, [init.mx_event_create()])]

    n = 150
    srv = Server(init, s, handler, count=n)
    ok = timed_out = 0
    try:
        for i in range(n):
            req = txid(i + 1) + b"race"
            try:
                data, hs = init.mx_channel_call(
                    c, req, deadline=mx.deadline_after((i % 7) * 50_000))
                ok += 1
            except mx.MxError as e:
                assert e.status == mx.ERR_TIMED_OUT
                timed_out += 1
                data, hs = read_wait(init, c, timeout=5)
            assert data == req and len(hs) == 1
            init.mx_handle_close(hs[0])
    finally:
        srv.join()
    assert ok + timed_out == n
    print("deadline race: %d replied, %d timed out" % (ok, timed_out))
    assert queue_empty(init, c)
    close_all(init, c, s)
    assert_baseline(kernel)


@pytest.mark.parametrize("limit", [dict(max_bytes=8), dict(max_handles=1),
                                   dict(max_bytes=0, max_handles=0)])
def test_call_reply_too_large(kernel, init, limit):
    c, s = init.mx_channel_create()

    def handler(data, hs):
        evs = [init.mx_event_create() for _ in range(2)]
        return [(data[:4] + b"0123456789", evs)]

    srv = Server(init, s, handler, count=1)
    d0 = kernel.stats().destroyed_objects
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_call(c, txid(42) + b"big?",
                             deadline=mx.deadline_after(CALL_DEADLINE), **limit)
    srv.join()
    assert status(ei) == mx.ERR_CALL_FAILED
    assert ei.value.read_status == mx.ERR_BUFFER_TOO_SMALL
    st = kernel.stats()
    assert st.destroyed_objects == d0 + 2          # the reply's two events
    assert st.live_objects["event"] == 0 and st.in_transit_handles == 0
    assert queue_empty(init, c)                    # discarded, not queued
    close_all(init, c, s)
    assert_baseline(kernel)


def test_call_write_phase_errors_leave_handles(kernel, init, scene):
    a, b, ev, ev2, nt, nw, stale = (scene[x] for x in
                                    ("a", "b", "ev", "ev2", "nt", "nw", "stale"))
    dl = mx.deadline_after(CALL_DEADLINE)
    cases = [
        (dict(h=a, handles=[ev], options=1), mx.ERR_INVALID_ARGS),
        (dict(h=stale, handles=[ev]), mx.ERR_BAD_HANDLE),
        (dict(h=0), mx.ERR_BAD_HANDLE),
        (dict(h=ev, handles=[ev2]), mx.ERR_WRONG_TYPE),
        (dict(h=nw, handles=[ev]), mx.ERR_ACCESS_DENIED),
        (dict(h=a, data=BIG, handles=[ev]), mx.ERR_OUT_OF_RANGE),
        (dict(h=a, handles=[ev] * MANY), mx.ERR_OUT_OF_RANGE),
        (dict(h=a, handles=[ev, 0]), mx.ERR_BAD_HANDLE),
        (dict(h=a, handles=[ev, a]), mx.ERR_NOT_SUPPORTED),
        (dict(h=a, handles=[ev, nt]), mx.ERR_ACCESS_DENIED),
        (dict(h=a, handles=[ev, ev2, ev]), mx.ERR_INVALID_ARGS),
        (dict(h=a, handles=[ev], deadline=2**64), mx.ERR_INVALID_ARGS),
        (dict(h=a, handles=[ev], deadline=-1), mx.ERR_INVALID_ARGS),
    ]
    before = state(kernel, init)
    for kw, err in cases:
        kw = dict(kw)
        h = kw.pop("h")
        kw.setdefault("data", txid(1))
        kw.setdefault("deadline", dl)
        with pytest.raises(mx.MxError) as ei:
            init.mx_channel_call(h, **kw)
        assert status(ei) == err, kw
        assert "mx_channel_call" in str(ei.value)
        assert state(kernel, init) == before, kw
    for kw in (dict(data="str"), dict(data=txid(1), handles=["1"]),
               dict(data=txid(1), handles=7), dict(data=txid(1), deadline=1.5)):
        with pytest.raises(TypeError):
            init.mx_channel_call(a, **kw)
        assert state(kernel, init) == before, kw
    init.mx_handle_close(b)
    with pytest.raises(mx.MxError) as ei:
        init.mx_channel_call(a, txid(1), [ev, ev2], deadline=dl)
    assert status(ei) == mx.ERR_PEER_CLOSED
    assert is_valid(init, ev) and is_valid(init, ev2)


# -- threads (§8) -------------------------------------------------------------

def test_many_writers_and_readers(kernel, init):
    a, b = init.mx_channel_create()
    writers, readers, per_writer = 4, 4, 400
    total = writers * per_writer
    sent_koids = set()
    lock = threading.Lock()
    received = []           # (reader, writer, seq, koids)
    count = [0]
    th = Threads()

    def writer(w):
        for seq in range(per_writer):
            hs = [init.mx_event_create() for _ in range(1 + seq % 2)]
            ks = [koid(init, h) for h in hs]
            with lock:
                sent_koids.update(ks)
            init.mx_channel_write(a, struct.pack("<II", w, seq) + b"." * (seq % 50), hs)

    def reader(r):
        end = time.monotonic() + JOIN
        while time.monotonic() < end:
            with lock:
                if count[0] >= total:
                    return
            try:
                data, hs = init.mx_channel_read(b)
            except mx.MxError as e:
                assert e.status == mx.ERR_SHOULD_WAIT
                time.sleep(0)
                continue
            w, seq = struct.unpack("<II", data[:8])
            assert data[8:] == b"." * (seq % 50)
            ks = [koid(init, h) for h in hs]
            init.mx_handle_close_many(hs)
            with lock:
                count[0] += 1
                received.append((r, w, seq, ks))

    for r in range(readers):
        th.start(reader, r)
    for w in range(writers):
        th.start(writer, w)
    th.join()
    assert len(received) == total
    assert sorted((w, s) for _, w, s, _ in received) == \
        [(w, s) for w in range(writers) for s in range(per_writer)]
    all_koids = [k_ for *_, ks in received for k_ in ks]
    assert len(all_koids) == len(set(all_koids)) and set(all_koids) == sent_koids
    # Each reader sees each writer's messages in the order written.
    for r in range(readers):
        for w in range(writers):
            seqs = [s for rr, ww, s, _ in received if rr == r and ww == w]
            assert seqs == sorted(seqs)
    assert queue_empty(init, b)
    close_all(init, a, b)
    assert_baseline(kernel)


def test_concurrent_may_discard_drops_each_message_once(kernel, init):
    a, b = init.mx_channel_create()
    total, readers = 1200, 4
    lock = threading.Lock()
    seen = {"read": [], "dropped": 0}
    th = Threads()

    def reader():
        end = time.monotonic() + JOIN
        while time.monotonic() < end:
            with lock:
                if len(seen["read"]) + seen["dropped"] >= total:
                    return
            try:
                data, hs = init.mx_channel_read(
                    b, options=mx.CHANNEL_READ_MAY_DISCARD, max_bytes=50)
            except mx.MxError as e:
                if e.status == mx.ERR_SHOULD_WAIT:
                    time.sleep(0)
                    continue
                assert e.status == mx.ERR_BUFFER_TOO_SMALL
                assert (e.actual_bytes, e.actual_handles) == (100, 1)
                with lock:
                    seen["dropped"] += 1
                continue
            assert len(data) == 10 and len(hs) == 1
            init.mx_handle_close(hs[0])
            with lock:
                seen["read"].append(data)

    for _ in range(readers):
        th.start(reader)
    for i in range(total):
        size = 100 if i % 3 == 0 else 10
        init.mx_channel_write(a, struct.pack("<I", i) + b"-" * (size - 4),
                              [init.mx_event_create()])
    th.join()
    assert seen["dropped"] == total // 3
    got = sorted(struct.unpack("<I", d[:4])[0] for d in seen["read"])
    assert got == [i for i in range(total) if i % 3]
    assert kernel.stats().destroyed_objects == total     # every event once
    close_all(init, a, b)
    assert_baseline(kernel)


def test_reader_closed_while_writers_write(kernel, init):
    """Writes racing the reader's close: each write either lands (and its
    handles are closed with the queue) or fails with PEER_CLOSED (and they
    stay with the writer); every event is destroyed exactly once."""
    a, b = init.mx_channel_create()
    th = Threads()
    made = [0] * 4
    go = threading.Event()

    def writer(i):
        go.wait(JOIN)
        while True:
            evs = [init.mx_event_create(), init.mx_event_create()]
            made[i] += 2
            try:
                init.mx_channel_write(a, b"x", evs)
            except mx.MxError as e:
                assert e.status == mx.ERR_PEER_CLOSED
                assert all(is_valid(init, h) for h in evs)
                init.mx_handle_close_many(evs)
                return

    for i in range(4):
        th.start(writer, i)
    go.set()
    time.sleep(0.02)
    init.mx_handle_close(b)
    th.join()
    st = kernel.stats()
    assert st.in_transit_handles == 0 and st.live_objects["event"] == 0
    assert st.destroyed_objects == sum(made) + 1        # + b
    init.mx_handle_close(a)
    assert_baseline(kernel)


def test_threads_pass_endpoints_around(kernel, init):
    """Threads hand a channel endpoint back and forth through another
    channel while using it; nothing leaks."""
    hub_a, hub_b = init.mx_channel_create()
    th = Threads()
    n = 200

    def worker(i):
        for j in range(n):
            x0, x1 = init.mx_channel_create()
            init.mx_channel_write(x0, b"%d:%d" % (i, j))
            init.mx_channel_write(hub_a, b"", [x1])
            init.mx_handle_close(x0)

    got = []

    def drain():
        end = time.monotonic() + JOIN
        while len(got) < 3 * n and time.monotonic() < end:
            try:
                _, (x1,) = init.mx_channel_read(hub_b)
            except mx.MxError as e:
                assert e.status == mx.ERR_SHOULD_WAIT
                time.sleep(0)
                continue
            data, _ = init.mx_channel_read(x1)
            got.append(data)
            init.mx_handle_close(x1)

    for i in range(3):
        th.start(worker, i)
    th.start(drain)
    th.join()
    assert sorted(got) == sorted(b"%d:%d" % (i, j) for i in range(3) for j in range(n))
    close_all(init, hub_a, hub_b)
    assert_baseline(kernel)


# -- snapshot() and to_dot() (§7) ---------------------------------------------

def _small_scene(init):
    ev = init.mx_event_create()
    a, b = init.mx_channel_create()
    e2 = init.mx_event_create()
    c0, c1 = init.mx_channel_create()
    init.mx_channel_write(a, b"hello", [e2, c1])
    return ev, a, b, c0


def test_snapshot_structure_and_content(kernel, init):
    ev, a, b, c0 = _small_scene(init)
    job = init.mx_job_default()
    # koids of the handles in transit, from the objects' peers and order.
    k_a, k_b, k_c0 = koid(init, a), koid(init, b), koid(init, c0)
    k_c1 = info(init, c0).related_koid
    k_ev = koid(init, ev)
    snap = kernel.snapshot()
    assert set(snap) >= {"processes", "objects", "messages"}
    assert json.loads(json.dumps(snap)) == snap

    (proc,) = snap["processes"]
    assert set(proc) >= {"koid", "name", "state", "handles"}
    assert (proc["koid"], proc["name"], proc["state"]) == (init.koid, "init", "running")
    table = {h["value"]: h for h in proc["handles"]}
    assert set(table) == {job, ev, a, b, c0}
    for value, h in table.items():
        assert set(h) >= {"value", "koid", "type", "rights"}
        i = info(init, value)
        assert (h["koid"], h["type"], h["rights"]) == (i.koid, i.type, i.rights)
    assert table[a]["type"] == mx.OBJ_TYPE_CHANNEL and table[a]["rights"] == CH_RIGHTS

    objs = {o["koid"]: o for o in snap["objects"]}
    for o in snap["objects"]:
        assert set(o) >= {"koid", "type", "handle_count", "signals", "related_koid"}
        assert all(isinstance(o[x], int) for x in o)
    (msg,) = snap["messages"]
    k_e2 = msg["handle_koids"][0]
    assert msg == {"endpoint_koid": k_b, "bytes": 5, "handle_koids": [k_e2, k_c1]}
    threads = [o for o in snap["objects"] if o["type"] == mx.OBJ_TYPE_THREAD]
    assert len(threads) == 1 and threads[0]["related_koid"] == init.koid
    assert set(objs) == {koid(init, job), init.koid, threads[0]["koid"], k_ev,
                         k_a, k_b, k_c0, k_c1, k_e2}
    assert objs[k_a]["related_koid"] == k_b and objs[k_b]["related_koid"] == k_a
    assert objs[k_c1]["related_koid"] == k_c0
    assert objs[k_e2]["type"] == mx.OBJ_TYPE_EVENT
    assert objs[k_e2]["handle_count"] == 1 == objs[k_c1]["handle_count"]
    assert objs[k_b]["signals"] == mx.CHANNEL_READABLE | mx.CHANNEL_WRITABLE
    assert objs[k_a]["signals"] == mx.CHANNEL_WRITABLE
    assert objs[init.koid]["type"] == mx.OBJ_TYPE_PROCESS

    # Reading the message moves its handles into init's table.
    _, hs = init.mx_channel_read(b)
    snap2 = kernel.snapshot()
    assert snap2["messages"] == []
    objs2 = {o["koid"]: o for o in snap2["objects"]}
    assert objs2[k_b]["signals"] == mx.CHANNEL_WRITABLE       # not READABLE
    values = {h["value"] for h in snap2["processes"][0]["handles"]}
    assert set(hs) <= values and len(values) == 7
    init.mx_handle_close_many(hs + [ev, a, b, c0])
    assert_baseline(kernel)
    snap3 = kernel.snapshot()
    assert snap3["messages"] == [] and len(snap3["objects"]) == 3


def test_to_dot_names_every_live_koid(kernel, init):
    ev, a, b, c0 = _small_scene(init)
    w0, r0 = init.mx_channel_create()
    w1, r1 = init.mx_channel_create()
    init.mx_channel_write(w0, b"", [r1])
    init.mx_channel_write(w1, b"", [r0])
    close_all(init, w0, w1)
    dot = kernel.to_dot()
    assert re.match(r"\s*(strict\s+)?digraph\b", dot)
    numbers = set(re.findall(r"\d+", dot))
    snap = kernel.snapshot()
    for o in snap["objects"]:
        assert str(o["koid"]) in numbers, o
    if shutil.which("dot"):
        res = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True,
                             text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        assert "<svg" in res.stdout
    close_all(init, ev, a, b, c0)
    assert kernel.collect() == 2
    assert_baseline(kernel)
    assert re.match(r"\s*(strict\s+)?digraph\b", kernel.to_dot())


def test_snapshot_during_traffic_is_consistent(kernel, init):
    a, b = init.mx_channel_create()
    stop = threading.Event()
    th = Threads()

    def traffic():
        ev = init.mx_event_create()
        while not stop.is_set():
            init.mx_channel_write(a, b"x", [ev])
            _, (ev,) = init.mx_channel_read(b)
        init.mx_handle_close(ev)

    th.start(traffic)
    try:
        for _ in range(200):
            snap = kernel.snapshot()
            json.dumps(snap)
            for m in snap["messages"]:
                assert m["endpoint_koid"] == koid(init, b)
                assert m["bytes"] == 1 and len(m["handle_koids"]) == 1
            kernel.to_dot()
    finally:
        stop.set()
        th.join()
    close_all(init, a, b)
    gc.collect()
    assert_baseline(kernel)
