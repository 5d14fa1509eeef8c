"""Tests of the pure-Python model (mxhandles.model) against SPEC.md.

The model is the oracle of the differential tests, so these pin it to the
contract directly: results, error statuses and their order, lifetimes and
stats().
"""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from mxhandles.constants import (
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
    OBJ_TYPE_EVENT,
    OBJ_TYPE_EVENT_PAIR,
    OBJ_TYPE_JOB,
    RIGHT_DUPLICATE,
    RIGHT_ENUMERATE,
    RIGHT_READ,
    RIGHT_SAME_RIGHTS,
    RIGHT_TRANSFER,
    RIGHT_WRITE,
    USER_SIGNAL_0,
    USER_SIGNAL_7,
    USER_SIGNAL_ALL,
)
from mxhandles.errors import (
    ERR_ACCESS_DENIED,
    ERR_BAD_HANDLE,
    ERR_INVALID_ARGS,
    ERR_NO_RESOURCES,
    ERR_NOT_FOUND,
    ERR_NOT_SUPPORTED,
    ERR_PEER_CLOSED,
    ERR_WRONG_TYPE,
    MxError,
)
from mxhandles.model import FIRST_KOID, ModelKernel, ModelProcess
from mxhandles.records import HandleBasic, Stats

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
