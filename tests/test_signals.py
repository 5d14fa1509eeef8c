"""Signals and waiting through the public API: SPEC §4 (Signals and
waiting: mx_object_signal, mx_object_signal_peer, mx_object_wait_one,
mx_object_wait_many), §3 (argument ranges, error order) and §8 (threads).

Ports and asynchronous waits are in test_ports.py; asyncio in test_aio.py.
TASK_TERMINATED waits for tasks and is not tested here yet.

A test that needs a thread to be *blocked* in a wait before it acts gives it
a short head start (BLOCK_DELAY); there is no public way to see a sleeper.
"""
from __future__ import annotations

import threading
import time

import pytest

import mxhandles as mx
from conftest import assert_baseline, Threads

JOIN = 10.0              # seconds: no helper thread may outlive this
JOIN_NS = int(JOIN * 10**9)
BLOCK_DELAY = 0.1        # seconds: head start for a thread to block
MS = 10**6               # nanoseconds
ALL = 0xFFFFFFFF
USER_BITS = [getattr(mx, "USER_SIGNAL_%d" % i) for i in range(8)]
EV_RIGHTS = mx.RIGHT_DUPLICATE | mx.RIGHT_TRANSFER | mx.RIGHT_READ | mx.RIGHT_WRITE


# -- helpers ------------------------------------------------------------------

def status(ei: pytest.ExceptionInfo) -> int:
    return ei.value.status


def sigs(p, h) -> int:
    """The signals of h's object now (a poll; needs READ)."""
    try:
        return p.mx_object_wait_one(h, ALL, 0)
    except mx.MxError as e:
        assert e.status == mx.ERR_TIMED_OUT
        return e.observed


def koid(p, h) -> int:
    return p.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).koid


def snap_sigs(k, p, h) -> int:
    """The signals of h's object from the kernel's snapshot (no rights)."""
    kd = koid(p, h)
    (obj,) = [o for o in k.snapshot()["objects"] if o["koid"] == kd]
    return obj["signals"]


def expect_error(fn, *args, code):
    """Runs fn(*args) and returns the MxError it raised with status code."""
    with pytest.raises(mx.MxError) as ei:
        fn(*args)
    assert ei.value.status == code, (ei.value.name, mx.MxError(code, "x").name)
    return ei.value


def make(p, kind):
    """A handle of `kind` and every handle made with it (to close)."""
    if kind == "event":
        h = p.mx_event_create()
        return h, [h]
    if kind == "eventpair":
        a, b = p.mx_eventpair_create()
        return a, [a, b]
    if kind == "channel":
        a, b = p.mx_channel_create()
        return a, [a, b]
    if kind == "port":
        h = p.mx_port_create()
        return h, [h]
    raise AssertionError(kind)


SETTABLE = {
    "event": mx.USER_SIGNAL_ALL | mx.EVENT_SIGNALED,
    "eventpair": mx.USER_SIGNAL_ALL | mx.EPAIR_SIGNALED,
    "channel": mx.USER_SIGNAL_ALL,
    "port": mx.USER_SIGNAL_ALL,
}
KINDS = sorted(SETTABLE)


# -- mx_object_signal: user-settable bits --------------------------------------

def test_constants():
    assert mx.USER_SIGNAL_ALL == 0xFF000000
    assert USER_BITS == [1 << i for i in range(24, 32)]
    assert mx.EVENT_SIGNALED == mx.EPAIR_SIGNALED == 1 << 3
    assert mx.CHANNEL_READABLE == 1 and mx.CHANNEL_WRITABLE == 2
    assert mx.CHANNEL_PEER_CLOSED == mx.EPAIR_PEER_CLOSED == 4
    assert mx.PORT_READABLE == 1
    assert mx.TIME_INFINITE == 2**64 - 1


def test_new_event_has_no_signals(kernel, init):
    ev = init.mx_event_create()
    assert sigs(init, ev) == 0
    init.mx_handle_close(ev)


@pytest.mark.parametrize("kind", KINDS)
def test_every_settable_bit_sets_and_clears(kernel, init, kind):
    h, all_h = make(init, kind)
    base = sigs(init, h)
    for bit in range(32):
        mask = 1 << bit
        if not SETTABLE[kind] & mask:
            continue
        init.mx_object_signal(h, 0, mask)
        assert sigs(init, h) == base | mask
        assert snap_sigs(kernel, init, h) == base | mask
        init.mx_object_signal(h, mask, 0)
        assert sigs(init, h) == base
    init.mx_object_signal(h, 0, SETTABLE[kind])
    assert sigs(init, h) == base | SETTABLE[kind]
    init.mx_object_signal(h, SETTABLE[kind], 0)
    assert sigs(init, h) == base
    init.mx_handle_close_many(all_h)
    assert_baseline(kernel)


@pytest.mark.parametrize("kind", KINDS)
def test_bits_outside_the_settable_set_are_invalid_args(kernel, init, kind):
    h, all_h = make(init, kind)
    init.mx_object_signal(h, 0, mx.USER_SIGNAL_3)
    before = sigs(init, h)
    for bit in range(32):
        mask = 1 << bit
        if SETTABLE[kind] & mask:
            continue
        # in the set mask, in the clear mask, and mixed with valid bits
        for clear, set_ in ((0, mask), (mask, 0), (mx.USER_SIGNAL_3, mask),
                            (mask, mx.USER_SIGNAL_0), (mask, mask)):
            e = expect_error(init.mx_object_signal, h, clear, set_,
                             code=mx.ERR_INVALID_ARGS)
            assert "mx_object_signal" in str(e)
            assert sigs(init, h) == before, (bit, clear, set_)
    init.mx_handle_close_many(all_h)


