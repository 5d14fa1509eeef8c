"""Ports and asynchronous waits through the public API: SPEC §4 (Signals
and waiting: mx_port_create, mx_port_queue, mx_port_wait,
mx_object_wait_async, mx_port_cancel), §3 (argument ranges, error order,
"the port is examined before the watched handle"), §5 (an async wait holds
no reference to the port) and §8 (threads).
"""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

import mxhandles as mx
from conftest import assert_baseline, Threads
from mxhandles.model import ModelKernel

JOIN = 10.0
JOIN_NS = int(JOIN * 10**9)
BLOCK_DELAY = 0.1
MS = 10**6
ALL = 0xFFFFFFFF
PORT_RIGHTS = mx.RIGHT_DUPLICATE | mx.RIGHT_TRANSFER | mx.RIGHT_READ | mx.RIGHT_WRITE
ONCE, REP = mx.WAIT_ASYNC_ONCE, mx.WAIT_ASYNC_REPEATING
S = mx.EVENT_SIGNALED


# -- helpers ------------------------------------------------------------------

def status(ei: pytest.ExceptionInfo) -> int:
    return ei.value.status


def expect_error(fn, *args, code):
    with pytest.raises(mx.MxError) as ei:
        fn(*args)
    assert ei.value.status == code, (ei.value.name, mx.MxError(code, "x").name)
    return ei.value


def drain(p, port):
    """Every packet queued on port now, in order."""
    out = []
    while True:
        try:
            out.append(p.mx_port_wait(port, 0))
        except mx.MxError as e:
            assert e.status == mx.ERR_TIMED_OUT
            return out


def is_empty(p, port) -> bool:
    return drain(p, port) == []


def sigs(p, h) -> int:
    try:
        return p.mx_object_wait_one(h, ALL, 0)
    except mx.MxError as e:
        assert e.status == mx.ERR_TIMED_OUT
        return e.observed


def port_count(k) -> int:
    return k.stats().live_objects["port"]


def check_signal_packet(pkt, key, trigger, observed, rep=False):
    assert pkt.key == key
    assert pkt.type == (mx.PKT_TYPE_SIGNAL_REP if rep else mx.PKT_TYPE_SIGNAL_ONE)
    assert pkt.status == 0
    assert pkt.signal is not None
    assert pkt.signal.trigger == trigger
    assert pkt.signal.observed == observed
    assert pkt.signal.count >= 1
    assert isinstance(pkt.signal, mx.SignalInfo)


# -- create ---------------------------------------------------------------------

def test_constants():
    assert mx.WAIT_ASYNC_ONCE == 0 and mx.WAIT_ASYNC_REPEATING == 1
    assert mx.PKT_TYPE_USER == 0
    assert mx.PKT_TYPE_SIGNAL_ONE == 1 and mx.PKT_TYPE_SIGNAL_REP == 2
    assert mx.PORT_MAX_PACKETS == 4096
    assert mx.OBJ_TYPE_PORT == 20


def test_port_create_default_rights(kernel, init):
    port = init.mx_port_create()
    port2 = init.mx_port_create(0)
    port3 = init.mx_port_create(options=0)
    for h in (port, port2, port3):
        info = init.mx_object_get_info(h, mx.INFO_HANDLE_BASIC)
        assert info.type == mx.OBJ_TYPE_PORT
        assert info.rights == PORT_RIGHTS
        assert info.related_koid == 0
        assert info.props == mx.OBJ_PROP_WAITABLE
    assert len({init.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).koid
                for h in (port, port2, port3)}) == 3
    assert port_count(kernel) == 3
    # ports can be duplicated
    dup = init.mx_handle_duplicate(port, mx.RIGHT_SAME_RIGHTS)
    init.mx_handle_close_many([port, port2, port3, dup])
    assert_baseline(kernel)


def test_port_create_options(kernel, init):
    for opts in (1, 2, 0x80000000, 2**32 - 1, 2**32, 2**64, -1):
        e = expect_error(init.mx_port_create, opts, code=mx.ERR_INVALID_ARGS)
        assert "mx_port_create" in str(e)
    for bad in ("0", None, 0.0, b""):
        with pytest.raises(TypeError):
            init.mx_port_create(bad)
    assert_baseline(kernel)


# -- queue / wait: user packets ----------------------------------------------------

def test_port_packet_builder():
    p = mx.PortPacket(5)
    assert (p.key, p.status, p.user) == (5, 0, bytes(32))
    p = mx.PortPacket(7, -3, b"abc")
    assert p.user == b"abc" + bytes(29)
    assert len(p.user) == 32
    assert mx.PortPacket(1, user=bytearray(b"xy")).user == b"xy" + bytes(30)
    assert mx.PortPacket(1, user=memoryview(b"q" * 32)).user == b"q" * 32
    with pytest.raises(ValueError):
        mx.PortPacket(1, user=b"x" * 33)
    with pytest.raises(ValueError):
        mx.PortPacket(1, 0, bytes(1000))
    # immutable
    with pytest.raises(AttributeError):
        p.key = 3  # type: ignore[misc]


def test_queue_and_wait_user_packet(kernel, init):
    port = init.mx_port_create()
    init.mx_port_queue(port, mx.PortPacket(42, 7, b"hello"))
    pkt = init.mx_port_wait(port, 0)
    assert pkt.key == 42
    assert pkt.type == mx.PKT_TYPE_USER
    assert pkt.status == 7
    assert pkt.user == b"hello" + bytes(27)
    assert pkt.signal is None
    assert isinstance(pkt, mx.Packet)
    # records are immutable
    with pytest.raises(AttributeError):
        pkt.key = 1  # type: ignore[misc]
    init.mx_handle_close(port)
    assert_baseline(kernel)


def test_queue_key_and_status_ranges(kernel, init):
    port = init.mx_port_create()
    for key in (0, 1, 2**63, 2**64 - 1):
        init.mx_port_queue(port, mx.PortPacket(key))
        assert init.mx_port_wait(port, 0).key == key
    for st in (0, -1, mx.ERR_CANCELED, 2**31 - 1, -(2**31)):
        init.mx_port_queue(port, mx.PortPacket(1, st))
        assert init.mx_port_wait(port, 0).status == st
    for key in (2**64, -1, 2**80):
        expect_error(init.mx_port_queue, port, mx.PortPacket(key),
                     code=mx.ERR_INVALID_ARGS)
        # out-of-range keys come before any handle check
        expect_error(init.mx_port_queue, 0, mx.PortPacket(key),
                     code=mx.ERR_INVALID_ARGS)
    for st in (2**31, -(2**31) - 1, 2**64):
        expect_error(init.mx_port_queue, port, mx.PortPacket(1, st),
                     code=mx.ERR_INVALID_ARGS)
    assert is_empty(init, port)
    init.mx_handle_close(port)
    assert_baseline(kernel)


