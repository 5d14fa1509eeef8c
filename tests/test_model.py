"""Tests of the pure-Python model (mxhandles.model) against SPEC.md.

The model is the oracle of the differential tests, so these pin it to the
contract directly: results, error statuses and their order, lifetimes and
stats().
"""
from __future__ import annotations

import sys
import threading
import time
from types import SimpleNamespace
from typing import Any, Callable, List, Optional, Tuple

import pytest

from mxhandles.constants import (
    DEFAULT_PORT_RIGHTS,
    DEFAULT_PROCESS_RIGHTS,
    DEFAULT_THREAD_RIGHTS,
    INFO_PROCESS_HANDLES,
    INFO_PROCESS_THREADS,
    OBJ_TYPE_PORT,
    OBJ_TYPE_PROCESS,
    OBJ_TYPE_THREAD,
    PKT_TYPE_SIGNAL_ONE,
    PKT_TYPE_SIGNAL_REP,
    PKT_TYPE_USER,
    PORT_MAX_PACKETS,
    PORT_READABLE,
    TASK_TERMINATED,
    USER_SIGNAL_1,
    USER_SIGNAL_2,
    USER_SIGNAL_3,
    USER_SIGNAL_5,
    WAIT_ASYNC_ONCE,
    WAIT_ASYNC_REPEATING,
    CHANNEL_MAX_MSG_BYTES,
    CHANNEL_MAX_MSG_HANDLES,
    CHANNEL_PEER_CLOSED,
    CHANNEL_READ_MAY_DISCARD,
    CHANNEL_READABLE,
    CHANNEL_WRITABLE,
    DEFAULT_CHANNEL_RIGHTS,
    DEFAULT_EVENT_RIGHTS,
    DEFAULT_EVENTPAIR_RIGHTS,
    DEFAULT_JOB_RIGHTS,
    EPAIR_PEER_CLOSED,
    EPAIR_SIGNALED,
    EVENT_SIGNALED,
    HANDLE_INVALID,
    INFO_HANDLE_BASIC,
    INFO_HANDLE_VALID,
    INFO_JOB_CHILDREN,
    INFO_JOB_PROCESSES,
    INFO_PROCESS,
    OBJ_PROP_WAITABLE,
    OBJ_TYPE_CHANNEL,
    OBJ_TYPE_EVENT,
    OBJ_TYPE_EVENT_PAIR,
    OBJ_TYPE_JOB,
    RIGHT_DUPLICATE,
    RIGHT_ENUMERATE,
    RIGHT_READ,
    RIGHT_SAME_RIGHTS,
    RIGHT_TRANSFER,
    RIGHT_WRITE,
    TIME_INFINITE,
    USER_SIGNAL_0,
    USER_SIGNAL_7,
    USER_SIGNAL_ALL,
)
from mxhandles.errors import (
    ERR_ACCESS_DENIED,
    ERR_BAD_HANDLE,
    ERR_BAD_STATE,
    ERR_BUFFER_TOO_SMALL,
    ERR_CALL_FAILED,
    ERR_CANCELED,
    ERR_INVALID_ARGS,
    ERR_NO_RESOURCES,
    ERR_NOT_FOUND,
    ERR_NOT_SUPPORTED,
    ERR_OUT_OF_RANGE,
    ERR_PEER_CLOSED,
    ERR_SHOULD_WAIT,
    ERR_TIMED_OUT,
    ERR_WRONG_TYPE,
    MxError,
)
from mxhandles.model import FIRST_KOID, ModelKernel, ModelProcess
from mxhandles.records import (HandleBasic, HandleEntry, Packet, PortPacket,
                               ProcessInfo, SignalInfo, Stats)

U32 = 2**32 - 1
BASE_OBJECTS = {"event": 0, "eventpair": 0, "channel": 0, "port": 0,
                "job": 1, "process": 1, "thread": 1}


def status(fn: Callable[..., Any], *args: Any) -> int:
    """The status ``fn(*args)`` raised (fails the test if it succeeded)."""
    with pytest.raises(MxError) as info:
        fn(*args)
    return info.value.status


def objects(**changes: int) -> dict:
    d = dict(BASE_OBJECTS)
    d.update(changes)
    return d


@pytest.fixture
def k() -> ModelKernel:
    return ModelKernel(seed=1234)


@pytest.fixture
def p(k: ModelKernel) -> ModelProcess:
    return k.init


# -- the kernel at birth -----------------------------------------------------

def test_initial_state(k: ModelKernel, p: ModelProcess) -> None:
    s = k.stats()
    assert isinstance(s, Stats)
    assert s == Stats(1, 0, BASE_OBJECTS, 0)
    assert list(s.live_objects) == ["event", "eventpair", "channel", "port",
                                    "job", "process", "thread"]
    assert k.live_koids() == [FIRST_KOID, FIRST_KOID + 1, FIRST_KOID + 2]
    assert p.koid == FIRST_KOID + 1 and p.kernel is k
    assert isinstance(p.name, str)
    assert p.start_info is None
    job = p.mx_job_default()
    assert job == p.mx_job_default() != HANDLE_INVALID
    info = p.mx_object_get_info(job, INFO_HANDLE_BASIC)
    assert info == HandleBasic(FIRST_KOID, int(DEFAULT_JOB_RIGHTS),
                               OBJ_TYPE_JOB, 0, OBJ_PROP_WAITABLE)
    assert k.process(p.koid) is p


def test_stats_is_a_snapshot(k: ModelKernel, p: ModelProcess) -> None:
    s = k.stats()
    s.live_objects["event"] = 99
    assert k.stats().live_objects["event"] == 0


def test_job_default_same_value_after_close(p: ModelProcess) -> None:
    job = p.mx_job_default()
    p.mx_handle_close(job)
    assert p.mx_job_default() == job
    assert status(p.mx_object_get_info, job,
                  INFO_HANDLE_VALID) == ERR_BAD_HANDLE
    # The root job is the kernel's: it survives its last handle.
    assert p.kernel.stats() == Stats(0, 0, BASE_OBJECTS, 0)


def test_process_lookup(k: ModelKernel) -> None:
    assert status(k.process, FIRST_KOID) == ERR_NOT_FOUND       # a job
    assert status(k.process, 5) == ERR_NOT_FOUND
    with pytest.raises(TypeError):
        k.process("1025")


def test_koids_sequential_never_reused(k: ModelKernel,
                                       p: ModelProcess) -> None:
    koids = []
    for _ in range(3):
        h = p.mx_event_create()
        koids.append(p.mx_object_get_info(h, INFO_HANDLE_BASIC).koid)
        p.mx_handle_close(h)
    a, b = p.mx_eventpair_create()
    ka = p.mx_object_get_info(a, INFO_HANDLE_BASIC).koid
    kb = p.mx_object_get_info(b, INFO_HANDLE_BASIC).koid
    assert koids + [ka, kb] == list(range(FIRST_KOID + 3, FIRST_KOID + 8))


def test_seed_determinism() -> None:
    def run(seed: int) -> list:
        k = ModelKernel(seed=seed)
        p = k.init
        out = [p.mx_job_default()]
        h = p.mx_event_create()
        out += [h, p.mx_handle_duplicate(h, RIGHT_SAME_RIGHTS)]
        out += list(p.mx_eventpair_create())
        return out
    assert run(7) == run(7)
    assert run(7) != run(8)
    # Without a seed: still valid, just not reproducible.
    assert ModelKernel().init.mx_job_default() > 0


def test_max_handles_validation() -> None:
    with pytest.raises(ValueError):
        ModelKernel(max_handles=0)
    with pytest.raises(TypeError):
        ModelKernel(max_handles="10")
    assert ModelKernel().max_handles >= 2**24


# -- handle values ------------------------------------------------------------

def test_values_in_range_and_never_reused(p: ModelProcess) -> None:
    seen = {p.mx_job_default()}
    e = p.mx_event_create()
    seen.add(e)
    for _ in range(5000):
        d = p.mx_handle_duplicate(e, RIGHT_SAME_RIGHTS)
        assert 0 < d <= 2**31 - 1
        assert d not in seen
        seen.add(d)
        p.mx_handle_close(d)


def test_value_sequence_skips_zero() -> None:
    # The sequence walks c, c + m, c + 2m, ... modulo 2**31 - 1 and skips 0.
    p = ModelKernel(seed=1).init
    p._step, p._last = 1, 2**31 - 3
    assert [p._new_value() for _ in range(3)] == [2**31 - 2, 1, 2]
    p._step, p._last = 2**31 - 2, 2               # step -1: 1, (0), -1, ...
    assert [p._new_value() for _ in range(3)] == [1, 2**31 - 2, 2**31 - 3]


def test_stale_and_foreign_values(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    p.mx_handle_close(e)
    assert 1 not in p.handle_values()
    for bad in (e, 0, -1, -e, 2**31, 2**31 + 5, 2**64, 2**100, True, False):
        assert status(p.mx_handle_close, bad) == ERR_BAD_HANDLE
        assert status(p.mx_handle_duplicate, bad, 0) == ERR_BAD_HANDLE
        assert status(p.mx_handle_replace, bad, 0) == ERR_BAD_HANDLE
        assert status(p.mx_object_signal, bad, 0, 0) == ERR_BAD_HANDLE
        assert status(p.mx_object_signal_peer, bad, 0, 0) == ERR_BAD_HANDLE
        assert status(p.mx_object_get_info, bad,
                      INFO_HANDLE_VALID) == ERR_BAD_HANDLE
        assert status(p.mx_handle_close_many, [bad]) == ERR_BAD_HANDLE
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 1)


def test_other_process_values_are_bad(k: ModelKernel, p: ModelProcess) -> None:
    # A second process, built the way the task syscalls will build them.
    q = ModelProcess(k, "other", k.root_job, refs=1)
    k._publish(q)
    e = p.mx_event_create()
    f = q.mx_event_create()
    assert e not in q.handle_values() and f not in p.handle_values()
    assert status(q.mx_handle_close, e) == ERR_BAD_HANDLE
    assert status(q.mx_handle_duplicate, e, 0) == ERR_BAD_HANDLE
    assert q.mx_job_default() == HANDLE_INVALID
    # unrelated value sequences
    pv = [p.mx_handle_duplicate(e, 0) for _ in range(20)]
    qv = [q.mx_handle_duplicate(f, 0) for _ in range(20)]
    assert not set(pv) & set(qv)


# -- argument types -----------------------------------------------------------

class Idx:
    def __init__(self, v: int) -> None:
        self.v = v

    def __index__(self) -> int:
        return self.v


class BadIdx:
    def __index__(self) -> int:
        raise ValueError("nope")


@pytest.mark.parametrize("bad", ["1", 1.0, None, b"\x01", [1], BadIdx()])
def test_type_errors(p: ModelProcess, bad: Any) -> None:
    e = p.mx_event_create()
    before = p.kernel.stats()
    for call in (lambda: p.mx_handle_close(bad),
                 lambda: p.mx_handle_duplicate(bad, 0),
                 lambda: p.mx_handle_duplicate(e, bad),
                 lambda: p.mx_handle_replace(e, bad),
                 lambda: p.mx_event_create(bad),
                 lambda: p.mx_eventpair_create(bad),
                 lambda: p.mx_object_signal(e, bad, 0),
                 lambda: p.mx_object_signal_peer(bad, 0, 0),
                 lambda: p.mx_object_get_info(e, bad),
                 lambda: p.mx_handle_close_many([e, bad])):
        with pytest.raises(TypeError):
            call()
    assert p.kernel.stats() == before
    p.mx_object_get_info(e, INFO_HANDLE_VALID)     # e untouched


def test_int_like_arguments(p: ModelProcess) -> None:
    e = p.mx_event_create()
    d = p.mx_handle_duplicate(Idx(e), Idx(int(RIGHT_READ)))
    assert p.mx_object_get_info(d, Idx(2)).rights == RIGHT_READ
    t = p.mx_handle_duplicate(e, True)              # bool is an int: DUPLICATE
    assert p.mx_object_get_info(t, INFO_HANDLE_BASIC).rights == 1
    p.mx_event_create(False)
    p.mx_handle_close_many([Idx(d), t])


def test_close_many_rejects_str_and_bytes(p: ModelProcess) -> None:
    for hs in ("ab", b"\x01", bytearray(b"\x01")):
        with pytest.raises(TypeError):
            p.mx_handle_close_many(hs)
    with pytest.raises(TypeError):
        p.mx_handle_close_many(5)


# -- close, close_many --------------------------------------------------------

def test_close_zero_is_bad_handle(p: ModelProcess) -> None:
    assert status(p.mx_handle_close, HANDLE_INVALID) == ERR_BAD_HANDLE


def test_close_destroys_last(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    d = p.mx_handle_duplicate(e, RIGHT_SAME_RIGHTS)
    assert k.stats() == Stats(3, 0, objects(event=1), 0)
    p.mx_handle_close(e)
    assert k.stats() == Stats(2, 0, objects(event=1), 0)
    p.mx_handle_close(d)
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 1)
    assert status(p.mx_handle_close, d) == ERR_BAD_HANDLE