def test_clear_then_set(kernel, init):
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_0 | mx.USER_SIGNAL_1)
    # clear and set the same bit: it ends up set
    init.mx_object_signal(ev, mx.USER_SIGNAL_0, mx.USER_SIGNAL_0)
    assert sigs(init, ev) == mx.USER_SIGNAL_0 | mx.USER_SIGNAL_1
    # clear one, set another in one call
    init.mx_object_signal(ev, mx.USER_SIGNAL_1, mx.EVENT_SIGNALED)
    assert sigs(init, ev) == mx.USER_SIGNAL_0 | mx.EVENT_SIGNALED
    # clearing what is not set is fine; setting what is set is fine
    init.mx_object_signal(ev, mx.USER_SIGNAL_7, mx.EVENT_SIGNALED)
    assert sigs(init, ev) == mx.USER_SIGNAL_0 | mx.EVENT_SIGNALED
    init.mx_object_signal(ev, 0, 0)
    assert sigs(init, ev) == mx.USER_SIGNAL_0 | mx.EVENT_SIGNALED
    init.mx_object_signal(ev, mx.USER_SIGNAL_ALL | mx.EVENT_SIGNALED, 0)
    assert sigs(init, ev) == 0
    init.mx_handle_close(ev)


def test_signals_belong_to_the_object_not_the_handle(kernel, init):
    ev = init.mx_event_create()
    dup = init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
    init.mx_object_signal(dup, 0, mx.EVENT_SIGNALED)
    assert sigs(init, ev) == mx.EVENT_SIGNALED
    init.mx_handle_close(dup)
    assert sigs(init, ev) == mx.EVENT_SIGNALED
    ev2 = init.mx_handle_replace(ev, mx.RIGHT_SAME_RIGHTS)
    assert sigs(init, ev2) == mx.EVENT_SIGNALED
    init.mx_handle_close(ev2)
    assert_baseline(kernel)


def test_user_bits_leave_kernel_bits_alone(kernel, init):
    a, b = init.mx_channel_create()
    init.mx_channel_write(b, b"x")
    assert sigs(init, a) == mx.CHANNEL_READABLE | mx.CHANNEL_WRITABLE
    init.mx_object_signal(a, 0, mx.USER_SIGNAL_ALL)
    assert sigs(init, a) == (mx.CHANNEL_READABLE | mx.CHANNEL_WRITABLE
                             | mx.USER_SIGNAL_ALL)
    init.mx_object_signal(a, mx.USER_SIGNAL_ALL, 0)
    assert sigs(init, a) == mx.CHANNEL_READABLE | mx.CHANNEL_WRITABLE
    # the peer's signals are its own
    assert sigs(init, b) == mx.CHANNEL_WRITABLE
    init.mx_handle_close_many([a, b])
    assert_baseline(kernel)


def test_signal_access_denied_without_write(kernel, init):
    ev = init.mx_event_create()
    ro = init.mx_handle_duplicate(ev, mx.RIGHT_READ | mx.RIGHT_DUPLICATE)
    e = expect_error(init.mx_object_signal, ro, 0, mx.EVENT_SIGNALED,
                     code=mx.ERR_ACCESS_DENIED)
    assert e.name == "ERR_ACCESS_DENIED"
    # ACCESS_DENIED comes before INVALID_ARGS for the bits
    expect_error(init.mx_object_signal, ro, 0, mx.CHANNEL_READABLE,
                 code=mx.ERR_ACCESS_DENIED)
    assert sigs(init, ev) == 0
    # WRITE alone is enough (no READ needed)
    wo = init.mx_handle_duplicate(ev, mx.RIGHT_WRITE)
    init.mx_object_signal(wo, 0, mx.EVENT_SIGNALED)
    assert sigs(init, ev) == mx.EVENT_SIGNALED
    none = init.mx_handle_duplicate(ev, 0)
    expect_error(init.mx_object_signal, none, 0, 0, code=mx.ERR_ACCESS_DENIED)
    init.mx_handle_close_many([ev, ro, wo, none])
    assert_baseline(kernel)


def test_signal_bad_handle(kernel, init):
    ev = init.mx_event_create()
    init.mx_handle_close(ev)
    for h in (0, -1, ev, 2**31 - 1, 2**31, 2**32, 2**64, 2**70):
        expect_error(init.mx_object_signal, h, 0, mx.USER_SIGNAL_0,
                     code=mx.ERR_BAD_HANDLE)
        expect_error(init.mx_object_signal_peer, h, 0, mx.USER_SIGNAL_0,
                     code=mx.ERR_BAD_HANDLE)
        # BAD_HANDLE before INVALID_ARGS for the bits
        expect_error(init.mx_object_signal, h, 0, 1,
                     code=mx.ERR_BAD_HANDLE)
    assert_baseline(kernel)