def test_any_object_with_key_status_user_is_a_packet(kernel, init):
    port = init.mx_port_create()

    class Mine:
        key = 9
        status = 2
        user = b"mine"

    init.mx_port_queue(port, Mine())
    init.mx_port_queue(port, SimpleNamespace(key=10, status=0, user=bytearray(b"ns")))
    init.mx_port_queue(port, SimpleNamespace(key=11, status=0, user=b""))
    init.mx_port_queue(port, SimpleNamespace(key=12, status=0, user=b"z" * 32))
    got = drain(init, port)
    assert [(p.key, p.status, p.user) for p in got] == [
        (9, 2, b"mine" + bytes(28)), (10, 0, b"ns" + bytes(30)),
        (11, 0, bytes(32)), (12, 0, b"z" * 32)]
    assert all(p.type == mx.PKT_TYPE_USER for p in got)
    for bad in (None, 5, SimpleNamespace(key=1, status=0),
                SimpleNamespace(key=1, user=b""),
                SimpleNamespace(status=0, user=b""),
                SimpleNamespace(key="1", status=0, user=b""),
                SimpleNamespace(key=1, status=0.5, user=b""),
                SimpleNamespace(key=1, status=0, user="text")):
        with pytest.raises(TypeError):
            init.mx_port_queue(port, bad)
    assert is_empty(init, port)
    init.mx_handle_close(port)


def test_queue_user_too_long(kernel, init):
    port = init.mx_port_create()
    for n in (33, 64, 10000):
        e = expect_error(init.mx_port_queue, port,
                         SimpleNamespace(key=1, status=0, user=b"u" * n),
                         code=mx.ERR_INVALID_ARGS)
        assert "mx_port_queue" in str(e)
    assert is_empty(init, port)
    init.mx_handle_close(port)


def test_queue_user_too_long_after_handle_checks(kernel, init):
    """INVALID_ARGS for the payload comes after BAD_HANDLE, WRONG_TYPE and
    ACCESS_DENIED (the errors column order, SPEC §3) -- and before
    SHOULD_WAIT."""
    long = SimpleNamespace(key=1, status=0, user=b"u" * 33)
    port = init.mx_port_create()
    for _ in range(mx.PORT_MAX_PACKETS):
        init.mx_port_queue(port, mx.PortPacket(0))
    expect_error(init.mx_port_queue, port, long, code=mx.ERR_INVALID_ARGS)
    init.mx_handle_close(port)


@pytest.mark.parametrize("which", ["bad_handle", "wrong_type", "no_write"])
def test_queue_handle_errors_before_payload_length(kernel, init, which):
    long = SimpleNamespace(key=1, status=0, user=b"u" * 33)
    port = init.mx_port_create()
    ev = init.mx_event_create()
    ro = init.mx_handle_duplicate(port, mx.RIGHT_READ)
    h, code = {"bad_handle": (0, mx.ERR_BAD_HANDLE),
               "wrong_type": (ev, mx.ERR_WRONG_TYPE),
               "no_write": (ro, mx.ERR_ACCESS_DENIED)}[which]
    expect_error(init.mx_port_queue, h, long, code=code)