def test_close_many_rules(k: ModelKernel, p: ModelProcess) -> None:
    a, b, c = (p.mx_event_create() for _ in range(3))
    p.mx_handle_close_many([])
    p.mx_handle_close_many(())
    p.mx_handle_close_many([a, b])
    assert k.stats() == Stats(2, 0, objects(event=1), 2)
    # a value given twice is closed once and counts as invalid the second time
    d = p.mx_handle_duplicate(c, RIGHT_SAME_RIGHTS)
    assert status(p.mx_handle_close_many, [c, c]) == ERR_BAD_HANDLE
    assert status(p.mx_object_get_info, c, INFO_HANDLE_VALID) == ERR_BAD_HANDLE
    p.mx_object_get_info(d, INFO_HANDLE_VALID)
    # 0 counts as invalid; the valid ones are still closed
    e = p.mx_event_create()
    assert status(p.mx_handle_close_many,
                  [0, d, e, 12345678]) == ERR_BAD_HANDLE
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 4)


def test_close_many_type_error_closes_nothing(k: ModelKernel,
                                              p: ModelProcess) -> None:
    a = p.mx_event_create()
    with pytest.raises(TypeError):
        p.mx_handle_close_many([a, "x"])
    with pytest.raises(TypeError):
        p.mx_handle_close_many(iter([a, None]))
    p.mx_object_get_info(a, INFO_HANDLE_VALID)
    assert k.stats().live_handles == 2


def test_close_many_accepts_iterables(p: ModelProcess) -> None:
    a, b = p.mx_event_create(), p.mx_event_create()
    p.mx_handle_close_many(h for h in (a, b))
    assert p.kernel.stats().live_objects["event"] == 0


# -- duplicate, replace -------------------------------------------------------

def test_duplicate_rights(p: ModelProcess) -> None:
    e = p.mx_event_create()
    same = p.mx_handle_duplicate(e, RIGHT_SAME_RIGHTS)
    assert p.mx_object_get_info(same, INFO_HANDLE_BASIC).rights == \
        DEFAULT_EVENT_RIGHTS
    none = p.mx_handle_duplicate(e, 0)             # rights == 0 is a subset
    assert p.mx_object_get_info(none, INFO_HANDLE_BASIC).rights == 0
    sub = p.mx_handle_duplicate(e, RIGHT_READ | RIGHT_DUPLICATE)
    assert p.mx_object_get_info(sub, INFO_HANDLE_BASIC).rights == \
        RIGHT_READ | RIGHT_DUPLICATE
    # not a subset
    assert status(p.mx_handle_duplicate, e,
                  RIGHT_ENUMERATE) == ERR_INVALID_ARGS
    assert status(p.mx_handle_duplicate, e,
                  RIGHT_SAME_RIGHTS | RIGHT_READ) == ERR_INVALID_ARGS
    # no DUPLICATE right
    assert status(p.mx_handle_duplicate, none, 0) == ERR_ACCESS_DENIED
    assert status(p.mx_handle_duplicate, none,
                  RIGHT_SAME_RIGHTS) == ERR_ACCESS_DENIED
    # same object
    koids = {p.mx_object_get_info(h, INFO_HANDLE_BASIC).koid
             for h in (e, same, none, sub)}
    assert len(koids) == 1


def test_duplicate_error_order(p: ModelProcess) -> None:
    e = p.mx_event_create()
    none = p.mx_handle_duplicate(e, 0)
    # range before BAD_HANDLE
    assert status(p.mx_handle_duplicate, 0, 2**32) == ERR_INVALID_ARGS
    assert status(p.mx_handle_duplicate, 0, -1) == ERR_INVALID_ARGS
    # BAD_HANDLE before rights checks
    assert status(p.mx_handle_duplicate, 0, RIGHT_ENUMERATE) == ERR_BAD_HANDLE
    # ACCESS_DENIED before INVALID_ARGS (subset)
    assert status(p.mx_handle_duplicate, none, RIGHT_ENUMERATE) == \
        ERR_ACCESS_DENIED
    assert status(p.mx_handle_duplicate, e, U32) == ERR_INVALID_ARGS


def test_replace(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    none = p.mx_handle_duplicate(e, 0)
    before = k.stats()
    # no DUPLICATE right needed; rights 0 -> 0 is fine
    r = p.mx_handle_replace(none, 0)
    assert r != none
    assert status(p.mx_handle_close, none) == ERR_BAD_HANDLE
    assert k.stats() == before
    # failure leaves h untouched
    assert status(p.mx_handle_replace, r, RIGHT_READ) == ERR_INVALID_ARGS
    p.mx_object_get_info(r, INFO_HANDLE_VALID)
    assert status(p.mx_handle_replace, r, 2**32) == ERR_INVALID_ARGS
    assert status(p.mx_handle_replace, 0, 2**32) == ERR_INVALID_ARGS
    assert status(p.mx_handle_replace, 0, 0) == ERR_BAD_HANDLE
    # SAME_RIGHTS keeps the rights, a subset reduces them
    r2 = p.mx_handle_replace(e, RIGHT_SAME_RIGHTS)
    assert p.mx_object_get_info(r2, INFO_HANDLE_BASIC).rights == \
        DEFAULT_EVENT_RIGHTS
    r3 = p.mx_handle_replace(r2, RIGHT_WRITE)
    assert p.mx_object_get_info(r3, INFO_HANDLE_BASIC).rights == RIGHT_WRITE
    assert k.stats() == before


def test_max_handles() -> None:
    k = ModelKernel(seed=1, max_handles=4)
    p = k.init                                   # 1 live handle (root job)
    e = p.mx_event_create()
    a, b = p.mx_eventpair_create()               # 4 live
    before = k.stats()
    assert status(p.mx_event_create) == ERR_NO_RESOURCES
    assert status(p.mx_eventpair_create) == ERR_NO_RESOURCES
    assert status(p.mx_handle_duplicate, e, 0) == ERR_NO_RESOURCES
    assert k.stats() == before
    # replace never fails so
    e = p.mx_handle_replace(e, RIGHT_SAME_RIGHTS)
    # other errors come first
    assert status(p.mx_handle_duplicate, 0, 0) == ERR_BAD_HANDLE
    assert status(p.mx_event_create, 1) == ERR_INVALID_ARGS
    assert status(p.mx_eventpair_create, 1) == ERR_NOT_SUPPORTED
    # no koid was consumed by the failures
    p.mx_handle_close(e)
    e2 = p.mx_event_create()
    assert p.mx_object_get_info(e2, INFO_HANDLE_BASIC).koid == FIRST_KOID + 6
    # a pair needs room for two
    p.mx_handle_close(a)
    assert status(p.mx_eventpair_create) == ERR_NO_RESOURCES
    p.mx_handle_close(e2)
    p.mx_eventpair_create()
    assert k.stats().live_handles == 4


# -- events and event pairs ---------------------------------------------------

def test_event_create_options(p: ModelProcess) -> None:
    assert status(p.mx_event_create, 1) == ERR_INVALID_ARGS
    assert status(p.mx_event_create, -1) == ERR_INVALID_ARGS
    assert status(p.mx_event_create, 2**32) == ERR_INVALID_ARGS
    h = p.mx_event_create(0)
    info = p.mx_object_get_info(h, INFO_HANDLE_BASIC)
    assert info.type == OBJ_TYPE_EVENT and info.related_koid == 0
    assert info.props == OBJ_PROP_WAITABLE
    assert info.rights == DEFAULT_EVENT_RIGHTS


def test_eventpair_create_options(p: ModelProcess) -> None:
    assert status(p.mx_eventpair_create, 1) == ERR_NOT_SUPPORTED
    assert status(p.mx_eventpair_create, U32) == ERR_NOT_SUPPORTED
    assert status(p.mx_eventpair_create, 2**32) == ERR_INVALID_ARGS
    assert status(p.mx_eventpair_create, -1) == ERR_INVALID_ARGS
    assert p.kernel.stats().live_objects["eventpair"] == 0


def test_eventpair_basic_and_peer_closed(k: ModelKernel,
                                         p: ModelProcess) -> None:
    a, b = p.mx_eventpair_create()
    ia = p.mx_object_get_info(a, INFO_HANDLE_BASIC)
    ib = p.mx_object_get_info(b, INFO_HANDLE_BASIC)
    assert ia.type == ib.type == OBJ_TYPE_EVENT_PAIR
    assert ia.related_koid == ib.koid == ia.koid + 1
    assert ib.related_koid == ia.koid
    assert ia.rights == ib.rights == DEFAULT_EVENTPAIR_RIGHTS
    assert k.stats() == Stats(3, 0, objects(eventpair=2), 0)

    # signal_peer reaches the other end
    p.mx_object_signal_peer(a, 0, EPAIR_SIGNALED | USER_SIGNAL_0)
    assert k.signals_of(ib.koid) == EPAIR_SIGNALED | USER_SIGNAL_0
    assert k.signals_of(ia.koid) == 0
    p.mx_object_signal_peer(b, 0, USER_SIGNAL_7)
    p.mx_object_signal_peer(a, EPAIR_SIGNALED, 0)
    assert k.signals_of(ib.koid) == USER_SIGNAL_0

    # a duplicate keeps a's end attached
    a2 = p.mx_handle_duplicate(a, RIGHT_SAME_RIGHTS)
    p.mx_handle_close(a)
    assert k.signals_of(ib.koid) & EPAIR_PEER_CLOSED == 0
    # the last handle of a: a is destroyed, b gets PEER_CLOSED
    p.mx_handle_close(a2)
    assert k.stats() == Stats(2, 0, objects(eventpair=1), 1)
    assert k.signals_of(ib.koid) == USER_SIGNAL_0 | EPAIR_PEER_CLOSED
    assert status(p.mx_object_signal_peer, b, 0, 0) == ERR_PEER_CLOSED
    # related_koid stays
    assert p.mx_object_get_info(b, INFO_HANDLE_BASIC).related_koid == ia.koid
    # the survivor's own signals still work
    p.mx_object_signal(b, USER_SIGNAL_0, EPAIR_SIGNALED)
    assert k.signals_of(ib.koid) == EPAIR_SIGNALED | EPAIR_PEER_CLOSED
    p.mx_handle_close(b)
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 2)


def test_eventpair_close_both_at_once(k: ModelKernel, p: ModelProcess) -> None:
    a, b = p.mx_eventpair_create()
    p.mx_handle_close_many([b, a])
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 2)


def test_eventpair_peer_refs(k: ModelKernel, p: ModelProcess) -> None:
    a, b = p.mx_eventpair_create()
    ka = p.mx_object_get_info(a, INFO_HANDLE_BASIC).koid
    oa, ob = k.object_of(ka), k.object_of(ka + 1)
    assert (oa.refs, ob.refs) == (2, 2)       # own handle + the peer's
    p.mx_handle_close(b)
    assert oa.refs == 1 and ob.destroyed and ob.refs == 0
    assert oa.peer is None and ob.peer is None


# -- signals ------------------------------------------------------------------