@pytest.mark.parametrize("fn", ["mx_object_signal", "mx_object_signal_peer"])
def test_signal_mask_ranges(kernel, init, fn):
    call = getattr(init, fn)
    a, b = init.mx_eventpair_create()
    for clear, set_ in ((2**32, 0), (0, 2**32), (-1, 0), (0, -1),
                        (2**64, 0), (0, -(2**40))):
        expect_error(call, a, clear, set_, code=mx.ERR_INVALID_ARGS)
        # out-of-range masks come before any handle check
        expect_error(call, 0, clear, set_, code=mx.ERR_INVALID_ARGS)
    # the largest in-range mask is in range (but not all settable)
    expect_error(call, a, 0, ALL, code=mx.ERR_INVALID_ARGS)
    call(a, 0, 0xFF000000)
    for bad in ("1", 1.0, None, b"\x01"):
        with pytest.raises(TypeError):
            call(a, bad, 0)
        with pytest.raises(TypeError):
            call(a, 0, bad)
        with pytest.raises(TypeError):
            call(bad, 0, 0)
    assert sigs(init, b if fn.endswith("peer") else a) == 0xFF000000
    init.mx_handle_close_many([a, b])
    assert_baseline(kernel)


def test_int_like_masks_are_accepted(kernel, init):
    import enum

    class Bits(enum.IntFlag):
        U0 = 1 << 24

    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, Bits.U0)
    init.mx_object_signal(ev, False, True << 3)
    assert sigs(init, ev) == mx.USER_SIGNAL_0 | mx.EVENT_SIGNALED
    init.mx_handle_close(ev)


# -- mx_object_signal_peer ------------------------------------------------------

def test_signal_peer_eventpair(kernel, init):
    a, b = init.mx_eventpair_create()
    init.mx_object_signal_peer(a, 0, mx.EPAIR_SIGNALED | mx.USER_SIGNAL_5)
    assert sigs(init, b) == mx.EPAIR_SIGNALED | mx.USER_SIGNAL_5
    assert sigs(init, a) == 0
    init.mx_object_signal_peer(b, 0, mx.USER_SIGNAL_1)
    assert sigs(init, a) == mx.USER_SIGNAL_1
    init.mx_object_signal_peer(a, mx.EPAIR_SIGNALED, 0)
    assert sigs(init, b) == mx.USER_SIGNAL_5
    # not settable on the peer either
    expect_error(init.mx_object_signal_peer, a, 0, mx.EPAIR_PEER_CLOSED,
                 code=mx.ERR_INVALID_ARGS)
    expect_error(init.mx_object_signal_peer, a, mx.EPAIR_PEER_CLOSED, 0,
                 code=mx.ERR_INVALID_ARGS)
    expect_error(init.mx_object_signal_peer, a, 0, 1 << 23,
                 code=mx.ERR_INVALID_ARGS)
    assert sigs(init, b) == mx.USER_SIGNAL_5
    init.mx_handle_close_many([a, b])
    assert_baseline(kernel)


def test_signal_peer_channel_user_bits_only(kernel, init):
    a, b = init.mx_channel_create()
    init.mx_object_signal_peer(a, 0, mx.USER_SIGNAL_0 | mx.USER_SIGNAL_7)
    assert sigs(init, b) == (mx.CHANNEL_WRITABLE | mx.USER_SIGNAL_0
                             | mx.USER_SIGNAL_7)
    assert sigs(init, a) == mx.CHANNEL_WRITABLE
    for bad in (mx.CHANNEL_READABLE, mx.CHANNEL_WRITABLE,
                mx.CHANNEL_PEER_CLOSED, 1 << 3):
        expect_error(init.mx_object_signal_peer, a, 0, bad,
                     code=mx.ERR_INVALID_ARGS)
        expect_error(init.mx_object_signal_peer, a, bad, 0,
                     code=mx.ERR_INVALID_ARGS)
    init.mx_handle_close_many([a, b])


@pytest.mark.parametrize("kind", ["event", "port"])
def test_signal_peer_not_supported_without_peer(kernel, init, kind):
    h, all_h = make(init, kind)
    expect_error(init.mx_object_signal_peer, h, 0, mx.USER_SIGNAL_0,
                 code=mx.ERR_NOT_SUPPORTED)
    assert sigs(init, h) == 0
    # rights come first
    ro = init.mx_handle_duplicate(h, mx.RIGHT_READ)
    expect_error(init.mx_object_signal_peer, ro, 0, mx.USER_SIGNAL_0,
                 code=mx.ERR_ACCESS_DENIED)
    init.mx_handle_close_many(all_h + [ro])
    assert_baseline(kernel)


@pytest.mark.parametrize("kind", ["eventpair", "channel"])
def test_signal_peer_closed(kernel, init, kind):
    a, b = (init.mx_eventpair_create() if kind == "eventpair"
            else init.mx_channel_create())
    init.mx_handle_close(b)
    e = expect_error(init.mx_object_signal_peer, a, 0, mx.USER_SIGNAL_0,
                     code=mx.ERR_PEER_CLOSED)
    assert "mx_object_signal_peer" in str(e)
    # bits are checked before the peer (errors column order)
    expect_error(init.mx_object_signal_peer, a, 0, 1 << 20,
                 code=mx.ERR_INVALID_ARGS)
    # own signals still work
    init.mx_object_signal(a, 0, mx.USER_SIGNAL_2)
    assert sigs(init, a) & mx.USER_SIGNAL_2
    # without WRITE: ACCESS_DENIED first
    if kind == "eventpair":
        ro = init.mx_handle_duplicate(a, mx.RIGHT_READ)
        expect_error(init.mx_object_signal_peer, ro, 0, mx.USER_SIGNAL_0,
                     code=mx.ERR_ACCESS_DENIED)
        init.mx_handle_close(ro)
    init.mx_handle_close(a)
    assert_baseline(kernel)