def test_packets_leave_in_queue_order(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_port_queue(port, mx.PortPacket(1))
    init.mx_object_wait_async(ev, port, 2, S, ONCE)
    init.mx_port_queue(port, mx.PortPacket(3))
    init.mx_object_signal(ev, 0, S)          # signal packet after 3
    for i in range(4, 100):
        init.mx_port_queue(port, mx.PortPacket(i, user=bytes([i])))
    got = drain(init, port)
    assert [p.key for p in got] == [1, 3, 2] + list(range(4, 100))
    assert got[2].type == mx.PKT_TYPE_SIGNAL_ONE
    assert all(p.user[:1] == bytes([p.key]) for p in got[3:])
    init.mx_handle_close_many([port, ev])
    assert_baseline(kernel)


def test_port_full_should_wait(kernel, init):
    port = init.mx_port_create()
    for i in range(mx.PORT_MAX_PACKETS):
        init.mx_port_queue(port, mx.PortPacket(i))
    e = expect_error(init.mx_port_queue, port, mx.PortPacket(99999),
                     code=mx.ERR_SHOULD_WAIT)
    assert "mx_port_queue" in str(e)
    # signal packets are never refused, whether the wait starts before or
    # after the port filled up
    evs = [init.mx_event_create() for _ in range(3)]
    init.mx_object_signal(evs[0], 0, S)
    init.mx_object_wait_async(evs[0], port, 100000, S, ONCE)   # at once
    init.mx_object_wait_async(evs[1], port, 100001, S, REP)
    init.mx_object_wait_async(evs[2], port, 100002, S, ONCE)
    init.mx_object_signal(evs[1], 0, S)
    init.mx_object_signal(evs[2], 0, S)
    # still full for user packets
    expect_error(init.mx_port_queue, port, mx.PortPacket(99999),
                 code=mx.ERR_SHOULD_WAIT)
    # one dequeued: room for one
    assert init.mx_port_wait(port, 0).key == 0
    init.mx_port_queue(port, mx.PortPacket(5000))
    expect_error(init.mx_port_queue, port, mx.PortPacket(99999),
                 code=mx.ERR_SHOULD_WAIT)
    got = drain(init, port)
    assert [p.key for p in got] == (list(range(1, mx.PORT_MAX_PACKETS))
                                    + [100000, 100001, 100002, 5000])
    assert [p.type for p in got[-4:]] == [mx.PKT_TYPE_SIGNAL_ONE,
                                          mx.PKT_TYPE_SIGNAL_REP,
                                          mx.PKT_TYPE_SIGNAL_ONE,
                                          mx.PKT_TYPE_USER]
    # empty again: a full load fits again
    for i in range(mx.PORT_MAX_PACKETS):
        init.mx_port_queue(port, mx.PortPacket(i))
    expect_error(init.mx_port_queue, port, mx.PortPacket(0),
                 code=mx.ERR_SHOULD_WAIT)
    init.mx_handle_close_many([port] + evs)
    assert_baseline(kernel)


def test_signal_packets_do_not_count_against_the_limit(kernel, init):
    port = init.mx_port_create()
    evs = [init.mx_event_create() for _ in range(200)]
    for i, ev in enumerate(evs):
        init.mx_object_wait_async(ev, port, i, S, ONCE)
        init.mx_object_signal(ev, 0, S)
    # 200 signal packets queued; still room for PORT_MAX_PACKETS user packets
    for i in range(mx.PORT_MAX_PACKETS):
        init.mx_port_queue(port, mx.PortPacket(i))
    expect_error(init.mx_port_queue, port, mx.PortPacket(0),
                 code=mx.ERR_SHOULD_WAIT)
    got = drain(init, port)
    assert len(got) == 200 + mx.PORT_MAX_PACKETS
    init.mx_handle_close_many([port] + evs)
    assert_baseline(kernel)


def test_port_wait_timed_out(kernel, init):
    port = init.mx_port_create()
    for dl in (0, 1, mx.deadline_after(0)):
        e = expect_error(init.mx_port_wait, port, dl, code=mx.ERR_TIMED_OUT)
        assert "mx_port_wait" in str(e)
    t0 = time.monotonic()
    expect_error(init.mx_port_wait, port, mx.deadline_after(50 * MS),
                 code=mx.ERR_TIMED_OUT)
    elapsed = time.monotonic() - t0
    assert 0.040 <= elapsed < 2.0, elapsed
    init.mx_handle_close(port)


def test_port_wait_woken_by_queue_from_another_thread(kernel, init):
    port = init.mx_port_create()
    th = Threads()
    th.start(init.mx_port_wait, port, mx.deadline_after(JOIN_NS), name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_port_queue(port, mx.PortPacket(77, user=b"wake"))
    th.join()
    assert th.results["w"].key == 77
    assert th.results["w"].user[:4] == b"wake"
    init.mx_handle_close(port)
    assert_baseline(kernel)


def test_port_wait_woken_by_signal_packet(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 5, S | mx.USER_SIGNAL_0, ONCE)
    th = Threads()
    th.start(init.mx_port_wait, port, mx.TIME_INFINITE, name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_0)
    th.join()
    check_signal_packet(th.results["w"], 5, S | mx.USER_SIGNAL_0,
                        mx.USER_SIGNAL_0)
    init.mx_handle_close_many([port, ev])
    assert_baseline(kernel)


def test_many_port_waiters_each_get_one_packet(kernel, init):
    port = init.mx_port_create()
    n = 16
    th = Threads()
    for i in range(n):
        th.start(init.mx_port_wait, port, mx.deadline_after(JOIN_NS), name=i)
    time.sleep(BLOCK_DELAY)
    for i in range(n):
        init.mx_port_queue(port, mx.PortPacket(1000 + i))
    th.join()
    assert sorted(p.key for p in th.results.values()) == list(range(1000, 1000 + n))
    assert is_empty(init, port)
    init.mx_handle_close(port)


def test_port_wait_canceled_when_port_handle_closed(kernel, init):
    port = init.mx_port_create()
    th = Threads()
    th.start(init.mx_port_wait, port, mx.TIME_INFINITE)
    time.sleep(BLOCK_DELAY)
    init.mx_handle_close(port)
    with pytest.raises(mx.MxError) as ei:
        th.join()
    assert status(ei) == mx.ERR_CANCELED
    assert_baseline(kernel)


def test_port_queue_and_wait_rights_and_types(kernel, init):
    port = init.mx_port_create()
    ro = init.mx_handle_duplicate(port, mx.RIGHT_READ)
    wo = init.mx_handle_duplicate(port, mx.RIGHT_WRITE)
    ev = init.mx_event_create()
    a, b = init.mx_channel_create()
    dead = init.mx_port_create()
    init.mx_handle_close(dead)
    pkt = mx.PortPacket(1)
    expect_error(init.mx_port_queue, ro, pkt, code=mx.ERR_ACCESS_DENIED)
    init.mx_port_queue(wo, pkt)
    expect_error(init.mx_port_wait, wo, 0, code=mx.ERR_ACCESS_DENIED)
    assert init.mx_port_wait(ro, 0).key == 1
    for h in (ev, a):
        expect_error(init.mx_port_queue, h, pkt, code=mx.ERR_WRONG_TYPE)
        expect_error(init.mx_port_wait, h, 0, code=mx.ERR_WRONG_TYPE)
    for h in (0, -1, dead, 2**31, 2**64):
        expect_error(init.mx_port_queue, h, pkt, code=mx.ERR_BAD_HANDLE)
        expect_error(init.mx_port_wait, h, 0, code=mx.ERR_BAD_HANDLE)
    # WRONG_TYPE before ACCESS_DENIED: an event with no rights
    ev0 = init.mx_handle_duplicate(ev, 0)
    expect_error(init.mx_port_queue, ev0, pkt, code=mx.ERR_WRONG_TYPE)
    expect_error(init.mx_port_wait, ev0, 0, code=mx.ERR_WRONG_TYPE)
    for dl in (2**64, -1):
        expect_error(init.mx_port_wait, port, dl, code=mx.ERR_INVALID_ARGS)
        expect_error(init.mx_port_wait, 0, dl, code=mx.ERR_INVALID_ARGS)
    for bad in ("p", None, 1.0):
        with pytest.raises(TypeError):
            init.mx_port_wait(bad, 0)
        with pytest.raises(TypeError):
            init.mx_port_wait(port, bad)
        with pytest.raises(TypeError):
            init.mx_port_queue(bad, pkt)
    init.mx_handle_close_many([port, ro, wo, ev, ev0, a, b])
    assert_baseline(kernel)


def test_port_readable_while_non_empty(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    assert sigs(init, port) == 0
    init.mx_port_queue(port, mx.PortPacket(1))
    init.mx_port_queue(port, mx.PortPacket(2))
    assert sigs(init, port) == mx.PORT_READABLE
    init.mx_port_wait(port, 0)
    assert sigs(init, port) == mx.PORT_READABLE
    init.mx_port_wait(port, 0)
    assert sigs(init, port) == 0
    init.mx_object_wait_async(ev, port, 1, S, ONCE)
    init.mx_object_signal(ev, 0, S)
    assert sigs(init, port) == mx.PORT_READABLE
    init.mx_port_wait(port, 0)
    assert sigs(init, port) == 0
    # user bits on a port are independent of PORT_READABLE
    init.mx_object_signal(port, 0, mx.USER_SIGNAL_0)
    expect_error(init.mx_object_signal, port, 0, mx.PORT_READABLE,
                 code=mx.ERR_INVALID_ARGS)
    expect_error(init.mx_object_signal, port, mx.PORT_READABLE, 0,
                 code=mx.ERR_INVALID_ARGS)
    assert sigs(init, port) == mx.USER_SIGNAL_0
    init.mx_handle_close_many([port, ev])


def test_closing_port_frees_queued_packets(kernel, init):
    port = init.mx_port_create()
    evs = [init.mx_event_create() for _ in range(10)]
    for i in range(100):
        init.mx_port_queue(port, mx.PortPacket(i, user=b"x" * 32))
    for i, ev in enumerate(evs):
        init.mx_object_wait_async(ev, port, i, S, REP if i % 2 else ONCE)
        init.mx_object_signal(ev, 0, S)
    init.mx_handle_close(port)
    assert port_count(kernel) == 0
    for ev in evs:   # firing into a destroyed port is harmless
        init.mx_object_signal(ev, S, 0)
        init.mx_object_signal(ev, 0, S)
    init.mx_handle_close_many(evs)
    assert_baseline(kernel)


def test_port_in_transit_keeps_its_packets(kernel, init):
    port = init.mx_port_create()
    init.mx_port_queue(port, mx.PortPacket(8))
    a, b = init.mx_channel_create()
    init.mx_channel_write(a, b"", [port])
    _, (port2,) = init.mx_channel_read(b)
    assert init.mx_port_wait(port2, 0).key == 8
    init.mx_handle_close_many([port2, a, b])
    assert_baseline(kernel)


# -- wait_async: once ---------------------------------------------------------------------

def test_once_fires_once(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 11, S | mx.USER_SIGNAL_1, ONCE)
    assert is_empty(init, port)
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_2)   # not requested
    assert is_empty(init, port)
    init.mx_object_signal(ev, 0, S)
    (pkt,) = drain(init, port)
    check_signal_packet(pkt, 11, S | mx.USER_SIGNAL_1, S | mx.USER_SIGNAL_2)
    assert pkt.user is None
    # never again
    for _ in range(3):
        init.mx_object_signal(ev, S, 0)
        init.mx_object_signal(ev, 0, S | mx.USER_SIGNAL_1)
    assert is_empty(init, port)
    expect_error(init.mx_port_cancel, port, ev, 11, code=mx.ERR_NOT_FOUND)
    init.mx_handle_close_many([port, ev])
    assert_baseline(kernel)


def test_once_fires_at_once_if_already_asserted(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, S | mx.USER_SIGNAL_7)
    init.mx_object_wait_async(ev, port, 0, mx.USER_SIGNAL_7, ONCE)
    (pkt,) = drain(init, port)
    check_signal_packet(pkt, 0, mx.USER_SIGNAL_7, S | mx.USER_SIGNAL_7)
    init.mx_object_signal(ev, mx.USER_SIGNAL_7, 0)
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_7)
    assert is_empty(init, port)
    init.mx_handle_close_many([port, ev])


def test_once_kernel_signals(kernel, init):
    port = init.mx_port_create()
    a, b = init.mx_channel_create()
    e0, e1 = init.mx_eventpair_create()
    init.mx_object_wait_async(a, port, 1, mx.CHANNEL_READABLE, ONCE)
    init.mx_object_wait_async(a, port, 2, mx.CHANNEL_PEER_CLOSED, ONCE)
    init.mx_object_wait_async(a, port, 3, mx.CHANNEL_WRITABLE, ONCE)  # now
    init.mx_object_wait_async(e0, port, 4, mx.EPAIR_PEER_CLOSED, ONCE)
    init.mx_object_wait_async(e0, port, 5, mx.EPAIR_SIGNALED, ONCE)
    (p3,) = drain(init, port)
    check_signal_packet(p3, 3, mx.CHANNEL_WRITABLE, mx.CHANNEL_WRITABLE)
    init.mx_channel_write(b, b"m")
    (p1,) = drain(init, port)
    check_signal_packet(p1, 1, mx.CHANNEL_READABLE,
                        mx.CHANNEL_READABLE | mx.CHANNEL_WRITABLE)
    init.mx_handle_close(b)
    (p2,) = drain(init, port)
    check_signal_packet(p2, 2, mx.CHANNEL_PEER_CLOSED,
                        mx.CHANNEL_READABLE | mx.CHANNEL_PEER_CLOSED)
    init.mx_object_signal_peer(e1, 0, mx.EPAIR_SIGNALED)
    init.mx_handle_close(e1)
    p5, p4 = drain(init, port)
    check_signal_packet(p5, 5, mx.EPAIR_SIGNALED, mx.EPAIR_SIGNALED)
    check_signal_packet(p4, 4, mx.EPAIR_PEER_CLOSED,
                        mx.EPAIR_SIGNALED | mx.EPAIR_PEER_CLOSED)
    init.mx_handle_close_many([port, a, e0])
    assert_baseline(kernel)


def test_many_waits_on_one_object(kernel, init):
    port = init.mx_port_create()
    port2 = init.mx_port_create()
    ev = init.mx_event_create()
    for key in range(50):
        init.mx_object_wait_async(ev, port, key, S, ONCE)
    init.mx_object_wait_async(ev, port2, 7, S, ONCE)
    # the same key twice is two waits
    init.mx_object_wait_async(ev, port2, 7, S, ONCE)
    init.mx_object_signal(ev, 0, S)
    assert sorted(p.key for p in drain(init, port)) == list(range(50))
    assert [p.key for p in drain(init, port2)] == [7, 7]
    init.mx_handle_close_many([port, port2, ev])
    assert_baseline(kernel)


def test_wait_async_key_range(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, S)
    for key in (0, 2**32, 2**64 - 1):
        init.mx_object_wait_async(ev, port, key, S, ONCE)
        assert init.mx_port_wait(port, 0).key == key
    for key in (2**64, -1, 2**100):
        expect_error(init.mx_object_wait_async, ev, port, key, S, ONCE,
                     code=mx.ERR_INVALID_ARGS)
        # before any handle check
        expect_error(init.mx_object_wait_async, 0, 0, key, S, ONCE,
                     code=mx.ERR_INVALID_ARGS)
    for sig in (2**32, -1):
        expect_error(init.mx_object_wait_async, ev, port, 1, sig, ONCE,
                     code=mx.ERR_INVALID_ARGS)
        expect_error(init.mx_object_wait_async, 0, 0, 1, sig, ONCE,
                     code=mx.ERR_INVALID_ARGS)
    for opts in (2**32, -1, 2**64):
        expect_error(init.mx_object_wait_async, ev, port, 1, S, opts,
                     code=mx.ERR_INVALID_ARGS)
        expect_error(init.mx_object_wait_async, 0, 0, 1, S, opts,
                     code=mx.ERR_INVALID_ARGS)
    for bad in ("1", None, 1.0):
        for args in ((bad, port, 1, S, ONCE), (ev, bad, 1, S, ONCE),
                     (ev, port, bad, S, ONCE), (ev, port, 1, bad, ONCE),
                     (ev, port, 1, S, bad)):
            with pytest.raises(TypeError):
                init.mx_object_wait_async(*args)
    assert is_empty(init, port)
    init.mx_handle_close_many([port, ev])
    assert_baseline(kernel)


def test_wait_async_error_order(kernel, init):
    """The port is examined before the watched handle (SPEC §3)."""
    port = init.mx_port_create()
    port_ro = init.mx_handle_duplicate(port, mx.RIGHT_READ)
    ev = init.mx_event_create()
    ev_wo = init.mx_handle_duplicate(ev, mx.RIGHT_WRITE)
    a, b = init.mx_channel_create()
    dead = init.mx_event_create()
    init.mx_handle_close(dead)
    BAD, WT, AD, IA = (mx.ERR_BAD_HANDLE, mx.ERR_WRONG_TYPE,
                       mx.ERR_ACCESS_DENIED, mx.ERR_INVALID_ARGS)
    cases = [
        # (h, port, options) -> status
        ((ev, 0, ONCE), BAD),
        ((ev, dead, ONCE), BAD),
        ((dead, 0, 7), BAD),              # port BAD_HANDLE first of all
        ((ev_wo, 0, 7), BAD),
        ((dead, ev, 7), WT),              # port WRONG_TYPE before h's
        ((ev_wo, a, 7), WT),
        ((ev, ev, ONCE), WT),
        ((dead, port_ro, 7), AD),         # port without WRITE before h's
        ((ev, port_ro, ONCE), AD),
        ((dead, port, 7), BAD),           # then h: BAD_HANDLE
        ((0, port, ONCE), BAD),
        ((ev_wo, port, 7), AD),           # h without READ before options
        ((ev_wo, port, ONCE), AD),
        ((ev, port, 2), IA),              # finally the options
        ((ev, port, 7), IA),
        ((ev, port, 2**32 - 1), IA),
    ]
    for (h, pt, opts), code in cases:
        expect_error(init.mx_object_wait_async, h, pt, 1, S, opts, code=code)
    # nothing was registered by any of them
    init.mx_object_signal(ev, 0, S)
    assert is_empty(init, port)
    # a port handle with WRITE only is enough; h with READ only is enough
    port_wo = init.mx_handle_duplicate(port, mx.RIGHT_WRITE)
    ev_ro = init.mx_handle_duplicate(ev, mx.RIGHT_READ)
    init.mx_object_wait_async(ev_ro, port_wo, 3, S, ONCE)
    assert [p.key for p in drain(init, port)] == [3]
    init.mx_handle_close_many([port, port_ro, port_wo, ev, ev_wo, ev_ro, a, b])
    assert_baseline(kernel)


# -- wait_async: repeating ------------------------------------------------------------------

def test_repeating_fires_on_each_assertion_after_dequeue(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 21, S, REP)
    assert is_empty(init, port)
    for _ in range(5):
        init.mx_object_signal(ev, 0, S)
        (pkt,) = drain(init, port)
        check_signal_packet(pkt, 21, S, S, rep=True)
        init.mx_object_signal(ev, S, 0)
        assert is_empty(init, port)
    init.mx_handle_close_many([port, ev])
    assert_baseline(kernel)


def test_repeating_fires_at_once_if_asserted(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_signal(ev, 0, S)
    init.mx_object_wait_async(ev, port, 1, S, REP)
    (pkt,) = drain(init, port)
    check_signal_packet(pkt, 1, S, S, rep=True)
    init.mx_handle_close_many([port, ev])


def test_repeating_not_refired_by_a_signal_still_asserted(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 4, S | mx.USER_SIGNAL_0, REP)
    init.mx_object_signal(ev, 0, S)
    # at most one packet queued at a time: more assertions meanwhile add none
    init.mx_object_signal(ev, S, 0)
    init.mx_object_signal(ev, 0, S)
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_0)
    pkt = init.mx_port_wait(port, 0)
    check_signal_packet(pkt, 4, S | mx.USER_SIGNAL_0, S, rep=True)
    # dequeued while S and USER_SIGNAL_0 are still asserted: no new packet
    assert is_empty(init, port)
    assert is_empty(init, port)
    # the next assertion of a requested signal fires again
    init.mx_object_signal(ev, mx.USER_SIGNAL_0, 0)
    assert is_empty(init, port)
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_0)
    (pkt,) = drain(init, port)
    check_signal_packet(pkt, 4, S | mx.USER_SIGNAL_0, S | mx.USER_SIGNAL_0,
                        rep=True)
    init.mx_handle_close_many([port, ev])
    assert_baseline(kernel)