def test_signal_user_bits(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    koid = p.mx_object_get_info(e, INFO_HANDLE_BASIC).koid
    p.mx_object_signal(e, 0, EVENT_SIGNALED | USER_SIGNAL_ALL)
    assert k.signals_of(koid) == EVENT_SIGNALED | USER_SIGNAL_ALL
    p.mx_object_signal(e, USER_SIGNAL_ALL, USER_SIGNAL_0)   # clear, then set
    assert k.signals_of(koid) == EVENT_SIGNALED | USER_SIGNAL_0
    p.mx_object_signal(e, USER_SIGNAL_0, USER_SIGNAL_0)
    assert k.signals_of(koid) == EVENT_SIGNALED | USER_SIGNAL_0
    # bits outside the set, in either mask
    for bad in (1, 2, 4, 1 << 4, 1 << 23):
        assert status(p.mx_object_signal, e, bad, 0) == ERR_INVALID_ARGS
        assert status(p.mx_object_signal, e, 0, bad) == ERR_INVALID_ARGS
    assert k.signals_of(koid) == EVENT_SIGNALED | USER_SIGNAL_0
    # EPAIR_PEER_CLOSED is not user-settable on pairs
    a, _ = p.mx_eventpair_create()
    assert status(p.mx_object_signal, a, 0, EPAIR_PEER_CLOSED) == \
        ERR_INVALID_ARGS
    # user bits on the root job (init's handle has WRITE); no EVENT_SIGNALED
    job = p.mx_job_default()
    p.mx_object_signal(job, 0, USER_SIGNAL_7)
    assert k.signals_of(FIRST_KOID) == USER_SIGNAL_7
    assert status(p.mx_object_signal, job, 0, EVENT_SIGNALED) == \
        ERR_INVALID_ARGS


def test_signal_error_order(p: ModelProcess) -> None:
    e = p.mx_event_create()
    ro = p.mx_handle_duplicate(e, RIGHT_READ)
    # masks out of range: INVALID_ARGS before BAD_HANDLE
    assert status(p.mx_object_signal, 0, 2**32, 0) == ERR_INVALID_ARGS
    assert status(p.mx_object_signal, 0, 0, -1) == ERR_INVALID_ARGS
    assert status(p.mx_object_signal_peer, 0, 0, 2**40) == ERR_INVALID_ARGS
    # BAD_HANDLE before bit checks
    assert status(p.mx_object_signal, 0, 1, 1) == ERR_BAD_HANDLE
    # ACCESS_DENIED before INVALID_ARGS (bits)
    assert status(p.mx_object_signal, ro, 0, 1) == ERR_ACCESS_DENIED
    assert status(p.mx_object_signal, ro, 0,
                  USER_SIGNAL_0) == ERR_ACCESS_DENIED
    # signal_peer: INVALID_ARGS before NOT_SUPPORTED
    assert status(p.mx_object_signal_peer, e, 0, 1) == ERR_INVALID_ARGS
    assert status(p.mx_object_signal_peer, e, 0, USER_SIGNAL_0) == \
        ERR_NOT_SUPPORTED
    assert status(p.mx_object_signal_peer, ro, 0, 0) == ERR_ACCESS_DENIED
    # with the peer gone: INVALID_ARGS before PEER_CLOSED
    a, b = p.mx_eventpair_create()
    a_ro = p.mx_handle_duplicate(a, RIGHT_READ)
    p.mx_handle_close(b)
    assert status(p.mx_object_signal_peer, a, 0, 1) == ERR_INVALID_ARGS
    assert status(p.mx_object_signal_peer, a_ro, 0, 0) == ERR_ACCESS_DENIED
    assert status(p.mx_object_signal_peer, a, 0, 0) == ERR_PEER_CLOSED


# -- get_info -----------------------------------------------------------------

def test_get_info_topic_first(p: ModelProcess) -> None:
    e = p.mx_event_create()
    for topic in (0, 5, 7, 99, -1, 2**40):
        assert status(p.mx_object_get_info, 0, topic) == ERR_NOT_SUPPORTED
        assert status(p.mx_object_get_info, e, topic) == ERR_NOT_SUPPORTED
    assert p.mx_object_get_info(e, INFO_HANDLE_VALID) is None
    assert status(p.mx_object_get_info, 0, INFO_HANDLE_VALID) == ERR_BAD_HANDLE
    assert status(p.mx_object_get_info, 0, INFO_HANDLE_BASIC) == ERR_BAD_HANDLE


def test_get_info_needs_nothing_for_basic(p: ModelProcess) -> None:
    e = p.mx_event_create()
    none = p.mx_handle_duplicate(e, 0)
    assert p.mx_object_get_info(none, INFO_HANDLE_VALID) is None
    assert p.mx_object_get_info(none, INFO_HANDLE_BASIC).rights == 0


def test_get_info_task_topics(p: ModelProcess) -> None:
    e = p.mx_event_create()
    job = p.mx_job_default()
    assert status(p.mx_object_get_info, e, INFO_PROCESS) == ERR_WRONG_TYPE
    assert status(p.mx_object_get_info, job, INFO_PROCESS) == ERR_WRONG_TYPE
    assert p.mx_object_get_info(job, INFO_JOB_PROCESSES) == [p.koid]
    assert p.mx_object_get_info(job, INFO_JOB_CHILDREN) == []
    weak = p.mx_handle_duplicate(job, RIGHT_READ)
    assert status(p.mx_object_get_info, weak, INFO_JOB_CHILDREN) == \
        ERR_ACCESS_DENIED
    assert status(p.mx_object_get_info, weak, INFO_PROCESS) == ERR_WRONG_TYPE
    assert RIGHT_ENUMERATE & DEFAULT_JOB_RIGHTS


# -- threads ------------------------------------------------------------------

def test_threads_keep_counts_exact(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()

    def worker() -> None:
        for _ in range(2000):
            d = p.mx_handle_duplicate(e, RIGHT_SAME_RIGHTS)
            p.mx_handle_close(d)
            x = p.mx_event_create()
            p.mx_handle_close(x)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert k.stats() == Stats(2, 0, objects(event=1), 8000)
    assert len(p.handle_values()) == 2


def test_transfer_right_is_just_a_bit(p: ModelProcess) -> None:
    e = p.mx_event_create()
    t = p.mx_handle_duplicate(e, RIGHT_TRANSFER)
    assert p.mx_object_get_info(t, INFO_HANDLE_BASIC).rights == RIGHT_TRANSFER


def test_error_names_the_syscall(p: ModelProcess) -> None:
    with pytest.raises(MxError) as info:
        p.mx_handle_close(0)
    assert info.value.syscall == "mx_handle_close"
    assert info.value.name == "ERR_BAD_HANDLE"
    assert "mx_handle_close" in str(info.value)


# -- channels -------------------------------------------------------------------

CH_RIGHTS = int(RIGHT_TRANSFER | RIGHT_READ | RIGHT_WRITE)


def koid(p: ModelProcess, h: int) -> int:
    return p.mx_object_get_info(h, INFO_HANDLE_BASIC).koid


def err(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> MxError:
    with pytest.raises(MxError) as info:
        fn(*args, **kwargs)
    return info.value


def txid(n: int) -> bytes:
    return n.to_bytes(4, "little")


def test_channel_create(k: ModelKernel, p: ModelProcess) -> None:
    a, b = p.mx_channel_create()
    ia = p.mx_object_get_info(a, INFO_HANDLE_BASIC)
    ib = p.mx_object_get_info(b, INFO_HANDLE_BASIC)
    assert ia.type == ib.type == OBJ_TYPE_CHANNEL
    assert ia.rights == ib.rights == CH_RIGHTS == DEFAULT_CHANNEL_RIGHTS
    assert ia.koid == FIRST_KOID + 3 and ib.koid == ia.koid + 1
    assert (ia.related_koid, ib.related_koid) == (ib.koid, ia.koid)
    assert k.signals_of(ia.koid) == k.signals_of(ib.koid) == CHANNEL_WRITABLE
    assert k.stats() == Stats(3, 0, objects(channel=2), 0)
    # channels cannot be duplicated
    assert status(p.mx_handle_duplicate, a, RIGHT_SAME_RIGHTS) == \
        ERR_ACCESS_DENIED


@pytest.mark.parametrize("options", [1, -1, 2**32, U32])
def test_channel_create_options(k: ModelKernel, p: ModelProcess,
                                options: int) -> None:
    assert status(p.mx_channel_create, options) == ERR_INVALID_ARGS
    with pytest.raises(TypeError):
        p.mx_channel_create("0")
    a, _ = p.mx_channel_create()
    assert koid(p, a) == FIRST_KOID + 3          # the failures used no koid


def test_channel_create_max_handles() -> None:
    k = ModelKernel(seed=1, max_handles=4)
    p = k.init
    a, b = p.mx_channel_create()
    e = p.mx_event_create()
    assert status(p.mx_channel_create) == ERR_NO_RESOURCES
    assert status(p.mx_channel_create, 1) == ERR_INVALID_ARGS
    # a write and a read move handles: never NO_RESOURCES
    p.mx_channel_write(a, b"", [e])
    _, [e2] = p.mx_channel_read(b)
    assert koid(p, e2) == FIRST_KOID + 5
    p.mx_handle_close_many([e2, a])
    c, _ = p.mx_channel_create()                 # no koid was used
    assert koid(p, c) == FIRST_KOID + 6


def test_write_read_roundtrip(k: ModelKernel, p: ModelProcess) -> None:
    a, b = p.mx_channel_create()
    e = p.mx_event_create()
    f = p.mx_handle_duplicate(e, RIGHT_TRANSFER | RIGHT_READ)
    ke = koid(p, e)
    p.mx_channel_write(a, b"hello", [f, e])
    assert status(p.mx_handle_close, e) == ERR_BAD_HANDLE  # left the caller
    assert k.stats() == Stats(5, 2, objects(channel=2, event=1), 0)
    kb = koid(p, b)
    assert k.signals_of(kb) == CHANNEL_WRITABLE | CHANNEL_READABLE
    assert k.signals_of(koid(p, a)) == CHANNEL_WRITABLE
    assert k.object_of(ke).handle_count == 2     # in transit still counts
    buf = bytearray(b"second")
    p.mx_channel_write(a, buf)
    buf[0] = ord("X")                            # the message has a copy
    p.mx_channel_write(a, memoryview(b"abcdef")[::2])
    data, hs = p.mx_channel_read(b)
    assert data == b"hello" and len(hs) == 2
    assert [p.mx_object_get_info(h, INFO_HANDLE_BASIC).rights
            for h in hs] == [RIGHT_TRANSFER | RIGHT_READ,
                             DEFAULT_EVENT_RIGHTS]
    assert {koid(p, h) for h in hs} == {ke}
    assert not set(hs) & {e, f}                  # new values
    assert k.stats() == Stats(5, 0, objects(channel=2, event=1), 0)
    assert p.mx_channel_read(b) == (b"second", [])
    assert k.signals_of(kb) & CHANNEL_READABLE
    assert p.mx_channel_read(b) == (b"ace", [])
    assert k.signals_of(kb) == CHANNEL_WRITABLE
    assert status(p.mx_channel_read, b) == ERR_SHOULD_WAIT
    # the other direction
    p.mx_channel_write(b, b"")
    assert p.mx_channel_read(a) == (b"", [])


def test_write_error_order(k: ModelKernel, p: ModelProcess) -> None:
    a, b = p.mx_channel_create()
    c, d = p.mx_channel_create()
    e = p.mx_event_create()
    notx = p.mx_handle_duplicate(e, RIGHT_READ)
    ro = p.mx_handle_replace(c, RIGHT_READ | RIGHT_TRANSFER)
    big = b"x" * (CHANNEL_MAX_MSG_BYTES + 1)
    many = [e] * (CHANNEL_MAX_MSG_HANDLES + 1)
    before = k.stats()
    W = p.mx_channel_write
    for bad in ("str", None, 5):
        with pytest.raises(TypeError):
            W(a, bad)
    for bad in ("ab", b"ab", None, 5, [None], ["1"]):
        with pytest.raises(TypeError):
            W(0, b"", bad, 1)
    with pytest.raises(TypeError):
        W(a, b"", [], "0")
    with pytest.raises(TypeError):
        W("a", b"")
    assert status(W, 0, big, many, 1) == ERR_INVALID_ARGS
    assert status(W, 0, big, many, -1) == ERR_INVALID_ARGS
    assert status(W, 0, big, many, 2**32) == ERR_INVALID_ARGS
    assert status(W, 0, big, many) == ERR_BAD_HANDLE
    assert status(W, e, big, many) == ERR_WRONG_TYPE
    assert status(W, ro, big, many) == ERR_ACCESS_DENIED
    assert status(W, a, big, [0, a]) == ERR_OUT_OF_RANGE
    assert status(W, a, b"", many) == ERR_OUT_OF_RANGE
    assert status(W, a, b"x" * CHANNEL_MAX_MSG_BYTES,
                  [0, a, notx, e, e]) == ERR_BAD_HANDLE
    assert status(W, a, b"", [e, a, 0, notx]) == ERR_NOT_SUPPORTED
    assert status(W, a, b"", [e, notx, a, 0]) == ERR_ACCESS_DENIED
    assert status(W, a, b"", [e, e, 0]) == ERR_BAD_HANDLE   # repeats last
    assert status(W, a, b"", [e, b, e]) == ERR_INVALID_ARGS
    # the same handle twice is checked after every handle's own checks
    assert status(W, a, b"", [e, e, notx]) == ERR_ACCESS_DENIED
    x, y = p.mx_channel_create()
    p.mx_handle_close(y)
    assert status(W, x, b"", [e, e]) == ERR_INVALID_ARGS
    assert status(W, x, b"", [e]) == ERR_PEER_CLOSED
    # nothing moved: every handle is still the caller's, same value
    for h in (a, b, e, notx, ro, x):
        p.mx_object_get_info(h, INFO_HANDLE_VALID)
    assert k.stats() == Stats(before.live_handles + 1, 0,
                              objects(channel=5, event=1), 1)
    assert k.snapshot()["messages"] == []


def test_write_self_not_supported_peer_allowed(k: ModelKernel,
                                               p: ModelProcess) -> None:
    a, b = p.mx_channel_create()
    assert status(p.mx_channel_write, a, b"", [a]) == ERR_NOT_SUPPORTED
    kb = koid(p, b)
    p.mx_channel_write(a, b"", [b])              # b in its own queue
    snap = k.snapshot()
    assert snap["messages"] == [{"endpoint_koid": kb, "bytes": 0,
                                 "handle_koids": [kb]}]
    assert k.stats().in_transit_handles == 1
    p.mx_handle_close(a)                         # b: peer closed, unreachable
    assert k.signals_of(kb) == CHANNEL_READABLE | CHANNEL_PEER_CLOSED
    assert k.collect() == 1
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 2)


def test_read_errors(k: ModelKernel, p: ModelProcess) -> None:
    a, b = p.mx_channel_create()
    e = p.mx_event_create()
    wo = p.mx_handle_replace(b, RIGHT_WRITE)
    R = p.mx_channel_read
    with pytest.raises(TypeError):
        R("x")
    with pytest.raises(TypeError):
        R(a, "0")
    with pytest.raises(TypeError):
        R(a, 0, 1.5)
    with pytest.raises(TypeError):
        R(a, 2**32, None, "x")
    assert status(R, 0, 2, -1) == ERR_INVALID_ARGS
    assert status(R, 0, 0, None, -1) == ERR_INVALID_ARGS
    assert status(R, 0, -1) == ERR_INVALID_ARGS
    assert status(R, 0, 2**32) == ERR_INVALID_ARGS
    assert status(R, 0, 2) == ERR_NOT_SUPPORTED
    assert status(R, 0, 3) == ERR_NOT_SUPPORTED
    assert status(R, 0, CHANNEL_READ_MAY_DISCARD) == ERR_BAD_HANDLE
    assert status(R, e) == ERR_WRONG_TYPE
    assert status(R, wo) == ERR_ACCESS_DENIED
    assert status(R, a) == ERR_SHOULD_WAIT
    p.mx_channel_write(wo, b"last words")
    p.mx_handle_close(wo)
    assert p.mx_channel_read(a, max_bytes=10) == (b"last words", [])
    assert status(R, a) == ERR_PEER_CLOSED


def test_read_buffer_too_small(k: ModelKernel, p: ModelProcess) -> None:
    a, b = p.mx_channel_create()
    e = p.mx_event_create()
    ke = koid(p, e)
    p.mx_channel_write(a, b"12345", [e])
    p.mx_channel_write(a, b"next")
    x = err(p.mx_channel_read, b, 0, 4)
    assert (x.status, x.actual_bytes, x.actual_handles) == \
        (ERR_BUFFER_TOO_SMALL, 5, 1)
    x = err(p.mx_channel_read, b, 0, None, 0)
    assert (x.status, x.actual_bytes, x.actual_handles) == \
        (ERR_BUFFER_TOO_SMALL, 5, 1)
    assert len(k.snapshot()["messages"]) == 2    # it stays
    # with MAY_DISCARD it is dropped and its handles closed
    x = err(p.mx_channel_read, b, CHANNEL_READ_MAY_DISCARD, 0, 0)
    assert (x.status, x.actual_bytes, x.actual_handles) == \
        (ERR_BUFFER_TOO_SMALL, 5, 1)
    assert ke not in k.live_koids()
    assert k.stats() == Stats(3, 0, objects(channel=2), 1)
    # limits that fit, MAY_DISCARD or not
    assert p.mx_channel_read(b, CHANNEL_READ_MAY_DISCARD, 4, 0) == \
        (b"next", [])
    assert k.signals_of(koid(p, b)) == CHANNEL_WRITABLE


def test_close_detaches_and_destroys_queue(k: ModelKernel,
                                           p: ModelProcess) -> None:
    a, b = p.mx_channel_create()
    ka, kb = koid(p, a), koid(p, b)
    e = p.mx_event_create()
    ke = koid(p, e)
    p.mx_channel_write(a, b"m", [e])
    p.mx_channel_write(b, b"n")
    p.mx_handle_close(a)                          # a's queue held "n"
    assert ka not in k.live_koids()
    assert k.signals_of(kb) == CHANNEL_READABLE | CHANNEL_PEER_CLOSED
    assert k.object_of(kb).refs == 1              # its handle only
    assert status(p.mx_channel_write, b, b"") == ERR_PEER_CLOSED
    assert status(p.mx_object_signal_peer, b, 0, 0) == ERR_PEER_CLOSED
    assert k.stats() == Stats(3, 1, objects(channel=1, event=1), 1)
    p.mx_handle_close(b)                           # closes e in transit
    assert ke not in k.live_koids()
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 3)


def _nest(p: ModelProcess, depth: int) -> Tuple[int, int]:
    """Both ends of each channel travel in the next channel's queue."""
    a, b = p.mx_channel_create()
    for _ in range(depth - 1):
        c, d = p.mx_channel_create()
        p.mx_channel_write(c, b"", [a, b])
        a, b = c, d
    return a, b


def test_deep_nest_closes_without_recursion(k: ModelKernel,
                                             p: ModelProcess) -> None:
    n = 100_000
    a, b = _nest(p, n)
    assert k.stats() == Stats(2 * n + 1, 2 * n - 2, objects(channel=2 * n), 0)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)                    # no deep stacks allowed
    try:
        p.mx_handle_close_many([a, b])
    finally:
        sys.setrecursionlimit(limit)
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 2 * n)