def test_signal_peer_when_peer_in_transit(kernel, init):
    """A peer in transit is still open: its signals can be set, and they are
    there when it is read back."""
    a, b = init.mx_eventpair_create()
    c, d = init.mx_channel_create()
    init.mx_channel_write(c, b"", [b])
    init.mx_object_signal_peer(a, 0, mx.EPAIR_SIGNALED)
    _, (b2,) = init.mx_channel_read(d)
    assert sigs(init, b2) == mx.EPAIR_SIGNALED
    init.mx_handle_close_many([a, b2, c, d])
    assert_baseline(kernel)


# -- kernel-driven signals --------------------------------------------------------

def test_channel_signals(kernel, init):
    a, b = init.mx_channel_create()
    assert sigs(init, a) == mx.CHANNEL_WRITABLE
    assert sigs(init, b) == mx.CHANNEL_WRITABLE
    init.mx_channel_write(a, b"1")
    init.mx_channel_write(a, b"2")
    assert sigs(init, b) == mx.CHANNEL_WRITABLE | mx.CHANNEL_READABLE
    assert sigs(init, a) == mx.CHANNEL_WRITABLE
    init.mx_channel_read(b)
    assert sigs(init, b) == mx.CHANNEL_WRITABLE | mx.CHANNEL_READABLE
    init.mx_channel_read(b)
    assert sigs(init, b) == mx.CHANNEL_WRITABLE
    # peer closes with a message queued: READABLE stays, WRITABLE goes
    init.mx_channel_write(a, b"3")
    init.mx_handle_close(a)
    assert sigs(init, b) == mx.CHANNEL_READABLE | mx.CHANNEL_PEER_CLOSED
    init.mx_channel_read(b)
    assert sigs(init, b) == mx.CHANNEL_PEER_CLOSED
    init.mx_handle_close(b)
    assert_baseline(kernel)


def test_channel_peer_closed_when_peer_destroyed_in_transit(kernel, init):
    a, b = init.mx_channel_create()
    c, d = init.mx_channel_create()
    init.mx_channel_write(c, b"", [b])
    assert sigs(init, a) == mx.CHANNEL_WRITABLE   # b in transit: still open
    init.mx_handle_close(d)                     # destroys b in d's queue
    assert sigs(init, a) == mx.CHANNEL_PEER_CLOSED
    init.mx_handle_close_many([a, c])
    assert_baseline(kernel)


def test_eventpair_peer_closed(kernel, init):
    a, b = init.mx_eventpair_create()
    assert sigs(init, a) == 0 and sigs(init, b) == 0
    init.mx_object_signal(a, 0, mx.USER_SIGNAL_0)
    init.mx_handle_close(b)
    assert sigs(init, a) == mx.EPAIR_PEER_CLOSED | mx.USER_SIGNAL_0
    # the user may clear its own bits but not PEER_CLOSED
    init.mx_object_signal(a, mx.USER_SIGNAL_0, 0)
    expect_error(init.mx_object_signal, a, mx.EPAIR_PEER_CLOSED, 0,
                 code=mx.ERR_INVALID_ARGS)
    assert sigs(init, a) == mx.EPAIR_PEER_CLOSED
    init.mx_handle_close(a)
    assert_baseline(kernel)


def test_eventpair_peer_closed_only_at_last_handle(kernel, init):
    a, b = init.mx_eventpair_create()
    b2 = init.mx_handle_duplicate(b, mx.RIGHT_SAME_RIGHTS)
    init.mx_handle_close(b)
    assert sigs(init, a) == 0
    init.mx_handle_close(b2)
    assert sigs(init, a) == mx.EPAIR_PEER_CLOSED
    init.mx_handle_close(a)


def test_port_readable(kernel, init):
    port = init.mx_port_create()
    assert sigs(init, port) == 0
    init.mx_port_queue(port, mx.PortPacket(1))
    assert sigs(init, port) == mx.PORT_READABLE
    init.mx_port_wait(port, 0)
    assert sigs(init, port) == 0
    init.mx_handle_close(port)
    assert_baseline(kernel)


# -- mx_object_wait_one ---------------------------------------------------------------

def test_wait_one_returns_observed_signals(kernel, init):
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED | mx.USER_SIGNAL_4)
    for dl in (0, 1, mx.deadline_after(0), mx.deadline_after(10**9),
               mx.TIME_INFINITE):
        # already asserted: at once, with every asserted bit
        t0 = time.monotonic()
        assert (init.mx_object_wait_one(ev, mx.EVENT_SIGNALED, dl)
                == mx.EVENT_SIGNALED | mx.USER_SIGNAL_4)
        assert init.mx_object_wait_one(ev, mx.USER_SIGNAL_4 | mx.USER_SIGNAL_0,
                                       dl) == mx.EVENT_SIGNALED | mx.USER_SIGNAL_4
        assert time.monotonic() - t0 < 1.0
    init.mx_handle_close(ev)


def test_wait_one_poll_times_out_with_observed(kernel, init):
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_1)
    for dl in (0, 1, 1000, mx.deadline_after(0) - 10**6):
        t0 = time.monotonic()
        e = expect_error(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED, dl,
                         code=mx.ERR_TIMED_OUT)
        assert time.monotonic() - t0 < 1.0
        assert e.observed == mx.USER_SIGNAL_1
        assert e.name == "ERR_TIMED_OUT"
        assert "mx_object_wait_one" in str(e)
    # waiting for nothing polls the current state
    e = expect_error(init.mx_object_wait_one, ev, 0, 0, code=mx.ERR_TIMED_OUT)
    assert e.observed == mx.USER_SIGNAL_1
    init.mx_handle_close(ev)