def test_repeating_channel_readable(kernel, init):
    port = init.mx_port_create()
    a, b = init.mx_channel_create()
    init.mx_object_wait_async(a, port, 9, mx.CHANNEL_READABLE, REP)
    seen = 0
    for i in range(10):
        init.mx_channel_write(b, b"%d" % i)
        for pkt in drain(init, port):
            check_signal_packet(pkt, 9, mx.CHANNEL_READABLE,
                                mx.CHANNEL_READABLE | mx.CHANNEL_WRITABLE,
                                rep=True)
            seen += 1
        assert init.mx_channel_read(a)[0] == b"%d" % i
    assert seen == 10
    init.mx_handle_close_many([port, a, b])
    assert_baseline(kernel)


# -- the watched handle goes ------------------------------------------------------------------

def _take_away(init, how, h):
    if how == "close":
        init.mx_handle_close(h)
        return []
    if how == "close_many":
        init.mx_handle_close_many([h])
        return []
    if how == "replace":
        return [init.mx_handle_replace(h, mx.RIGHT_SAME_RIGHTS)]
    if how == "transfer":
        c, d = init.mx_channel_create()
        init.mx_channel_write(c, b"", [h])
        return [c, d]
    raise AssertionError(how)


def _signal_via_other(init, rest, keep):
    init.mx_object_signal(keep, S, 0)
    init.mx_object_signal(keep, 0, S)