def test_deep_nest_of_single_ends(k: ModelKernel, p: ModelProcess) -> None:
    """A chain through reading ends whose writers are closed at once."""
    n = 100_000
    h, _ = p.mx_channel_create()
    p.mx_handle_close(_)
    for _ in range(n - 1):
        w, r = p.mx_channel_create()
        p.mx_channel_write(w, b"", [h])
        p.mx_handle_close(w)
        h = r
    assert k.stats().live_objects["channel"] == n
    p.mx_handle_close(h)
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 2 * n)


def _cycle(p: ModelProcess, n: int) -> List[int]:
    """n channels whose reading ends each sit in the previous one's queue;
    the writing ends are closed: nothing reaches the cycle any more."""
    pairs = [p.mx_channel_create() for _ in range(n)]
    for i, (w, _) in enumerate(pairs):
        p.mx_channel_write(w, b"", [pairs[(i + 1) % n][1]])
    for w, _ in pairs:
        p.mx_handle_close(w)
    return [r for _, r in pairs]


@pytest.mark.parametrize("n", [2, 3, 1000])
def test_collect_cycles(k: ModelKernel, p: ModelProcess, n: int) -> None:
    kept = p.mx_event_create()
    _cycle(p, n)
    assert k.stats() == Stats(2 + n, n, objects(channel=n, event=1), n)
    assert len(k.snapshot()["messages"]) == n
    assert k.collect() == n
    assert k.stats() == Stats(2, 0, objects(event=1), 2 * n)
    assert k.snapshot()["messages"] == []
    assert k.collect() == 0
    p.mx_handle_close(kept)


def test_collect_keeps_what_is_reachable(k: ModelKernel,
                                         p: ModelProcess) -> None:
    a, b = p.mx_channel_create()
    x, y = p.mx_channel_create()
    w, r = p.mx_channel_create()
    e = p.mx_event_create()
    ke = koid(p, e)
    p.mx_channel_write(x, b"", [r])    # r in y's queue
    p.mx_channel_write(w, b"", [e])    # e in r's queue
    p.mx_channel_write(a, b"", [y])    # y in b's queue; b is init's
    p.mx_handle_close_many([x, w])
    assert k.stats() == Stats(6, 3, objects(channel=4, event=1), 2)
    before = k.snapshot()
    assert k.collect() == 0            # b reaches y, y reaches r, r reaches e
    assert k.snapshot() == before
    # The writing end does not count: with b in its own queue, held only
    # through a, b and everything it reaches are garbage.
    p.mx_channel_write(a, b"", [b])
    assert k.collect() == 4            # b, y, r and e
    assert ke not in k.live_koids()
    assert k.stats() == Stats(2, 0, objects(channel=1), 6)
    assert k.signals_of(koid(p, a)) == CHANNEL_PEER_CLOSED
    assert k.collect() == 0


def test_collect_closes_other_objects_in_garbage(k: ModelKernel,
                                                 p: ModelProcess) -> None:
    e = p.mx_event_create()
    f = p.mx_event_create()
    w, r = p.mx_channel_create()
    p.mx_channel_write(w, b"", [e, f, r])       # r in its own queue
    p.mx_handle_close(w)                         # w is destroyed here
    assert k.stats() == Stats(4, 3, objects(channel=1, event=2), 1)
    assert k.collect() == 3                      # r, e and f
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 4)


def test_snapshot_shape(k: ModelKernel, p: ModelProcess) -> None:
    import json
    a, b = p.mx_channel_create()
    e = p.mx_event_create()
    p.mx_channel_write(a, b"hello", [e])
    snap = k.snapshot()
    json.dumps(snap)
    assert [o["koid"] for o in snap["objects"]] == k.live_koids()
    assert snap["objects"][0] == {"koid": FIRST_KOID, "type": OBJ_TYPE_JOB,
                                  "handle_count": 1, "signals": 0,
                                  "related_koid": 0}
    assert snap["objects"][1]["related_koid"] == FIRST_KOID      # init
    assert snap["objects"][2]["related_koid"] == FIRST_KOID + 1  # thread
    assert snap["objects"][3:] == [
        {"koid": FIRST_KOID + 3, "type": OBJ_TYPE_CHANNEL, "handle_count": 1,
         "signals": CHANNEL_WRITABLE, "related_koid": FIRST_KOID + 4},
        {"koid": FIRST_KOID + 4, "type": OBJ_TYPE_CHANNEL, "handle_count": 1,
         "signals": CHANNEL_WRITABLE | CHANNEL_READABLE,
         "related_koid": FIRST_KOID + 3},
        {"koid": FIRST_KOID + 5, "type": OBJ_TYPE_EVENT, "handle_count": 1,
         "signals": 0, "related_koid": 0}]
    [proc] = snap["processes"]
    assert (proc["koid"], proc["name"], proc["state"]) == \
        (p.koid, "init", "running")
    assert {(h["value"], h["koid"], h["rights"]) for h in proc["handles"]} \
        == {(p.mx_job_default(), FIRST_KOID, int(DEFAULT_JOB_RIGHTS)),
            (a, FIRST_KOID + 3, CH_RIGHTS), (b, FIRST_KOID + 4, CH_RIGHTS)}
    assert snap["messages"] == [{"endpoint_koid": FIRST_KOID + 4,
                                 "bytes": 5,
                                 "handle_koids": [FIRST_KOID + 5]}]


# -- mx_channel_call ------------------------------------------------------------