def test_wait_one_deadline(kernel, init):
    ev = init.mx_event_create()
    t0 = time.monotonic()
    e = expect_error(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                     mx.deadline_after(50 * MS), code=mx.ERR_TIMED_OUT)
    elapsed = time.monotonic() - t0
    assert 0.040 <= elapsed < 2.0, elapsed
    assert e.observed == 0
    init.mx_handle_close(ev)


def test_deadline_after():
    now = time.monotonic_ns()
    d = mx.deadline_after(10**9)
    assert now + 10**9 <= d <= time.monotonic_ns() + 10**9
    assert mx.deadline_after(mx.TIME_INFINITE) == mx.TIME_INFINITE
    assert mx.deadline_after(2**70) == mx.TIME_INFINITE


def test_wait_one_woken_by_another_thread(kernel, init):
    ev = init.mx_event_create()
    th = Threads()
    th.start(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED | mx.USER_SIGNAL_2,
             mx.deadline_after(JOIN_NS), name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_0)   # not wanted: sleeps on
    time.sleep(0.02)
    assert th.threads[0].is_alive()
    t0 = time.monotonic()
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_2)
    th.join()
    assert time.monotonic() - t0 < 2.0
    assert th.results["w"] == mx.USER_SIGNAL_0 | mx.USER_SIGNAL_2
    init.mx_handle_close(ev)
    assert_baseline(kernel)


def test_wait_one_woken_by_peer_and_kernel_signals(kernel, init):
    a, b = init.mx_channel_create()
    e0, e1 = init.mx_eventpair_create()
    th = Threads()
    th.start(init.mx_object_wait_one, a, mx.CHANNEL_READABLE,
             mx.TIME_INFINITE, name="readable")
    th.start(init.mx_object_wait_one, e0, mx.EPAIR_SIGNALED,
             mx.TIME_INFINITE, name="peer_signal")
    th.start(init.mx_object_wait_one, e1, mx.EPAIR_PEER_CLOSED,
             mx.TIME_INFINITE, name="peer_closed")
    time.sleep(BLOCK_DELAY)
    init.mx_channel_write(b, b"hi")
    init.mx_object_signal_peer(e1, 0, mx.EPAIR_SIGNALED)
    init.mx_handle_close(e0)
    th.join()
    assert th.results["readable"] == mx.CHANNEL_READABLE | mx.CHANNEL_WRITABLE
    assert th.results["peer_signal"] == mx.EPAIR_SIGNALED
    assert th.results["peer_closed"] == mx.EPAIR_PEER_CLOSED
    init.mx_handle_close_many([a, b, e1])
    assert_baseline(kernel)


def test_wait_one_peer_closed_on_channel(kernel, init):
    a, b = init.mx_channel_create()
    th = Threads()
    th.start(init.mx_object_wait_one, a,
             mx.CHANNEL_READABLE | mx.CHANNEL_PEER_CLOSED, mx.TIME_INFINITE,
             name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_handle_close(b)
    th.join()
    assert th.results["w"] == mx.CHANNEL_PEER_CLOSED
    init.mx_handle_close(a)


def test_wait_one_clear_is_not_a_wake(kernel, init):
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_0)
    e = expect_error(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                     mx.deadline_after(30 * MS), code=mx.ERR_TIMED_OUT)
    assert e.observed == mx.USER_SIGNAL_0
    init.mx_handle_close(ev)


def _cancel_how(init, how, h):
    if how == "close":
        init.mx_handle_close(h)
        return None
    if how == "replace":
        return [init.mx_handle_replace(h, mx.RIGHT_SAME_RIGHTS)]
    if how == "transfer":
        c, d = init.mx_channel_create()
        init.mx_channel_write(c, b"", [h])
        return [c, d]
    if how == "close_many":
        init.mx_handle_close_many([h])
        return None
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["close", "close_many", "replace", "transfer"])
def test_wait_one_canceled_when_handle_goes(kernel, init, how):
    ev = init.mx_event_create()
    keep = init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
    th = Threads()
    th.start(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED, mx.TIME_INFINITE)
    # a waiter through another handle of the same object is not affected
    th2 = Threads()
    th2.start(init.mx_object_wait_one, keep, mx.EVENT_SIGNALED,
              mx.TIME_INFINITE, name="other")
    time.sleep(BLOCK_DELAY)
    t0 = time.monotonic()
    rest = _cancel_how(init, how, ev)
    with pytest.raises(mx.MxError) as ei:
        th.join()
    assert status(ei) == mx.ERR_CANCELED
    assert ei.value.name == "ERR_CANCELED"
    assert time.monotonic() - t0 < 2.0
    time.sleep(0.02)
    assert th2.threads[0].is_alive()
    init.mx_object_signal(keep, 0, mx.EVENT_SIGNALED)
    th2.join()
    assert th2.results["other"] == mx.EVENT_SIGNALED
    init.mx_handle_close_many([keep] + (rest or []))
    assert_baseline(kernel)


def test_wait_one_canceled_wait_many_on_same_handle(kernel, init):
    """Every thread waiting through the handle is canceled."""
    ev = init.mx_event_create()
    th = Threads()
    for _ in range(8):
        th.start(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                 mx.TIME_INFINITE)
    time.sleep(BLOCK_DELAY)
    init.mx_handle_close(ev)
    end = time.monotonic() + JOIN
    for t in th.threads:
        t.join(max(0.0, end - time.monotonic()))
    assert not any(t.is_alive() for t in th.threads)
    assert len(th.errors) == 8
    assert all(e.status == mx.ERR_CANCELED for e in th.errors)
    assert_baseline(kernel)