@pytest.mark.parametrize("how", ["close", "close_many", "replace", "transfer"])
@pytest.mark.parametrize("opts", [ONCE, REP])
def test_handle_going_ends_the_wait(kernel, init, how, opts):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    keep = init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
    # a wait through another handle of the same object goes on
    init.mx_object_wait_async(keep, port, 2, S, REP)
    init.mx_object_wait_async(ev, port, 1, S, opts)
    rest = _take_away(init, how, ev)
    for _ in range(3):
        _signal_via_other(init, rest, keep)
        assert [p.key for p in drain(init, port)] == [2]
    if how == "replace":   # the new handle has no waits
        expect_error(init.mx_port_cancel, port, rest[0], 1,
                     code=mx.ERR_NOT_FOUND)
    init.mx_handle_close_many([port, keep] + rest)
    assert_baseline(kernel)


@pytest.mark.parametrize("how", ["close", "replace", "transfer"])
@pytest.mark.parametrize("opts", [ONCE, REP])
def test_handle_going_keeps_queued_packet(kernel, init, how, opts):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    keep = init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
    init.mx_object_wait_async(ev, port, 1, S, opts)
    init.mx_object_signal(ev, 0, S)
    rest = _take_away(init, how, ev)
    (pkt,) = drain(init, port)
    check_signal_packet(pkt, 1, S, S, rep=opts == REP)
    _signal_via_other(init, rest, keep)
    assert is_empty(init, port)
    init.mx_handle_close_many([port, keep] + rest)
    assert_baseline(kernel)