def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any
               ) -> Callable[[], Any]:
    """Runs fn in a thread; the returned function joins it and returns
    its result or the exception it raised."""
    box: list = []

    def run() -> None:
        try:
            box.append(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed back
            box.append(exc)
    t = threading.Thread(target=run)
    t.start()

    def join() -> Any:
        t.join(30)
        assert not t.is_alive()
        return box[0]
    return join


def _request(p: ModelProcess, h: int) -> Tuple[bytes, List[int]]:
    """The next message on h, waiting for it (a request that arrived
    means its call is registered)."""
    end = time.monotonic() + 30
    while True:
        try:
            return p.mx_channel_read(h)
        except MxError as exc:
            if exc.status != ERR_SHOULD_WAIT or time.monotonic() > end:
                raise
        time.sleep(0.001)


def test_call_reply(k: ModelKernel, p: ModelProcess) -> None:
    c, s = p.mx_channel_create()
    e = p.mx_event_create()
    join = _in_thread(p.mx_channel_call, c, txid(7) + b"req", [e])
    data, [e_req] = _request(p, s)
    assert data == txid(7) + b"req"
    assert k.stats().in_transit_handles == 0
    p.mx_channel_write(s, txid(8) + b"not yours")
    p.mx_channel_write(s, txid(7) + b"reply", [e_req])
    data, hs = join()
    assert data == txid(7) + b"reply" and len(hs) == 1
    assert koid(p, hs[0]) == FIRST_KOID + 5
    assert p.mx_channel_read(c) == (txid(8) + b"not yours", [])
    assert k.object_of(koid(p, c)).refs == 2      # the call's ref is gone


def test_calls_replied_in_any_order(k: ModelKernel, p: ModelProcess) -> None:
    c, s = p.mx_channel_create()
    joins = []
    for i in range(5):
        joins.append(_in_thread(p.mx_channel_call, c, txid(i), (),
                                TIME_INFINITE, None, None, 0))
        _request(p, s)
    for i in (3, 0, 4, 1, 2):
        p.mx_channel_write(s, txid(i) + b"!%d" % i)
    assert [j() for j in joins] == [(txid(i) + b"!%d" % i, [])
                                    for i in range(5)]
    # short messages have txid 0
    join = _in_thread(p.mx_channel_call, c, b"ab")
    _request(p, s)
    p.mx_channel_write(s, b"z")
    assert join() == (b"z", [])
    assert status(p.mx_channel_read, c) == ERR_SHOULD_WAIT


def test_call_errors(k: ModelKernel, p: ModelProcess) -> None:
    c, s = p.mx_channel_create()
    e = p.mx_event_create()
    ke = koid(p, e)
    ro = p.mx_handle_replace(s, RIGHT_READ | RIGHT_TRANSFER)
    wo_c, wo_s = p.mx_channel_create()
    wo = p.mx_handle_replace(wo_c, RIGHT_WRITE)   # call needs WRITE only
    C = p.mx_channel_call
    with pytest.raises(TypeError):
        C(c, "str")
    with pytest.raises(TypeError):
        C(c, b"", (), "soon", None, None, 1)      # TypeError comes first
    with pytest.raises(TypeError):
        C(c, b"", (), -1, "x")
    assert status(C, c, b"", (), 0, None, None, 1) == ERR_INVALID_ARGS
    assert status(C, 0, b"", (), -1) == ERR_INVALID_ARGS
    assert status(C, 0, b"", (), 2**64) == ERR_INVALID_ARGS
    assert status(C, 0, b"", (), 0, -1) == ERR_INVALID_ARGS
    assert status(C, 0, b"", (), 0, None, -1) == ERR_INVALID_ARGS
    assert status(C, 0, b"") == ERR_BAD_HANDLE
    assert status(C, e, b"") == ERR_WRONG_TYPE
    assert status(C, ro, b"") == ERR_ACCESS_DENIED
    assert status(C, c, b"", [c]) == ERR_NOT_SUPPORTED
    assert status(C, c, b"", [e, e]) == ERR_INVALID_ARGS
    assert status(C, c, b"x" * (CHANNEL_MAX_MSG_BYTES + 1)) == \
        ERR_OUT_OF_RANGE
    # a deadline in the past polls: written, then TIMED_OUT
    assert status(C, wo, txid(1), [e], 0) == ERR_TIMED_OUT
    data, [e2] = p.mx_channel_read(wo_s)
    assert data == txid(1)
    # the late reply goes to the ordinary queue
    p.mx_channel_write(wo_s, txid(1) + b"late", [e2])
    assert k.snapshot()["messages"] == [
        {"endpoint_koid": koid(p, wo), "bytes": 8,
         "handle_koids": [ke]}]
    # a deadline a little ahead
    t0 = time.monotonic()
    x = err(C, c, txid(2), (), time.monotonic_ns() + 20_000_000)
    assert x.status == ERR_TIMED_OUT and time.monotonic() - t0 >= 0.015
    assert k.object_of(koid(p, c)).calls == []


def test_call_reply_too_large(k: ModelKernel, p: ModelProcess) -> None:
    c, s = p.mx_channel_create()
    join = _in_thread(p.mx_channel_call, c, txid(4), max_bytes=6,
                      max_handles=0)
    _request(p, s)
    e = p.mx_event_create()
    ke = koid(p, e)
    p.mx_channel_write(s, txid(4) + b"xy", [e])
    x = join()
    assert isinstance(x, MxError)
    assert (x.status, x.read_status, x.actual_bytes, x.actual_handles) == \
        (ERR_CALL_FAILED, ERR_BUFFER_TOO_SMALL, 6, 1)
    assert ke not in k.live_koids()                # discarded, closed
    assert k.stats() == Stats(3, 0, objects(channel=2), 1)


@pytest.mark.parametrize("how", ["close", "replace", "move", "close_many"])
def test_call_canceled(k: ModelKernel, p: ModelProcess, how: str) -> None:
    c, s = p.mx_channel_create()
    carrier, far = p.mx_channel_create()
    join = _in_thread(p.mx_channel_call, c, txid(6))
    _request(p, s)
    if how == "close":
        p.mx_handle_close(c)
    elif how == "close_many":
        p.mx_handle_close_many([c])
    elif how == "replace":
        p.mx_handle_replace(c, RIGHT_SAME_RIGHTS)
    else:
        p.mx_channel_write(carrier, b"", [c])
    x = join()
    assert isinstance(x, MxError)
    assert (x.status, x.read_status) == (ERR_CALL_FAILED, ERR_CANCELED)
    assert x.syscall == "mx_channel_call"


def test_call_peer_closed(k: ModelKernel, p: ModelProcess) -> None:
    c, s = p.mx_channel_create()
    kc = koid(p, c)
    join = _in_thread(p.mx_channel_call, c, txid(9))
    _request(p, s)
    p.mx_handle_close(s)
    x = join()
    assert (x.status, x.read_status) == (ERR_CALL_FAILED, ERR_PEER_CLOSED)
    assert k.signals_of(kc) == CHANNEL_PEER_CLOSED
    assert status(p.mx_channel_call, c, b"") == ERR_PEER_CLOSED


def test_call_keeps_endpoint_alive(k: ModelKernel, p: ModelProcess) -> None:
    """A closed caller's endpoint lives until the call has returned."""
    c, s = p.mx_channel_create()
    kc = koid(p, c)
    join = _in_thread(p.mx_channel_call, c, txid(3))
    _request(p, s)
    with k.lock:
        p.mx_handle_close(c)
        assert k.object_of(kc).handle_count == 0   # still alive
        # collect treats it as held by the call
        assert k.collect() == 0
    assert join().read_status == ERR_CANCELED
    assert kc not in k.live_koids()
    assert k.stats() == Stats(2, 0, objects(channel=1), 1)


# == waits, ports and tasks ====================================================

ALL = 0xFFFFFFFF
JOIN = 30.0


def _blocked(join: Callable[[], Any]) -> None:
    """Gives a thread started by _in_thread time to block in its call."""
    time.sleep(0.05)


def observed(fn: Callable[..., Any], *args: Any) -> Any:
    """The ``.observed`` of the ``TIMED_OUT`` that ``fn(*args)`` raised."""
    x = err(fn, *args)
    assert x.status == ERR_TIMED_OUT
    return x.observed


def sigs(p: ModelProcess, h: int) -> int:
    return observed(p.mx_object_wait_one, h, 0, 0)


def drain(p: ModelProcess, port: int) -> List[Packet]:
    out = []
    while True:
        try:
            out.append(p.mx_port_wait(port, 0))
        except MxError as exc:
            assert exc.status == ERR_TIMED_OUT
            return out


def spawn(k: ModelKernel, name: str = "child", boot: Optional[int] = None,
          job: Optional[int] = None) -> Tuple[int, int, ModelProcess]:
    """A started child of init: (process handle, thread handle, process)."""
    p = k.init
    if job is None:
        job = p.mx_job_default()
    ph = p.mx_process_create(job, name)
    th = p.mx_thread_create(ph, name)
    if boot is None:
        boot = p.mx_event_create()
    p.mx_process_start(ph, th, "entry", "stack", boot, 42)
    return ph, th, k.process(koid(p, ph))


# -- wait_one / wait_many -------------------------------------------------------

def test_wait_one_polls(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    assert observed(p.mx_object_wait_one, e, EVENT_SIGNALED, 0) == 0
    p.mx_object_signal(e, 0, EVENT_SIGNALED | USER_SIGNAL_0)
    assert p.mx_object_wait_one(e, EVENT_SIGNALED, 0) == \
        EVENT_SIGNALED | USER_SIGNAL_0
    assert p.mx_object_wait_one(e, ALL, 1) == EVENT_SIGNALED | USER_SIGNAL_0
    # a wait for nothing never succeeds
    assert observed(p.mx_object_wait_one, e, 0, 0) == \
        EVENT_SIGNALED | USER_SIGNAL_0
    c, _ = p.mx_channel_create()
    assert p.mx_object_wait_one(c, CHANNEL_WRITABLE, 0) == CHANNEL_WRITABLE


def test_wait_one_errors_in_order(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    no_read = p.mx_handle_duplicate(e, RIGHT_WRITE)
    W = p.mx_object_wait_one
    for bad in (("1", 0, 0), (e, 1.0, 0), (e, 0, None)):
        with pytest.raises(TypeError):
            W(*bad)
    assert status(W, 0, -1, 0) == ERR_INVALID_ARGS
    assert status(W, 0, 2**32, 0) == ERR_INVALID_ARGS
    assert status(W, 0, 0, 2**64) == ERR_INVALID_ARGS
    assert status(W, 0, 0, -1) == ERR_INVALID_ARGS
    assert status(W, 0, 0, 0) == ERR_BAD_HANDLE
    assert status(W, no_read, 0, 0) == ERR_ACCESS_DENIED
    assert err(W, e, 1, 0).syscall == "mx_object_wait_one"


def test_wait_many_polls(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    a, b = p.mx_eventpair_create()
    assert observed(p.mx_object_wait_many,
                    [(e, EVENT_SIGNALED), (a, EPAIR_SIGNALED)], 0) == [0, 0]
    p.mx_object_signal(b, 0, USER_SIGNAL_0)
    p.mx_object_signal_peer(b, 0, EPAIR_SIGNALED)
    assert p.mx_object_wait_many(
        [(e, EVENT_SIGNALED), (a, EPAIR_SIGNALED), (b, 0)], 0) == \
        [0, EPAIR_SIGNALED, USER_SIGNAL_0]
    assert observed(p.mx_object_wait_many, [], 0) == []
    assert observed(p.mx_object_wait_many, (), 1) == []
    assert p.mx_object_wait_many(iter([(e, 0), (a, ALL)]), 0) == \
        [0, EPAIR_SIGNALED]


def test_wait_many_errors_in_order(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    no_read = p.mx_handle_duplicate(e, RIGHT_WRITE)
    W = p.mx_object_wait_many
    for bad in (("ab", 0), (5, 0), ([(e,)], 0), ([(e, 1, 2)], 0),
                ([("1", 0)], 0), ([(e, 0)], "0")):
        with pytest.raises(TypeError):
            W(*bad)
    # every item's signals and the deadline, before any handle
    assert status(W, [(0, 0), (e, -1)], 0) == ERR_INVALID_ARGS
    assert status(W, [(0, 0)], 2**64) == ERR_INVALID_ARGS
    assert status(W, [(e, 0), (0, 0), (no_read, 0)], 0) == ERR_BAD_HANDLE
    assert status(W, [(e, 0), (no_read, 0), (0, 0)], 0) == ERR_ACCESS_DENIED


def test_wait_one_blocks_until_signaled(k: ModelKernel,
                                        p: ModelProcess) -> None:
    e = p.mx_event_create()
    ke = koid(p, e)
    join = _in_thread(p.mx_object_wait_one, e, USER_SIGNAL_1, TIME_INFINITE)
    _blocked(join)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)          # not wanted
    p.mx_handle_close(p.mx_handle_duplicate(e, RIGHT_SAME_RIGHTS))
    with k.lock:
        # the word seen at the moment of the rise, not later
        p.mx_object_signal(e, 0, USER_SIGNAL_1)
        p.mx_object_signal(e, USER_SIGNAL_0 | USER_SIGNAL_1, USER_SIGNAL_2)
    assert join() == USER_SIGNAL_0 | USER_SIGNAL_1
    assert k.object_of(ke).waiters == [] and k.object_of(ke).refs == 1


def test_wait_one_times_out(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    p.mx_object_signal(e, 0, USER_SIGNAL_3)
    t0 = time.monotonic()
    x = err(p.mx_object_wait_one, e, USER_SIGNAL_0,
            time.monotonic_ns() + 20_000_000)
    assert time.monotonic() - t0 >= 0.015
    assert (x.status, x.observed) == (ERR_TIMED_OUT, USER_SIGNAL_3)
    x = err(p.mx_object_wait_many, [], time.monotonic_ns() + 5_000_000)
    assert (x.status, x.observed) == (ERR_TIMED_OUT, [])


@pytest.mark.parametrize("how", ["close", "close_many", "replace", "move",
                                 "kill"])
def test_wait_one_canceled(k: ModelKernel, p: ModelProcess, how: str) -> None:
    e = p.mx_event_create()
    ke = koid(p, e)
    if how == "kill":
        ph, th, child = spawn(k, boot=e)
        waiter, h = child, child.start_info.arg1
    else:
        waiter, h = p, e
    join = _in_thread(waiter.mx_object_wait_one, h, USER_SIGNAL_0,
                      TIME_INFINITE)
    _blocked(join)
    if how == "close":
        p.mx_handle_close(e)
    elif how == "close_many":     # the valid one closes despite the 0
        assert status(p.mx_handle_close_many, [e, 0]) == ERR_BAD_HANDLE
    elif how == "replace":
        p.mx_handle_replace(e, RIGHT_READ)
    elif how == "move":
        c, _ = p.mx_channel_create()
        p.mx_channel_write(c, b"", [e])
    else:
        p.mx_task_kill(ph)
    x = join()
    assert isinstance(x, MxError) and x.status == ERR_CANCELED
    assert x.syscall == "mx_object_wait_one"
    if how in ("close", "close_many", "kill"):
        assert ke not in k.live_koids()        # the wait's ref went too


def test_wait_keeps_object_alive(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    ke = koid(p, e)
    join = _in_thread(p.mx_object_wait_one, e, USER_SIGNAL_0, TIME_INFINITE)
    _blocked(join)
    with k.lock:
        p.mx_handle_close(e)
        assert ke in k.live_koids()            # until the wait returns
    assert join().status == ERR_CANCELED
    assert ke not in k.live_koids()


def test_wait_many_blocks(k: ModelKernel, p: ModelProcess) -> None:
    e = p.mx_event_create()
    a, b = p.mx_eventpair_create()
    join = _in_thread(p.mx_object_wait_many,
                      [(e, USER_SIGNAL_0), (a, EPAIR_PEER_CLOSED)],
                      TIME_INFINITE)
    _blocked(join)
    p.mx_object_signal(e, 0, USER_SIGNAL_5)
    p.mx_handle_close(b)
    # every item's word as it is at the end
    assert join() == [USER_SIGNAL_5, EPAIR_PEER_CLOSED]
    # canceled wins over satisfied
    join = _in_thread(p.mx_object_wait_many,
                      [(e, USER_SIGNAL_1), (a, USER_SIGNAL_1)], TIME_INFINITE)
    _blocked(join)
    with k.lock:
        p.mx_object_signal(e, 0, USER_SIGNAL_1)
        p.mx_handle_close(a)
    assert join().status == ERR_CANCELED
    assert k.object_of(koid(p, e)).waiters == []


def test_empty_wait_many_ends_with_its_process(k: ModelKernel,
                                               p: ModelProcess) -> None:
    ph, th, child = spawn(k)
    join = _in_thread(child.mx_object_wait_many, [], TIME_INFINITE)
    _blocked(join)
    child.mx_process_exit(5)
    assert join().status == ERR_CANCELED
    assert p.mx_object_get_info(ph, INFO_PROCESS) == ProcessInfo(5, True,
                                                                 True, False)


# -- ports ---------------------------------------------------------------------------

def test_port_create(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    info = p.mx_object_get_info(port, INFO_HANDLE_BASIC)
    assert info == HandleBasic(FIRST_KOID + 3, int(DEFAULT_PORT_RIGHTS),
                               OBJ_TYPE_PORT, 0, OBJ_PROP_WAITABLE)
    assert k.stats().live_objects == objects(port=1)
    for options in (1, -1, 2**32):
        assert status(p.mx_port_create, options) == ERR_INVALID_ARGS
    with pytest.raises(TypeError):
        p.mx_port_create("0")
    p.mx_handle_close(port)
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 1)


def test_port_user_packets_fifo(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    assert sigs(p, port) == 0
    p.mx_port_queue(port, PortPacket(7, -3, b"abc"))
    assert sigs(p, port) == PORT_READABLE
    p.mx_port_queue(port, SimpleNamespace(key=2**64 - 1, status=2**31 - 1,
                                          user=bytearray(b"x" * 32)))
    p.mx_port_queue(port, SimpleNamespace(key=0, status=-2**31, user=None))
    assert drain(p, port) == [
        Packet(7, PKT_TYPE_USER, -3, None, b"abc" + b"\0" * 29),
        Packet(2**64 - 1, PKT_TYPE_USER, 2**31 - 1, None, b"x" * 32),
        Packet(0, PKT_TYPE_USER, -2**31, None, b"\0" * 32)]
    assert sigs(p, port) == 0


def test_port_queue_errors_in_order(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    ro = p.mx_handle_duplicate(port, RIGHT_READ)
    e = p.mx_event_create()
    Q = p.mx_port_queue

    def pk(key: Any = 1, status: Any = 0, user: Any = b"") -> Any:
        return SimpleNamespace(key=key, status=status, user=user)
    for bad in ((port, None), (port, pk(key="1")), (port, pk(status=1.5)),
                (port, pk(user="text")), ("1", pk())):
        with pytest.raises(TypeError):
            Q(*bad)
    assert status(Q, 0, pk(key=-1)) == ERR_INVALID_ARGS
    assert status(Q, 0, pk(key=2**64)) == ERR_INVALID_ARGS
    assert status(Q, 0, pk(status=2**31)) == ERR_BAD_HANDLE
    assert status(Q, e, pk(user=b"x" * 33)) == ERR_WRONG_TYPE
    assert status(Q, ro, pk(status=2**31)) == ERR_ACCESS_DENIED
    assert status(Q, port, pk(status=2**31)) == ERR_INVALID_ARGS
    assert status(Q, port, pk(status=-2**31 - 1)) == ERR_INVALID_ARGS
    assert status(Q, port, pk(user=b"x" * 33)) == ERR_INVALID_ARGS
    assert drain(p, port) == []


def test_port_wait_errors_in_order(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    wo = p.mx_handle_duplicate(port, RIGHT_WRITE)
    e = p.mx_event_create()
    W = p.mx_port_wait
    with pytest.raises(TypeError):
        W(port, "0")
    assert status(W, 0, -1) == ERR_INVALID_ARGS
    assert status(W, 0, 0) == ERR_BAD_HANDLE
    assert status(W, e, 0) == ERR_WRONG_TYPE
    assert status(W, wo, 0) == ERR_ACCESS_DENIED
    x = err(W, port, 0)
    assert x.status == ERR_TIMED_OUT and x.syscall == "mx_port_wait"


def test_port_max_packets(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    e = p.mx_event_create()
    for i in range(PORT_MAX_PACKETS):
        p.mx_port_queue(port, PortPacket(i))
    assert status(p.mx_port_queue, port, PortPacket(-1 % 2**64)) == \
        ERR_SHOULD_WAIT
    # signal packets never count against the limit and are never refused
    p.mx_object_wait_async(e, port, 99, USER_SIGNAL_0, WAIT_ASYNC_ONCE)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)
    assert status(p.mx_port_queue, port, PortPacket(1)) == ERR_SHOULD_WAIT
    assert p.mx_port_wait(port, 0).key == 0
    p.mx_port_queue(port, PortPacket(5000))
    out = drain(p, port)
    assert len(out) == PORT_MAX_PACKETS + 1
    assert [x.key for x in out[-2:]] == [99, 5000]
    assert out[-2].type == PKT_TYPE_SIGNAL_ONE


def test_port_wait_blocks(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    join = _in_thread(p.mx_port_wait, port, TIME_INFINITE)
    _blocked(join)
    p.mx_port_queue(port, PortPacket(3, 1, b"z"))
    assert join() == Packet(3, PKT_TYPE_USER, 1, None, b"z" + b"\0" * 31)
    t0 = time.monotonic()
    assert err(p.mx_port_wait, port,
               time.monotonic_ns() + 20_000_000).status == ERR_TIMED_OUT
    assert time.monotonic() - t0 >= 0.015
    # closing the port handle cancels; the wait's reference kept it alive
    kp = koid(p, port)
    join = _in_thread(p.mx_port_wait, port, TIME_INFINITE)
    _blocked(join)
    p.mx_handle_close(port)
    assert join().status == ERR_CANCELED
    assert kp not in k.live_koids()


def test_wait_async_once(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    e = p.mx_event_create()
    p.mx_object_wait_async(e, port, 5, USER_SIGNAL_0 | USER_SIGNAL_1,
                           WAIT_ASYNC_ONCE)
    assert drain(p, port) == []
    p.mx_object_signal(e, 0, USER_SIGNAL_2)          # not wanted
    p.mx_object_signal(e, 0, USER_SIGNAL_1)
    p.mx_object_signal(e, USER_SIGNAL_1, 0)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)          # the wait is over
    assert drain(p, port) == [Packet(
        5, PKT_TYPE_SIGNAL_ONE, 0,
        SignalInfo(USER_SIGNAL_0 | USER_SIGNAL_1,
                   USER_SIGNAL_1 | USER_SIGNAL_2, 1), None)]
    assert status(p.mx_port_cancel, port, e, 5) == ERR_NOT_FOUND
    # already asserted: fires at once
    p.mx_object_wait_async(e, port, 6, USER_SIGNAL_0, WAIT_ASYNC_ONCE)
    assert [x.key for x in drain(p, port)] == [6]
    assert k.object_of(koid(p, e)).waiters == []


def test_wait_async_repeating_rearms_after_dequeue(k: ModelKernel,
                                                   p: ModelProcess) -> None:
    port = p.mx_port_create()
    e = p.mx_event_create()
    p.mx_object_wait_async(e, port, 1, USER_SIGNAL_0, WAIT_ASYNC_REPEATING)
    for _ in range(3):            # edges while the packet is queued: one
        p.mx_object_signal(e, 0, USER_SIGNAL_0)
        p.mx_object_signal(e, USER_SIGNAL_0, 0)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)
    pkt = p.mx_port_wait(port, 0)
    assert (pkt.type, pkt.signal) == (PKT_TYPE_SIGNAL_REP,
                                      SignalInfo(USER_SIGNAL_0,
                                                 USER_SIGNAL_0, 1))
    # still asserted at the dequeue: no new packet by itself
    assert drain(p, port) == []
    p.mx_object_signal(e, 0, USER_SIGNAL_1)          # not a wanted bit
    assert drain(p, port) == []
    p.mx_object_signal(e, USER_SIGNAL_0, 0)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)          # the next rise fires
    assert [x.key for x in drain(p, port)] == [1]
    p.mx_port_cancel(port, e, 1)
    p.mx_object_signal(e, USER_SIGNAL_0, USER_SIGNAL_0)
    assert drain(p, port) == []


def test_one_change_fires_newest_wait_first(k: ModelKernel,
                                            p: ModelProcess) -> None:
    port = p.mx_port_create()
    e = p.mx_event_create()
    for key in (1, 2, 3):
        p.mx_object_wait_async(e, port, key, USER_SIGNAL_0, WAIT_ASYNC_ONCE)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)
    assert [x.key for x in drain(p, port)] == [3, 2, 1]


def test_port_cancel(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    e = p.mx_event_create()
    dup = p.mx_handle_duplicate(e, RIGHT_SAME_RIGHTS)
    p.mx_port_queue(port, PortPacket(1))
    p.mx_object_wait_async(e, port, 1, USER_SIGNAL_0, WAIT_ASYNC_REPEATING)
    p.mx_object_wait_async(e, port, 2, USER_SIGNAL_0, WAIT_ASYNC_ONCE)
    p.mx_object_wait_async(dup, port, 1, USER_SIGNAL_1, WAIT_ASYNC_ONCE)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)
    # the waits of value e with key 1 only: its packet goes, the user
    # packet with key 1 stays
    p.mx_port_cancel(port, e, 1)
    assert [(x.key, x.type) for x in drain(p, port)] == [
        (1, PKT_TYPE_USER), (2, PKT_TYPE_SIGNAL_ONE)]
    assert status(p.mx_port_cancel, port, e, 1) == ERR_NOT_FOUND
    assert status(p.mx_port_cancel, port, e, 2) == ERR_NOT_FOUND
    # a fired once-wait's packet not yet dequeued is found and dropped
    p.mx_object_wait_async(e, port, 3, USER_SIGNAL_0, WAIT_ASYNC_ONCE)
    p.mx_port_cancel(port, e, 3)
    assert drain(p, port) == []
    # the wait through dup is its own
    p.mx_port_cancel(port, dup, 1)
    p.mx_object_signal(e, 0, USER_SIGNAL_1)
    assert drain(p, port) == []


def test_port_cancel_errors_in_order(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    ro = p.mx_handle_duplicate(port, RIGHT_READ)
    e = p.mx_event_create()
    no_read = p.mx_handle_duplicate(e, RIGHT_WRITE)
    C = p.mx_port_cancel
    with pytest.raises(TypeError):
        C(port, e, "1")
    assert status(C, 0, 0, 2**64) == ERR_INVALID_ARGS
    assert status(C, 0, 0, 0) == ERR_BAD_HANDLE        # the port first
    assert status(C, e, 0, 0) == ERR_WRONG_TYPE
    assert status(C, ro, 0, 0) == ERR_ACCESS_DENIED
    assert status(C, port, 0, 0) == ERR_BAD_HANDLE
    assert status(C, port, no_read, 0) == ERR_ACCESS_DENIED
    assert status(C, port, e, 0) == ERR_NOT_FOUND


def test_wait_async_errors_in_order(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    ro = p.mx_handle_duplicate(port, RIGHT_READ)
    e = p.mx_event_create()
    no_read = p.mx_handle_duplicate(e, RIGHT_WRITE)
    A = p.mx_object_wait_async
    for bad in (("1", port, 0, 0, 0), (e, port, 0, 0, 1.0),
                (e, port, None, 0, 0)):
        with pytest.raises(TypeError):
            A(*bad)
    assert status(A, 0, 0, 2**64, 0, 0) == ERR_INVALID_ARGS
    assert status(A, 0, 0, 0, -1, 0) == ERR_INVALID_ARGS
    assert status(A, 0, 0, 0, 0, 2**32) == ERR_INVALID_ARGS
    assert status(A, 0, 0, 0, 0, 0) == ERR_BAD_HANDLE
    assert status(A, 0, e, 0, 0, 0) == ERR_WRONG_TYPE     # the port first
    assert status(A, 0, ro, 0, 0, 0) == ERR_ACCESS_DENIED
    assert status(A, 0, port, 0, 0, 5) == ERR_BAD_HANDLE
    assert status(A, no_read, port, 0, 0, 5) == ERR_ACCESS_DENIED
    assert status(A, e, port, 0, 0, 2) == ERR_INVALID_ARGS
    assert k.object_of(koid(p, e)).waiters is None


@pytest.mark.parametrize("how", ["close", "replace", "move", "death"])
def test_async_wait_ends_with_its_handle(k: ModelKernel, p: ModelProcess,
                                         how: str) -> None:
    port = p.mx_port_create()
    e = p.mx_event_create()
    ke = koid(p, e)
    keep = p.mx_handle_duplicate(e, RIGHT_SAME_RIGHTS)
    if how == "death":
        # the child's wait, through its own handles to the event and port
        c0, c1 = p.mx_channel_create()
        p.mx_channel_write(c0, b"", [
            p.mx_handle_duplicate(e, RIGHT_SAME_RIGHTS),
            p.mx_handle_duplicate(port, RIGHT_SAME_RIGHTS)])
        ph, th, child = spawn(k, boot=c1)
        _, (ce, cport) = child.mx_channel_read(child.start_info.arg1)
        child.mx_object_wait_async(ce, cport, 1, USER_SIGNAL_0,
                                   WAIT_ASYNC_REPEATING)
        p.mx_object_signal(e, 0, USER_SIGNAL_0)          # one packet
        p.mx_task_kill(ph)
    else:
        p.mx_object_wait_async(e, port, 1, USER_SIGNAL_0,
                               WAIT_ASYNC_REPEATING)
        p.mx_object_signal(e, 0, USER_SIGNAL_0)          # one packet
        if how == "close":
            p.mx_handle_close(e)
        elif how == "replace":
            p.mx_handle_replace(e, RIGHT_SAME_RIGHTS)
        else:
            c, _ = p.mx_channel_create()
            p.mx_channel_write(c, b"", [e])
    assert k.object_of(ke).waiters == []
    # the packet already queued stays; nothing fires any more
    assert [x.key for x in drain(p, port)] == [1]
    p.mx_object_signal(keep, USER_SIGNAL_0, USER_SIGNAL_0)
    p.mx_object_signal(port, 0, USER_SIGNAL_7)
    assert drain(p, port) == []


def test_async_wait_holds_no_port_reference(k: ModelKernel,
                                            p: ModelProcess) -> None:
    port = p.mx_port_create()
    e = p.mx_event_create()
    p.mx_object_wait_async(e, port, 1, USER_SIGNAL_0, WAIT_ASYNC_REPEATING)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)
    p.mx_handle_close(port)                  # destroyed, packet and all
    assert k.stats().live_objects == objects(event=1)
    p.mx_object_signal(e, USER_SIGNAL_0, USER_SIGNAL_0)   # inert
    p.mx_handle_close(e)
    assert k.stats() == Stats(1, 0, BASE_OBJECTS, 2)


def test_ports_cascade(k: ModelKernel, p: ModelProcess) -> None:
    """A port's PORT_READABLE fires async waits on it into other ports
    (and itself), which become readable in turn."""
    a, b, c = (p.mx_port_create() for _ in range(3))
    e = p.mx_event_create()
    p.mx_object_wait_async(a, b, 10, PORT_READABLE, WAIT_ASYNC_REPEATING)
    p.mx_object_wait_async(b, c, 20, PORT_READABLE, WAIT_ASYNC_ONCE)
    p.mx_object_wait_async(c, c, 30, PORT_READABLE, WAIT_ASYNC_ONCE)
    p.mx_object_wait_async(e, a, 1, USER_SIGNAL_0, WAIT_ASYNC_ONCE)
    p.mx_object_signal(e, 0, USER_SIGNAL_0)
    assert [x.key for x in drain(p, a)] == [1]
    assert [(x.key, x.signal.observed) for x in drain(p, b)] == \
        [(10, PORT_READABLE)]
    assert [x.key for x in drain(p, c)] == [20, 30]


# -- tasks -----------------------------------------------------------------------------

def test_job_create(k: ModelKernel, p: ModelProcess) -> None:
    root = p.mx_job_default()
    j1 = p.mx_job_create(root)
    j2 = p.mx_job_create(root)
    j3 = p.mx_job_create(j1)
    info = p.mx_object_get_info(j3, INFO_HANDLE_BASIC)
    assert info == HandleBasic(FIRST_KOID + 5, int(DEFAULT_JOB_RIGHTS),
                               OBJ_TYPE_JOB, koid(p, j1), OBJ_PROP_WAITABLE)
    assert p.mx_object_get_info(root, INFO_JOB_CHILDREN) == \
        [koid(p, j2), koid(p, j1)]                       # newest first
    assert p.mx_object_get_info(j1, INFO_JOB_CHILDREN) == [koid(p, j3)]
    # a job lives while a handle or a child holds it
    p.mx_handle_close(j1)
    assert p.mx_object_get_info(root, INFO_JOB_CHILDREN) == \
        [koid(p, j2), FIRST_KOID + 3]
    p.mx_handle_close(j3)
    assert p.mx_object_get_info(root, INFO_JOB_CHILDREN) == [koid(p, j2)]
    assert k.stats().live_objects == objects(job=2)


def test_job_create_errors_in_order(k: ModelKernel, p: ModelProcess) -> None:
    root = p.mx_job_default()
    ro = p.mx_handle_duplicate(root, RIGHT_READ)
    e = p.mx_event_create()
    J = p.mx_job_create
    with pytest.raises(TypeError):
        J(root, "0")
    assert status(J, 0, 2**32) == ERR_INVALID_ARGS
    assert status(J, 0, 1) == ERR_BAD_HANDLE
    assert status(J, e, 1) == ERR_WRONG_TYPE
    assert status(J, ro, 1) == ERR_ACCESS_DENIED
    assert status(J, root, 1) == ERR_INVALID_ARGS
    j = J(root)
    p.mx_task_kill(j)
    assert status(J, j) == ERR_BAD_STATE
    assert status(p.mx_process_create, j, "x") == ERR_BAD_STATE
    full = ModelKernel(seed=1, max_handles=1)
    before = full.stats()
    assert status(full.init.mx_job_create,
                  full.init.mx_job_default()) == ERR_NO_RESOURCES
    assert full.stats() == before and full.live_koids()[-1] == FIRST_KOID + 2


def test_process_create(k: ModelKernel, p: ModelProcess) -> None:
    root = p.mx_job_default()
    ph = p.mx_process_create(root, "\u00e9" * 20)     # 40 bytes in UTF-8
    info = p.mx_object_get_info(ph, INFO_HANDLE_BASIC)
    assert info == HandleBasic(FIRST_KOID + 3, int(DEFAULT_PROCESS_RIGHTS),
                               OBJ_TYPE_PROCESS, FIRST_KOID,
                               OBJ_PROP_WAITABLE)
    child = k.process(info.koid)
    assert child.name == "\u00e9" * 15 and child.kernel is k
    assert (child.state, child.start_info) == ("new", None)
    assert p.mx_object_get_info(ph, INFO_PROCESS) == ProcessInfo(
        0, False, False, False)
    assert p.mx_object_get_info(ph, INFO_PROCESS_THREADS) == []
    assert p.mx_object_get_info(ph, INFO_PROCESS_HANDLES) == []
    assert p.mx_object_get_info(root, INFO_JOB_PROCESSES) == \
        [info.koid, p.koid]
    assert child.mx_job_default() == HANDLE_INVALID
    for name, cut in (("a" * 31, "a" * 31), ("a" * 32, "a" * 31),
                      ("ab\u20ac" * 12, "ab\u20ac" * 6 + "a"), ("", "")):
        h = p.mx_process_create(root, name)
        assert k.process(koid(p, h)).name == cut
    with pytest.raises(TypeError):
        p.mx_process_create(root, b"bytes")
    assert status(p.mx_process_create, root, "x", 1) == ERR_INVALID_ARGS


def test_thread_create(k: ModelKernel, p: ModelProcess) -> None:
    ph = p.mx_process_create(p.mx_job_default(), "c")
    t1 = p.mx_thread_create(ph, "one")
    t2 = p.mx_thread_create(ph, "two")
    info = p.mx_object_get_info(t1, INFO_HANDLE_BASIC)
    assert info == HandleBasic(FIRST_KOID + 4, int(DEFAULT_THREAD_RIGHTS),
                               OBJ_TYPE_THREAD, koid(p, ph),
                               OBJ_PROP_WAITABLE)
    assert p.mx_object_get_info(ph, INFO_PROCESS_THREADS) == \
        [koid(p, t2), info.koid]
    e = p.mx_event_create()
    T = p.mx_thread_create
    with pytest.raises(TypeError):
        T(ph, None)
    assert status(T, 0, "x", -1) == ERR_INVALID_ARGS
    assert status(T, e, "x") == ERR_WRONG_TYPE
    assert status(T, p.mx_handle_duplicate(ph, RIGHT_READ), "x") == \
        ERR_ACCESS_DENIED
    assert status(T, ph, "x", 1) == ERR_INVALID_ARGS
    p.mx_task_kill(ph)
    assert status(T, ph, "x") == ERR_BAD_STATE


def test_process_start(p: ModelProcess) -> None:
    seen: list = []
    k = ModelKernel(seed=3, on_process_start=lambda proc, info: seen.append(
        (proc, info, proc.kernel.lock._is_owned())))  # type: ignore
    p = k.init
    ph = p.mx_process_create(p.mx_job_default(), "child")
    th = p.mx_thread_create(ph, "main")
    c0, c1 = p.mx_channel_create()
    kc1 = koid(p, c1)
    assert p.mx_process_start(ph, th, "entry", ["stack"], c1, {"x": 1}) \
        is None
    child = k.process(koid(p, ph))
    [(proc, info, locked)] = seen
    assert proc is child and info is child.start_info and not locked
    assert (info.entry, info.stack, info.arg2) == ("entry", ["stack"],
                                                   {"x": 1})
    assert child.handle_values() == [info.arg1]
    assert koid(child, info.arg1) == kc1
    assert status(p.mx_object_get_info, c1, INFO_HANDLE_VALID) == \
        ERR_BAD_HANDLE
    assert child.state == "running" and k.init.start_info is None
    assert p.mx_object_get_info(ph, INFO_PROCESS) == ProcessInfo(
        0, True, False, False)
    assert p.mx_object_get_info(ph, INFO_PROCESS_HANDLES) == [
        HandleEntry(info.arg1, kc1, OBJ_TYPE_CHANNEL, CH_RIGHTS)]
    assert status(p.mx_process_start, ph, th, 0, 0, c0, 0) == ERR_BAD_STATE
    child.mx_channel_write(info.arg1, b"hi")
    assert p.mx_channel_read(c0) == (b"hi", [])
    assert k.stats().live_handles == 5


def test_process_start_errors_in_order(k: ModelKernel,
                                       p: ModelProcess) -> None:
    root = p.mx_job_default()
    ph = p.mx_process_create(root, "a")
    th = p.mx_thread_create(ph, "a")
    other = p.mx_thread_create(p.mx_process_create(root, "b"), "b")
    e = p.mx_event_create()
    S = p.mx_process_start
    ph_ro = p.mx_handle_duplicate(ph, RIGHT_READ)
    th_ro = p.mx_handle_duplicate(th, RIGHT_READ)
    e_nt = p.mx_handle_duplicate(e, RIGHT_READ)
    for bad in (("1", th, 0, 0, e, 0), (ph, th, 0, 0, "e", 0),
                (ph, None, 0, 0, e, 0)):
        with pytest.raises(TypeError):
            S(*bad)
    assert status(S, 0, 0, 0, 0, 0, 0) == ERR_BAD_HANDLE
    assert status(S, e, 0, 0, 0, 0, 0) == ERR_WRONG_TYPE
    assert status(S, ph_ro, 0, 0, 0, 0, 0) == ERR_ACCESS_DENIED
    assert status(S, ph, 0, 0, 0, 0, 0) == ERR_BAD_HANDLE
    assert status(S, ph, e, 0, 0, 0, 0) == ERR_WRONG_TYPE
    assert status(S, ph, th_ro, 0, 0, 0, 0) == ERR_ACCESS_DENIED
    assert status(S, ph, other, 0, 0, 0, 0) == ERR_ACCESS_DENIED
    for arg1 in (0, -1, 2**40, e_nt, 12345):
        assert status(S, ph, th, 0, 0, arg1, 0) == ERR_INVALID_ARGS
    p.mx_process_start(ph, th, 0, 0, ph, 0)      # its own handle moves in
    assert status(S, ph_ro, th, 0, 0, e, 0) == ERR_ACCESS_DENIED


def test_thread_start(k: ModelKernel, p: ModelProcess) -> None:
    ph = p.mx_process_create(p.mx_job_default(), "c")
    main = p.mx_thread_create(ph, "main")
    extra = p.mx_thread_create(ph, "extra")
    S = p.mx_thread_start
    with pytest.raises(TypeError):
        S(extra, 0, 0, "1", 0)
    assert status(S, extra, 0, 0, 0, 0) == ERR_BAD_STATE   # never started
    assert status(S, ph, 0, 0, 0, 0) == ERR_WRONG_TYPE
    assert status(S, p.mx_handle_duplicate(extra, RIGHT_READ), 0, 0, 0,
                  0) == ERR_ACCESS_DENIED
    p.mx_process_start(ph, main, 0, 0, p.mx_event_create(), 0)
    assert status(S, main, 0, 0, 0, 0) == ERR_BAD_STATE
    S(extra, "f", "s", 2**70, -1)
    assert status(S, extra, 0, 0, 0, 0) == ERR_BAD_STATE
    # killing one thread leaves the process running
    p.mx_task_kill(main)
    assert sigs(p, main) == TASK_TERMINATED
    assert p.mx_object_get_info(ph, INFO_PROCESS_THREADS) == [koid(p, extra)]
    assert k.process(koid(p, ph)).state == "running"


def test_process_exit(k: ModelKernel, p: ModelProcess) -> None:
    port = p.mx_port_create()
    ph, th, child = spawn(k, boot=p.mx_handle_duplicate(port,
                                                        RIGHT_SAME_RIGHTS))
    e = child.mx_event_create()
    ke = koid(child, e)
    p.mx_object_wait_async(ph, port, 1, TASK_TERMINATED, WAIT_ASYNC_ONCE)
    with pytest.raises(TypeError):
        child.mx_process_exit("1")
    assert status(child.mx_process_exit, 2**63) == ERR_INVALID_ARGS
    child.mx_process_exit(-7)
    assert (child.state, child.exited, child.return_code) == \
        ("exited", True, -7)
    assert p.mx_object_get_info(ph, INFO_PROCESS) == ProcessInfo(
        -7, True, True, False)
    assert sigs(p, ph) == TASK_TERMINATED == sigs(p, th)
    assert ke not in k.live_koids()             # its table was closed
    assert child.handle_values() == []
    assert [x.key for x in drain(p, port)] == [1]
    assert p.mx_object_get_info(p.mx_job_default(), INFO_JOB_PROCESSES) == \
        [p.koid]
    assert p.mx_object_get_info(ph, INFO_PROCESS_THREADS) == []
    # a dead process's calls: BAD_STATE before anything else (types first)
    for call, args in ((child.mx_process_exit, (0,)),
                       (child.mx_event_create, (5,)),
                       (child.mx_handle_close, (0,)),
                       (child.mx_handle_duplicate, (0, -1)),
                       (child.mx_object_wait_one, (0, -1, -1)),
                       (child.mx_object_wait_many, ([(0, -1)], -1)),
                       (child.mx_port_create, (1,)),
                       (child.mx_port_queue, (0, PortPacket(1))),
                       (child.mx_port_wait, (0, -1)),
                       (child.mx_port_cancel, (0, 0, -1)),
                       (child.mx_object_wait_async, (0, 0, -1, 0, 9)),
                       (child.mx_object_get_info, (0, 12345)),
                       (child.mx_job_default, ()),
                       (child.mx_job_create, (0, -1)),
                       (child.mx_process_create, (0, "x", -1)),
                       (child.mx_thread_create, (0, "x", -1)),
                       (child.mx_process_start, (0, 0, 0, 0, 0, 0)),
                       (child.mx_thread_start, (0, 0, 0, 0, 0)),
                       (child.mx_task_kill, (0,)),
                       (child.mx_channel_create, (1,)),
                       (child.mx_channel_read, (0, -1)),
                       (child.mx_channel_write, (0, b"", [], 1)),
                       (child.mx_channel_call, (0, b"", [], -1)),
                       (child.mx_object_signal, (0, -1, 0))):
        assert status(call, *args) == ERR_BAD_STATE, call.__name__
    with pytest.raises(TypeError):
        child.mx_handle_close("0")
    # the process object lives while handles to it remain
    assert k.process(child.koid) is child
    p.mx_handle_close_many([ph, th])
    assert status(k.process, child.koid) == ERR_NOT_FOUND


def test_task_kill_process_and_threads(k: ModelKernel,
                                       p: ModelProcess) -> None:
    ph, th, child = spawn(k)
    e = p.mx_event_create()
    assert status(p.mx_task_kill, e) == ERR_WRONG_TYPE
    assert status(p.mx_task_kill, 0) == ERR_BAD_HANDLE
    assert status(p.mx_task_kill, p.mx_handle_duplicate(ph, RIGHT_READ)) == \
        ERR_ACCESS_DENIED
    with pytest.raises(TypeError):
        p.mx_task_kill(None)
    p.mx_task_kill(ph)
    assert child.return_code == -1 and child.state == "exited"
    assert sigs(p, th) == TASK_TERMINATED
    p.mx_task_kill(ph)                 # already dead: nothing happens
    p.mx_task_kill(th)
    assert p.mx_object_get_info(ph, INFO_PROCESS).return_code == -1
    # killing the last thread of a running process ends it with 0
    ph2, th2, child2 = spawn(k)
    p.mx_task_kill(th2)
    assert (child2.state, child2.return_code) == ("exited", 0)
    # a process may kill itself (through a handle to itself)
    ph3 = p.mx_process_create(p.mx_job_default(), "self")
    th3 = p.mx_thread_create(ph3, "t")
    p.mx_process_start(ph3, th3, 0, 0,
                       p.mx_handle_duplicate(ph3, RIGHT_SAME_RIGHTS), 0)
    child3 = k.process(koid(p, ph3))
    assert child3.mx_task_kill(child3.start_info.arg1) is None
    assert (child3.state, child3.return_code) == ("exited", -1)
    assert status(child3.mx_task_kill, child3.start_info.arg1) == \
        ERR_BAD_STATE


def test_zero_handles_kills_tasks(k: ModelKernel, p: ModelProcess) -> None:
    # a process whose last handle goes is killed (its thread holds the
    # object, so the view still answers)
    ph, th, child = spawn(k)
    p.mx_handle_close(ph)
    assert (child.state, child.return_code) == ("exited", -1)
    assert sigs(p, th) == TASK_TERMINATED
    p.mx_handle_close(th)
    assert status(k.process, child.koid) == ERR_NOT_FOUND
    # a thread whose last handle goes is killed; it was the last thread
    ph, th, child = spawn(k)
    p.mx_handle_close(th)
    assert (child.state, child.return_code) == ("exited", 0)
    assert p.mx_object_get_info(ph, INFO_PROCESS) == ProcessInfo(
        0, True, True, False)
    p.mx_handle_close(ph)
    # a new (never started) process with no handles left just dies
    ph = p.mx_process_create(p.mx_job_default(), "new")
    th = p.mx_thread_create(ph, "t")
    kp = koid(p, ph)
    p.mx_handle_close(th)
    assert k.process(kp).state == "new"    # a thread of a new process
    p.mx_handle_close(ph)
    assert status(k.process, kp) == ERR_NOT_FOUND
    p.mx_handle_close(p.mx_job_default())
    assert k.stats() == Stats(0, 0, BASE_OBJECTS, 8)


def test_process_killed_through_transit(k: ModelKernel,
                                        p: ModelProcess) -> None:
    """A process whose last handle sits in a channel that is destroyed
    dies in the cascade; its table (holding more channels) is closed by
    the same cascade."""
    c0, c1 = p.mx_channel_create()
    inner0, inner1 = p.mx_channel_create()
    ph, th, child = spawn(k, boot=inner1)
    p.mx_channel_write(c0, b"", [ph, th])
    p.mx_handle_close(c1)
    assert child.state == "exited" and child.return_code == -1
    assert sigs(p, inner0) == CHANNEL_PEER_CLOSED
    p.mx_handle_close_many([c0, inner0, p.mx_job_default()])
    assert k.stats() == Stats(0, 0, BASE_OBJECTS, 6)


def test_kill_job_subtree(k: ModelKernel, p: ModelProcess) -> None:
    root = p.mx_job_default()
    port = p.mx_port_create()
    a = p.mx_job_create(root)
    b = p.mx_job_create(a)
    c = p.mx_job_create(a)
    kids = {}
    for name, job in (("a1", a), ("b1", b), ("c1", c), ("c2", c)):
        ph, th, child = spawn(k, name, job=job)
        p.mx_object_wait_async(ph, port, child.koid, TASK_TERMINATED,
                               WAIT_ASYNC_ONCE)
        kids[name] = (ph, child)
    p.mx_task_kill(a)
    # depth first, newest child first, each job's processes newest first
    assert [x.key for x in drain(p, port)] == [
        kids[n][1].koid for n in ("a1", "c2", "c1", "b1")]
    for _ph, child in kids.values():
        assert (child.state, child.return_code) == ("exited", -1)
    assert p.mx_object_get_info(a, INFO_JOB_PROCESSES) == []
    assert p.mx_object_get_info(a, INFO_JOB_CHILDREN) == [koid(p, c),
                                                          koid(p, b)]
    for job in (a, b, c):
        assert status(p.mx_job_create, job) == ERR_BAD_STATE
    assert p.mx_object_get_info(root, INFO_JOB_PROCESSES) == [p.koid]
    p.mx_job_create(root)                      # the root is not killed


def test_kill_deep_job_chain_without_recursion(k: ModelKernel,
                                               p: ModelProcess) -> None:
    limit = sys.getrecursionlimit()
    j = p.mx_job_default()
    jobs = []
    for _ in range(limit * 2):
        j = p.mx_job_create(j)
        jobs.append(j)
    ph, th, child = spawn(k, job=j)
    p.mx_task_kill(jobs[0])
    assert child.state == "exited"
    # the chain unwinds when the handles go, each job releasing its parent
    p.mx_handle_close_many([ph, th] + jobs[1:])
    assert k.stats().live_objects["job"] == 2
    p.mx_handle_close(jobs[0])
    assert k.stats().live_objects == BASE_OBJECTS


def test_root_job_kill_kills_init(k: ModelKernel, p: ModelProcess) -> None:
    ph, th, child = spawn(k)
    p.mx_task_kill(p.mx_job_default())
    assert p.state == child.state == "exited"
    assert status(p.mx_event_create) == ERR_BAD_STATE
    assert k.stats().live_handles == 0


@pytest.mark.parametrize("how", ["wait_own_thread", "port_wait",
                                 "call_peer_in_own_table"])
def test_killed_process_blocked_calls_cancel(k: ModelKernel,
                                             p: ModelProcess,
                                             how: str) -> None:
    """SPEC §4 Tasks: a call of a process that was blocked when it died
    returns CANCELED, even when its death would also satisfy it."""
    if how == "wait_own_thread":
        ph = p.mx_process_create(p.mx_job_default(), "c")
        th = p.mx_thread_create(ph, "t")
        p.mx_process_start(ph, th, 0, 0, p.mx_handle_duplicate(
            th, RIGHT_SAME_RIGHTS), 0)
        child = k.process(koid(p, ph))
        join = _in_thread(child.mx_object_wait_one, child.start_info.arg1,
                          TASK_TERMINATED, TIME_INFINITE)
    elif how == "port_wait":
        port = p.mx_port_create()
        ph, th, child = spawn(k, boot=p.mx_handle_duplicate(
            port, RIGHT_SAME_RIGHTS))
        p.mx_object_wait_async(th, port, 1, TASK_TERMINATED, WAIT_ASYNC_ONCE)
        join = _in_thread(child.mx_port_wait, child.start_info.arg1,
                          TIME_INFINITE)
    else:
        ph, th, child = spawn(k)
        a, b = child.mx_channel_create()
        join = _in_thread(child.mx_channel_call, b, txid(1))
    _blocked(join)
    p.mx_task_kill(ph)
    x = join()
    assert isinstance(x, MxError)
    if how == "call_peer_in_own_table":
        assert (x.status, x.read_status) == (ERR_CALL_FAILED, ERR_CANCELED)
    else:
        assert x.status == ERR_CANCELED
    if how == "port_wait":
        assert [pk.key for pk in drain(p, port)] == [1]


def test_dying_process_ends_its_own_waits_first(k: ModelKernel,
                                                p: ModelProcess) -> None:
    """Its death ends its async waits before its threads and itself assert
    TASK_TERMINATED: its own waits on them never fire; init's do."""
    port = p.mx_port_create()
    ph = p.mx_process_create(p.mx_job_default(), "c")
    th = p.mx_thread_create(ph, "t")
    c0, c1 = p.mx_channel_create()
    p.mx_channel_write(c0, b"", [p.mx_handle_duplicate(th, RIGHT_SAME_RIGHTS),
                                 p.mx_handle_duplicate(ph, RIGHT_SAME_RIGHTS),
                                 p.mx_handle_duplicate(port,
                                                       RIGHT_SAME_RIGHTS)])
    p.mx_process_start(ph, th, 0, 0, c1, 0)
    child = k.process(koid(p, ph))
    _, (cth, cph, cport) = child.mx_channel_read(child.start_info.arg1)
    child.mx_object_wait_async(cth, cport, 1, TASK_TERMINATED,
                               WAIT_ASYNC_ONCE)
    child.mx_object_wait_async(cph, cport, 2, TASK_TERMINATED,
                               WAIT_ASYNC_ONCE)
    p.mx_object_wait_async(th, port, 3, TASK_TERMINATED, WAIT_ASYNC_ONCE)
    p.mx_object_wait_async(ph, port, 4, TASK_TERMINATED, WAIT_ASYNC_ONCE)
    p.mx_task_kill(ph)
    assert [x.key for x in drain(p, port)] == [3, 4]


def test_snapshot_task_states(k: ModelKernel, p: ModelProcess) -> None:
    p.mx_process_create(p.mx_job_default(), "n")
    ph2, th2, child = spawn(k, "r")
    ph3, th3, dead = spawn(k, "d")
    p.mx_task_kill(ph3)
    states = {x["name"]: x["state"] for x in k.snapshot()["processes"]}
    assert states == {"init": "running", "n": "new", "r": "running",
                      "d": "exited"}
    rows = {x["koid"]: x for x in k.snapshot()["objects"]}
    assert rows[koid(p, th3)]["signals"] == TASK_TERMINATED
    assert rows[dead.koid]["signals"] == TASK_TERMINATED
    assert rows[koid(p, th2)]["related_koid"] == child.koid


def test_process_lookup_of_tasks(k: ModelKernel, p: ModelProcess) -> None:
    ph = p.mx_process_create(p.mx_job_default(), "x")
    kp = koid(p, ph)
    view = k.process(kp)
    assert isinstance(view, ModelProcess) and view.koid == kp
    th = p.mx_thread_create(ph, "t")
    assert status(k.process, koid(p, th)) == ERR_NOT_FOUND
    p.mx_handle_close(ph)
    assert k.process(kp) is view            # the thread holds it
    p.mx_handle_close(th)
    assert status(k.process, kp) == ERR_NOT_FOUND
    assert status(view.mx_event_create) == ERR_BAD_STATE


def test_tasks_under_threads(k: ModelKernel, p: ModelProcess) -> None:
    """Spawning, killing and exiting from several threads keeps the counts
    exact."""
    root = p.mx_job_default()

    def worker() -> None:
        for i in range(50):
            job = p.mx_job_create(root)
            ph = p.mx_process_create(job, "w")
            th = p.mx_thread_create(ph, "w")
            p.mx_process_start(ph, th, 0, 0, p.mx_event_create(), 0)
            child = k.process(koid(p, ph))
            if i % 3 == 0:
                child.mx_process_exit(i)
            elif i % 3 == 1:
                p.mx_task_kill(job)
            p.mx_handle_close_many([job, ph, th])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN)
    assert k.stats().live_objects == BASE_OBJECTS
    assert k.stats().live_handles == 1