def test_wait_one_access_denied_without_read(kernel, init):
    ev = init.mx_event_create()
    wo = init.mx_handle_duplicate(ev, mx.RIGHT_WRITE | mx.RIGHT_DUPLICATE)
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
    for dl in (0, mx.TIME_INFINITE):
        e = expect_error(init.mx_object_wait_one, wo, mx.EVENT_SIGNALED, dl,
                         code=mx.ERR_ACCESS_DENIED)
        assert not hasattr(e, "observed") or e.observed is None
    ro = init.mx_handle_duplicate(ev, mx.RIGHT_READ)
    assert init.mx_object_wait_one(ro, mx.EVENT_SIGNALED, 0) == mx.EVENT_SIGNALED
    init.mx_handle_close_many([ev, wo, ro])
    assert_baseline(kernel)


def test_wait_one_bad_handle(kernel, init):
    ev = init.mx_event_create()
    init.mx_handle_close(ev)
    for h in (0, -1, ev, 2**31, 2**32 + 1, 2**64, -(2**70)):
        for dl in (0, mx.TIME_INFINITE):
            expect_error(init.mx_object_wait_one, h, mx.EVENT_SIGNALED, dl,
                         code=mx.ERR_BAD_HANDLE)
    assert_baseline(kernel)


def test_wait_one_argument_ranges(kernel, init):
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
    for sig in (2**32, 2**64, -1):
        expect_error(init.mx_object_wait_one, ev, sig, 0,
                     code=mx.ERR_INVALID_ARGS)
        # before any handle check
        expect_error(init.mx_object_wait_one, 0, sig, 0,
                     code=mx.ERR_INVALID_ARGS)
    for dl in (2**64, 2**65, -1):
        expect_error(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED, dl,
                     code=mx.ERR_INVALID_ARGS)
        expect_error(init.mx_object_wait_one, 0, mx.EVENT_SIGNALED, dl,
                     code=mx.ERR_INVALID_ARGS)
    # the edges are in range
    assert init.mx_object_wait_one(ev, ALL, 2**64 - 1) == mx.EVENT_SIGNALED
    assert init.mx_object_wait_one(ev, mx.EVENT_SIGNALED, 0) == mx.EVENT_SIGNALED
    for bad in ("1", 1.5, None, b"", [1]):
        with pytest.raises(TypeError):
            init.mx_object_wait_one(bad, mx.EVENT_SIGNALED, 0)
        with pytest.raises(TypeError):
            init.mx_object_wait_one(ev, bad, 0)
        with pytest.raises(TypeError):
            init.mx_object_wait_one(ev, mx.EVENT_SIGNALED, bad)
    init.mx_handle_close(ev)
    assert_baseline(kernel)


def test_many_threads_wait_on_one_event(kernel, init):
    ev = init.mx_event_create()
    n = 32
    th = Threads()
    for i in range(n):
        th.start(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                 mx.deadline_after(JOIN_NS), name=i)
    time.sleep(BLOCK_DELAY)
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
    th.join()
    assert th.results == {i: mx.EVENT_SIGNALED for i in range(n)}
    init.mx_handle_close(ev)
    assert_baseline(kernel)


def test_waiter_does_not_block_other_syscalls(kernel, init):
    ev = init.mx_event_create()
    done = init.mx_event_create()
    th = Threads()
    th.start(init.mx_object_wait_one, done, mx.EVENT_SIGNALED,
             mx.deadline_after(JOIN_NS), name="waiter")
    time.sleep(BLOCK_DELAY)

    def worker(i):
        a, b = init.mx_channel_create()
        for _ in range(500):
            d = init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
            init.mx_object_signal(d, mx.USER_SIGNAL_ALL, 1 << (24 + i))
            init.mx_channel_write(a, b"x", [d])
            _, (d2,) = init.mx_channel_read(b)
            init.mx_handle_close(d2)
            assert init.mx_object_wait_one(ev, ALL, 0)
        init.mx_handle_close_many([a, b])
        return "ok"

    workers = Threads()
    t0 = time.monotonic()
    for i in range(4):
        workers.start(worker, i, name=i)
    workers.join()
    assert time.monotonic() - t0 < JOIN
    assert workers.results == {i: "ok" for i in range(4)}
    # the waiter is still waiting, then wakes
    assert th.threads[0].is_alive()
    init.mx_object_signal(done, 0, mx.EVENT_SIGNALED)
    th.join()
    assert th.results["waiter"] == mx.EVENT_SIGNALED
    init.mx_handle_close_many([ev, done])
    assert_baseline(kernel)


def test_wait_burns_no_cpu(kernel, init):
    ev = init.mx_event_create()
    # the calling thread waits to its deadline
    c0, t0 = time.process_time(), time.monotonic()
    expect_error(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                 mx.deadline_after(300 * MS), code=mx.ERR_TIMED_OUT)
    cpu, wall = time.process_time() - c0, time.monotonic() - t0
    assert wall >= 0.29
    assert cpu < 0.1, "waiting 0.3 s used %.3f s of CPU" % cpu
    # other threads wait forever while this one sleeps
    th = Threads()
    for _ in range(4):
        th.start(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                 mx.TIME_INFINITE)
    th.start(init.mx_object_wait_many, [(ev, mx.EVENT_SIGNALED)],
             mx.TIME_INFINITE)
    time.sleep(BLOCK_DELAY)
    c0 = time.process_time()
    time.sleep(0.3)
    cpu = time.process_time() - c0
    assert cpu < 0.1, "5 blocked waiters used %.3f s of CPU in 0.3 s" % cpu
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
    th.join()
    init.mx_handle_close(ev)