def test_transferred_handle_read_back_has_no_waits(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 1, S, REP)
    c, d = init.mx_channel_create()
    init.mx_channel_write(c, b"", [ev])
    _, (ev2,) = init.mx_channel_read(d)
    init.mx_object_signal(ev2, 0, S)
    assert is_empty(init, port)
    expect_error(init.mx_port_cancel, port, ev2, 1, code=mx.ERR_NOT_FOUND)
    # a new wait through the new handle works
    init.mx_object_wait_async(ev2, port, 2, S, ONCE)
    assert [p.key for p in drain(init, port)] == [2]
    init.mx_handle_close_many([port, ev2, c, d])
    assert_baseline(kernel)


def test_closing_watched_handle_destroys_object_normally(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    a, b = init.mx_channel_create()
    init.mx_object_wait_async(ev, port, 1, S, REP)
    init.mx_object_wait_async(a, port, 2, mx.CHANNEL_PEER_CLOSED, ONCE)
    init.mx_object_signal(ev, 0, S)
    init.mx_handle_close_many([ev, a])
    # b sees its peer closed; the event is gone
    assert kernel.stats().live_objects["event"] == 0
    assert [p.key for p in drain(init, port)] == [1]
    init.mx_handle_close_many([port, b])
    assert_baseline(kernel)


def test_async_wait_holds_no_reference_to_the_port(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    a, b = init.mx_channel_create()
    init.mx_object_wait_async(ev, port, 1, S, ONCE)
    init.mx_object_wait_async(ev, port, 2, S, REP)
    init.mx_object_wait_async(a, port, 3, mx.CHANNEL_READABLE, REP)
    init.mx_object_signal(ev, 0, mx.USER_SIGNAL_0)
    before = kernel.stats().destroyed_objects
    init.mx_handle_close(port)
    st = kernel.stats()
    assert st.live_objects["port"] == 0
    assert st.destroyed_objects == before + 1
    # the waits fire into nothing, harmlessly
    init.mx_object_signal(ev, 0, S)
    init.mx_channel_write(b, b"x")
    init.mx_object_signal(ev, S, 0)
    init.mx_object_signal(ev, 0, S)
    init.mx_handle_close_many([ev, a, b])
    assert_baseline(kernel)


def test_port_destroyed_with_a_queued_signal_packet(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 1, S, REP)
    init.mx_object_signal(ev, 0, S)
    init.mx_handle_close(port)
    assert port_count(kernel) == 0
    init.mx_object_signal(ev, S, 0)
    init.mx_object_signal(ev, 0, S)
    # a new port (maybe at the old memory) gets nothing from the old wait
    port2 = init.mx_port_create()
    init.mx_object_signal(ev, S, 0)
    init.mx_object_signal(ev, 0, S)
    assert is_empty(init, port2)
    init.mx_handle_close_many([ev, port2])
    assert_baseline(kernel)


# -- mx_port_cancel ----------------------------------------------------------------------------

def test_cancel_ends_the_wait(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 1, S, ONCE)
    init.mx_object_wait_async(ev, port, 2, S, REP)
    init.mx_object_wait_async(ev, port, 3, S, ONCE)
    init.mx_port_cancel(port, ev, 1)
    init.mx_port_cancel(port, ev, 2)
    expect_error(init.mx_port_cancel, port, ev, 1, code=mx.ERR_NOT_FOUND)
    expect_error(init.mx_port_cancel, port, ev, 2, code=mx.ERR_NOT_FOUND)
    expect_error(init.mx_port_cancel, port, ev, 99, code=mx.ERR_NOT_FOUND)
    init.mx_object_signal(ev, 0, S)
    assert [p.key for p in drain(init, port)] == [3]
    init.mx_handle_close_many([port, ev])
    assert_baseline(kernel)


@pytest.mark.parametrize("opts", [ONCE, REP])
def test_cancel_removes_queued_packet(kernel, init, opts):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_port_queue(port, mx.PortPacket(100))
    init.mx_object_wait_async(ev, port, 1, S, opts)
    init.mx_object_wait_async(ev, port, 2, S, opts)
    init.mx_object_signal(ev, 0, S)
    init.mx_port_queue(port, mx.PortPacket(101))
    init.mx_port_cancel(port, ev, 1)
    assert [p.key for p in drain(init, port)] == [100, 2, 101]
    expect_error(init.mx_port_cancel, port, ev, 1, code=mx.ERR_NOT_FOUND)
    init.mx_object_signal(ev, S, 0)
    init.mx_object_signal(ev, 0, S)
    expect = [2] if opts == REP else []
    assert [p.key for p in drain(init, port)] == expect
    init.mx_handle_close_many([port, ev])
    assert_baseline(kernel)


def test_cancel_after_dequeue_is_not_found(kernel, init):
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 1, S, ONCE)
    init.mx_object_signal(ev, 0, S)
    init.mx_port_wait(port, 0)
    expect_error(init.mx_port_cancel, port, ev, 1, code=mx.ERR_NOT_FOUND)
    # but a repeating one is still there after its packet was taken
    init.mx_object_wait_async(ev, port, 2, S, REP)
    init.mx_port_wait(port, 0)
    init.mx_port_cancel(port, ev, 2)
    expect_error(init.mx_port_cancel, port, ev, 2, code=mx.ERR_NOT_FOUND)
    init.mx_handle_close_many([port, ev])


def test_cancel_is_per_port_handle_and_key(kernel, init):
    port = init.mx_port_create()
    port2 = init.mx_port_create()
    ev = init.mx_event_create()
    dup = init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
    init.mx_object_wait_async(ev, port, 1, S, ONCE)
    init.mx_object_wait_async(ev, port2, 1, S, ONCE)
    init.mx_object_wait_async(dup, port, 1, S, ONCE)
    init.mx_object_wait_async(ev, port, 2, S, ONCE)
    init.mx_port_cancel(port, ev, 1)
    init.mx_object_signal(ev, 0, S)
    got = [(p.key, p.signal.trigger) for p in drain(init, port)]
    assert sorted(got) == [(1, S), (2, S)]      # dup's key 1 and ev's key 2
    assert [p.key for p in drain(init, port2)] == [1]
    init.mx_handle_close_many([port, port2, ev, dup])
    assert_baseline(kernel)


def test_cancel_after_handle_closed(kernel, init):
    """Closing the watched handle ends the wait; the value is then stale."""
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_object_wait_async(ev, port, 1, S, REP)
    init.mx_object_signal(ev, 0, S)
    init.mx_handle_close(ev)
    expect_error(init.mx_port_cancel, port, ev, 1, code=mx.ERR_BAD_HANDLE)
    assert [p.key for p in drain(init, port)] == [1]
    init.mx_handle_close(port)
    assert_baseline(kernel)


def test_cancel_error_order(kernel, init):
    port = init.mx_port_create()
    port_ro = init.mx_handle_duplicate(port, mx.RIGHT_READ)
    port_wo = init.mx_handle_duplicate(port, mx.RIGHT_WRITE)
    ev = init.mx_event_create()
    ev_wo = init.mx_handle_duplicate(ev, mx.RIGHT_WRITE)
    ev_ro = init.mx_handle_duplicate(ev, mx.RIGHT_READ)
    dead = init.mx_event_create()
    init.mx_handle_close(dead)
    BAD, WT, AD, NF = (mx.ERR_BAD_HANDLE, mx.ERR_WRONG_TYPE,
                       mx.ERR_ACCESS_DENIED, mx.ERR_NOT_FOUND)
    cases = [
        # (port, h) -> status
        ((0, ev), BAD),
        ((dead, ev_wo), BAD),
        ((ev, dead), WT),          # port's WRONG_TYPE before h's BAD_HANDLE
        ((ev, ev_wo), WT),
        ((port_ro, dead), AD),     # port's ACCESS_DENIED (WRITE) first
        ((port_ro, ev), AD),
        ((port, dead), BAD),
        ((port, 0), BAD),
        ((port, ev_wo), AD),       # h without READ
        ((port, ev), NF),
        ((port_wo, ev_ro), NF),
    ]
    for (pt, h), code in cases:
        expect_error(init.mx_port_cancel, pt, h, 1, code=code)
    for key in (2**64, -1):
        expect_error(init.mx_port_cancel, port, ev, key,
                     code=mx.ERR_INVALID_ARGS)
        expect_error(init.mx_port_cancel, 0, 0, key, code=mx.ERR_INVALID_ARGS)
    for bad in ("1", None, 1.0):
        with pytest.raises(TypeError):
            init.mx_port_cancel(bad, ev, 1)
        with pytest.raises(TypeError):
            init.mx_port_cancel(port, bad, 1)
        with pytest.raises(TypeError):
            init.mx_port_cancel(port, ev, bad)
    # READ on h and WRITE on the port are enough
    init.mx_object_wait_async(ev_ro, port_wo, 5, S, ONCE)
    init.mx_port_cancel(port_wo, ev_ro, 5)
    init.mx_handle_close_many([port, port_ro, port_wo, ev, ev_wo, ev_ro])
    assert_baseline(kernel)


# -- ports watching ports --------------------------------------------------------------------

def test_port_watches_another_port(kernel, init):
    p1 = init.mx_port_create()
    p2 = init.mx_port_create()
    init.mx_object_wait_async(p2, p1, 50, mx.PORT_READABLE, REP)
    assert is_empty(init, p1)
    init.mx_port_queue(p2, mx.PortPacket(1))
    (pkt,) = drain(init, p1)
    check_signal_packet(pkt, 50, mx.PORT_READABLE, mx.PORT_READABLE, rep=True)
    init.mx_port_queue(p2, mx.PortPacket(2))   # still readable: no new edge
    assert is_empty(init, p1)
    assert [p.key for p in drain(init, p2)] == [1, 2]
    init.mx_port_queue(p2, mx.PortPacket(3))
    assert [p.key for p in drain(init, p1)] == [50]
    init.mx_handle_close_many([p1, p2])
    assert_baseline(kernel)


def test_chain_of_ports(kernel, init):
    """p[i] watches p[i+1]: one packet at the end ripples to the front."""
    n = 200
    ports = [init.mx_port_create() for _ in range(n)]
    for i in range(n - 1):
        init.mx_object_wait_async(ports[i + 1], ports[i], i, mx.PORT_READABLE,
                                  ONCE)
    init.mx_port_queue(ports[-1], mx.PortPacket(999))
    for i in range(n - 1):
        assert sigs(init, ports[i]) == mx.PORT_READABLE
    assert [p.key for p in drain(init, ports[0])] == [0]
    init.mx_handle_close_many(ports)
    assert_baseline(kernel)


def test_ring_of_ports_does_not_deadlock(kernel, init):
    def body():
        n = 5
        ports = [init.mx_port_create() for _ in range(n)]
        for i in range(n):
            init.mx_object_wait_async(ports[(i + 1) % n], ports[i], i,
                                      mx.PORT_READABLE, REP)
        init.mx_port_queue(ports[0], mx.PortPacket(7))
        for i in range(n):
            assert sigs(init, ports[i]) == mx.PORT_READABLE
        got = drain(init, ports[0])
        assert sorted(p.key for p in got) == [0, 7]
        init.mx_handle_close_many(ports)

    th = Threads()
    th.start(body)
    th.join()
    assert_baseline(kernel)


@pytest.mark.parametrize("opts", [ONCE, REP])
def test_port_watching_itself(kernel, init, opts):
    def body():
        port = init.mx_port_create()
        init.mx_object_wait_async(port, port, 5, mx.PORT_READABLE, opts)
        assert sigs(init, port) == 0
        init.mx_port_queue(port, mx.PortPacket(1))
        got = drain(init, port)
        assert [p.key for p in got] == [1, 5]
        check_signal_packet(got[1], 5, mx.PORT_READABLE, mx.PORT_READABLE,
                            rep=opts == REP)
        init.mx_port_queue(port, mx.PortPacket(2))
        got = drain(init, port)
        assert [p.key for p in got] == ([2, 5] if opts == REP else [2])
        # already readable when the wait starts: fires at once
        init.mx_port_queue(port, mx.PortPacket(3))
        init.mx_object_wait_async(port, port, 6, mx.PORT_READABLE, ONCE)
        assert [p.key for p in drain(init, port)] == (
            [3, 5, 6] if opts == REP else [3, 6])
        if opts == REP:
            init.mx_port_cancel(port, port, 5)
        expect_error(init.mx_port_cancel, port, port, 5, code=mx.ERR_NOT_FOUND)
        init.mx_port_queue(port, mx.PortPacket(4))
        assert [p.key for p in drain(init, port)] == [4]
        init.mx_handle_close(port)

    th = Threads()
    th.start(body)
    th.join()
    assert_baseline(kernel)


def test_port_watching_itself_closed_with_queued_packet(kernel, init):
    def body():
        port = init.mx_port_create()
        init.mx_object_wait_async(port, port, 5, mx.PORT_READABLE, REP)
        init.mx_port_queue(port, mx.PortPacket(1))
        init.mx_handle_close(port)

    th = Threads()
    th.start(body)
    th.join()
    assert_baseline(kernel)


# -- threads ------------------------------------------------------------------------------------

def test_concurrent_signals_and_port_readers(kernel, init):
    """Writers signal events watched by repeating waits while readers drain
    the port and re-arm by clearing; nothing is lost or duplicated beyond
    one packet per wait at a time."""
    port = init.mx_port_create()
    n_ev = 8
    evs = [init.mx_event_create() for _ in range(n_ev)]
    for i, ev in enumerate(evs):
        init.mx_object_wait_async(ev, port, i, S, REP)
    stop = threading.Event()
    counts = [0] * n_ev
    lock = threading.Lock()

    def signaller(i):
        while not stop.is_set():
            init.mx_object_signal(evs[i], 0, S)
            time.sleep(0)

    def reader():
        while not stop.is_set():
            try:
                pkt = init.mx_port_wait(port, mx.deadline_after(20 * MS))
            except mx.MxError as e:
                assert e.status == mx.ERR_TIMED_OUT
                continue
            assert pkt.type == mx.PKT_TYPE_SIGNAL_REP
            with lock:
                counts[pkt.key] += 1
            init.mx_object_signal(evs[pkt.key], S, 0)

    th = Threads()
    for i in range(n_ev):
        th.start(signaller, i)
    for _ in range(3):
        th.start(reader)
    time.sleep(0.5)
    stop.set()
    th.join()
    assert all(c > 0 for c in counts), counts
    for ev in evs:
        init.mx_handle_close(ev)
    drain(init, port)
    init.mx_handle_close(port)
    assert_baseline(kernel)


def test_close_watched_handles_while_firing(kernel, init):
    port = init.mx_port_create()
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            ev = init.mx_event_create()
            init.mx_object_wait_async(ev, port, 1, S, REP)
            init.mx_object_signal(ev, 0, S)
            init.mx_handle_close(ev)

    def drainer():
        while not stop.is_set():
            try:
                init.mx_port_wait(port, mx.deadline_after(10 * MS))
            except mx.MxError as e:
                assert e.status == mx.ERR_TIMED_OUT

    th = Threads()
    for _ in range(3):
        th.start(churn)
    th.start(drainer)
    time.sleep(0.4)
    stop.set()
    th.join()
    drain(init, port)
    init.mx_handle_close(port)
    assert_baseline(kernel)


def test_close_port_while_firing(kernel, init):
    ev = init.mx_event_create()
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            port = init.mx_port_create()
            init.mx_object_wait_async(ev, port, 1, S, REP)
            init.mx_handle_close(port)

    def pulse():
        while not stop.is_set():
            init.mx_object_signal(ev, 0, S)
            init.mx_object_signal(ev, S, 0)

    th = Threads()
    for _ in range(2):
        th.start(churn)
    th.start(pulse)
    time.sleep(0.4)
    stop.set()
    th.join()
    init.mx_handle_close(ev)
    assert_baseline(kernel)


@pytest.mark.parametrize("make", [mx.Kernel, ModelKernel],
                         ids=["kernel", "model"])
def test_waits_on_a_port_see_the_word_of_the_change_not_its_readable_edge(make):
    """A port watching itself: one signal change fires two of its waits.
    Both packets carry the signals that change made; PORT_READABLE, which
    the first packet raises, is asserted only after the walk of the port's
    waiters (found by the long differential profile: the model had let the
    edge fire the second wait from inside the walk)."""
    k = make(seed=5)
    p = k.init
    port = p.mx_port_create()
    u0, u1 = mx.USER_SIGNAL_0, mx.USER_SIGNAL_1
    p.mx_object_wait_async(port, port, 0, mx.PORT_READABLE | u0,
                           mx.WAIT_ASYNC_REPEATING)
    p.mx_object_wait_async(port, port, 2, u1, mx.WAIT_ASYNC_ONCE)
    p.mx_object_signal(port, 0, u0 | u1)
    first, second = p.mx_port_wait(port, 0), p.mx_port_wait(port, 0)
    assert first.key == 2 and first.signal.observed == u0 | u1
    assert second.key == 0 and second.signal.observed == u0 | u1
    assert second.signal.trigger == mx.PORT_READABLE | u0
    assert sigs(p, port) == u0 | u1         # empty again: not readable
    p.mx_handle_close(port)