def test_wait_one_on_every_object_kind(kernel, init):
    for kind in KINDS:
        h, all_h = make(init, kind)
        init.mx_object_signal(h, 0, mx.USER_SIGNAL_6)
        assert init.mx_object_wait_one(h, mx.USER_SIGNAL_6, 0) & mx.USER_SIGNAL_6
        init.mx_handle_close_many(all_h)
    assert_baseline(kernel)


def test_wait_one_signal_and_clear_races(kernel, init):
    """A pulse (set then clear) while a thread waits: it either sees it or
    times out; nothing hangs or crashes."""
    ev = init.mx_event_create()
    stop = threading.Event()

    def pulser():
        while not stop.is_set():
            init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
            init.mx_object_signal(ev, mx.EVENT_SIGNALED, 0)

    th = Threads()
    th.start(pulser)
    woke = 0
    for _ in range(200):
        try:
            init.mx_object_wait_one(ev, mx.EVENT_SIGNALED,
                                    mx.deadline_after(5 * MS))
            woke += 1
        except mx.MxError as e:
            assert e.status == mx.ERR_TIMED_OUT
    stop.set()
    th.join()
    assert woke > 0
    init.mx_handle_close(ev)
    assert_baseline(kernel)


# -- mx_object_wait_many ---------------------------------------------------------------

def test_wait_many_returns_observed_per_item(kernel, init):
    e1 = init.mx_event_create()
    e2 = init.mx_event_create()
    a, b = init.mx_channel_create()
    init.mx_object_signal(e2, 0, mx.USER_SIGNAL_0)
    init.mx_object_signal(e1, 0, mx.EVENT_SIGNALED)
    items = [(e1, mx.EVENT_SIGNALED), (e2, mx.EVENT_SIGNALED),
             (a, mx.CHANNEL_READABLE)]
    for dl in (0, mx.TIME_INFINITE):
        got = init.mx_object_wait_many(items, dl)
        assert got == [mx.EVENT_SIGNALED, mx.USER_SIGNAL_0, mx.CHANNEL_WRITABLE]
        assert isinstance(got, list)
    # lists as items, any sequence of items, the same handle twice
    got = init.mx_object_wait_many(
        ([e1, mx.USER_SIGNAL_0], [e1, mx.EVENT_SIGNALED]), 0)
    assert got == [mx.EVENT_SIGNALED, mx.EVENT_SIGNALED]
    got = init.mx_object_wait_many(iter([(e2, mx.USER_SIGNAL_0)]), 0)
    assert got == [mx.USER_SIGNAL_0]
    init.mx_handle_close_many([e1, e2, a, b])
    assert_baseline(kernel)


def test_wait_many_times_out_with_observed_list(kernel, init):
    e1 = init.mx_event_create()
    e2 = init.mx_event_create()
    init.mx_object_signal(e2, 0, mx.USER_SIGNAL_3)
    items = [(e1, mx.EVENT_SIGNALED), (e2, mx.EVENT_SIGNALED)]
    e = expect_error(init.mx_object_wait_many, items, 0,
                     code=mx.ERR_TIMED_OUT)
    assert e.observed == [0, mx.USER_SIGNAL_3]
    assert "mx_object_wait_many" in str(e)
    t0 = time.monotonic()
    e = expect_error(init.mx_object_wait_many, items,
                     mx.deadline_after(50 * MS), code=mx.ERR_TIMED_OUT)
    elapsed = time.monotonic() - t0
    assert 0.040 <= elapsed < 2.0, elapsed
    assert e.observed == [0, mx.USER_SIGNAL_3]
    init.mx_handle_close_many([e1, e2])


def test_wait_many_empty_waits_for_the_deadline(kernel, init):
    e = expect_error(init.mx_object_wait_many, [], 0, code=mx.ERR_TIMED_OUT)
    assert e.observed == []
    t0 = time.monotonic()
    e = expect_error(init.mx_object_wait_many, [], mx.deadline_after(50 * MS),
                     code=mx.ERR_TIMED_OUT)
    elapsed = time.monotonic() - t0
    assert 0.040 <= elapsed < 2.0, elapsed
    assert e.observed == []
    e = expect_error(init.mx_object_wait_many, (), mx.deadline_after(10 * MS),
                     code=mx.ERR_TIMED_OUT)
    assert e.observed == []


def test_wait_many_any_item_wakes(kernel, init):
    evs = [init.mx_event_create() for _ in range(5)]
    for idx in range(5):
        th = Threads()
        th.start(init.mx_object_wait_many,
                 [(e, mx.EVENT_SIGNALED) for e in evs],
                 mx.deadline_after(JOIN_NS), name="w")
        time.sleep(0.05)
        init.mx_object_signal(evs[idx], 0, mx.EVENT_SIGNALED)
        th.join()
        expect = [0] * 5
        expect[idx] = mx.EVENT_SIGNALED
        assert th.results["w"] == expect
        init.mx_object_signal(evs[idx], mx.EVENT_SIGNALED, 0)
    init.mx_handle_close_many(evs)
    assert_baseline(kernel)


def test_wait_many_mixed_kinds_wake(kernel, init):
    ev = init.mx_event_create()
    a, b = init.mx_channel_create()
    port = init.mx_port_create()
    items = [(ev, mx.EVENT_SIGNALED), (a, mx.CHANNEL_READABLE),
             (port, mx.PORT_READABLE)]
    th = Threads()
    th.start(init.mx_object_wait_many, items, mx.TIME_INFINITE, name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_port_queue(port, mx.PortPacket(3))
    th.join()
    assert th.results["w"] == [0, mx.CHANNEL_WRITABLE, mx.PORT_READABLE]
    init.mx_port_wait(port, 0)
    th = Threads()
    th.start(init.mx_object_wait_many, items, mx.TIME_INFINITE, name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_channel_write(b, b"m")
    th.join()
    assert th.results["w"] == [0, mx.CHANNEL_WRITABLE | mx.CHANNEL_READABLE, 0]
    init.mx_handle_close_many([ev, a, b, port])
    assert_baseline(kernel)


def test_wait_many_errors_in_item_order(kernel, init):
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
    wo = init.mx_handle_duplicate(ev, mx.RIGHT_WRITE)
    dead = init.mx_event_create()
    init.mx_handle_close(dead)
    S = mx.EVENT_SIGNALED
    cases = [
        ([(dead, S)], mx.ERR_BAD_HANDLE),
        ([(0, S)], mx.ERR_BAD_HANDLE),
        ([(-5, S)], mx.ERR_BAD_HANDLE),
        ([(2**40, S)], mx.ERR_BAD_HANDLE),
        ([(wo, S)], mx.ERR_ACCESS_DENIED),
        ([(ev, S), (dead, S)], mx.ERR_BAD_HANDLE),
        ([(ev, S), (wo, S)], mx.ERR_ACCESS_DENIED),
        ([(dead, S), (wo, S)], mx.ERR_BAD_HANDLE),
        ([(wo, S), (dead, S)], mx.ERR_ACCESS_DENIED),
        ([(ev, S), (wo, S), (dead, S)], mx.ERR_ACCESS_DENIED),
        ([(ev, S), (dead, S), (wo, S)], mx.ERR_BAD_HANDLE),
    ]
    for items, code in cases:
        for dl in (0, mx.TIME_INFINITE):
            # an error even though an earlier item is already satisfied
            expect_error(init.mx_object_wait_many, items, dl, code=code)
    init.mx_handle_close_many([ev, wo])
    assert_baseline(kernel)


def test_wait_many_argument_ranges(kernel, init):
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
    S = mx.EVENT_SIGNALED
    for sig in (2**32, -1):
        expect_error(init.mx_object_wait_many, [(ev, sig)], 0,
                     code=mx.ERR_INVALID_ARGS)
        # range errors come before any handle check, whatever the order
        expect_error(init.mx_object_wait_many, [(0, S), (ev, sig)], 0,
                     code=mx.ERR_INVALID_ARGS)
    for dl in (2**64, -1):
        expect_error(init.mx_object_wait_many, [(ev, S)], dl,
                     code=mx.ERR_INVALID_ARGS)
        expect_error(init.mx_object_wait_many, [(0, S)], dl,
                     code=mx.ERR_INVALID_ARGS)
        expect_error(init.mx_object_wait_many, [], dl,
                     code=mx.ERR_INVALID_ARGS)
    for bad_items in (None, 5, "ab", b"ab", [ev], [(ev,)], [(ev, S, 0)],
                      [("h", S)], [(ev, "s")], [(ev, 1.0)]):
        with pytest.raises(TypeError):
            init.mx_object_wait_many(bad_items, 0)
    with pytest.raises(TypeError):
        init.mx_object_wait_many([(ev, S)], "soon")
    with pytest.raises(TypeError):
        init.mx_object_wait_many([(ev, S)], None)
    init.mx_handle_close(ev)
    assert_baseline(kernel)


@pytest.mark.parametrize("how", ["close", "replace", "transfer"])
def test_wait_many_canceled_when_a_handle_goes(kernel, init, how):
    e1 = init.mx_event_create()
    e2 = init.mx_event_create()
    th = Threads()
    th.start(init.mx_object_wait_many,
             [(e1, mx.EVENT_SIGNALED), (e2, mx.EVENT_SIGNALED)],
             mx.TIME_INFINITE)
    time.sleep(BLOCK_DELAY)
    rest = _cancel_how(init, how, e2)
    with pytest.raises(mx.MxError) as ei:
        th.join()
    assert status(ei) == mx.ERR_CANCELED
    init.mx_handle_close_many([e1] + (rest or []))
    assert_baseline(kernel)


def test_wait_many_many_items(kernel, init):
    evs = [init.mx_event_create() for _ in range(500)]
    th = Threads()
    th.start(init.mx_object_wait_many, [(e, mx.EVENT_SIGNALED) for e in evs],
             mx.TIME_INFINITE, name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_object_signal(evs[-1], 0, mx.EVENT_SIGNALED)
    th.join()
    assert th.results["w"] == [0] * 499 + [mx.EVENT_SIGNALED]
    init.mx_handle_close_many(evs)
    assert_baseline(kernel)


def test_waits_leave_nothing_behind(kernel, init):
    """Timed-out, satisfied and canceled waits all unregister: the objects
    are destroyed normally afterwards and signals still work."""
    ev = init.mx_event_create()
    for _ in range(100):
        with pytest.raises(mx.MxError):
            init.mx_object_wait_one(ev, mx.EVENT_SIGNALED, mx.deadline_after(1000))
        with pytest.raises(mx.MxError):
            init.mx_object_wait_many([(ev, mx.EVENT_SIGNALED)],
                                     mx.deadline_after(1000))
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
    init.mx_handle_close(ev)
    assert_baseline(kernel)
