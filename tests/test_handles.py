"""The handle syscalls, errors and stats of SPEC §2, §3, §4 (handles,
events) and §6, through the public API."""
from __future__ import annotations

import pickle

import pytest

import mxhandles as mx
from conftest import BOOT_OBJECTS, assert_baseline

EV_RIGHTS = mx.RIGHT_DUPLICATE | mx.RIGHT_TRANSFER | mx.RIGHT_READ | mx.RIGHT_WRITE


def status(exc_info: pytest.ExceptionInfo) -> int:
    return exc_info.value.status


# -- boot, constants, records -------------------------------------------------

def test_boot_state(kernel):
    st = kernel.stats()
    assert st.live_handles == 1
    assert st.in_transit_handles == 0
    assert st.live_objects == BOOT_OBJECTS
    assert st.destroyed_objects == 0
    init = kernel.init
    assert init.name == "init"
    assert init.start_info is None
    assert init.kernel is kernel
    assert kernel.process(init.koid) is init
    job = init.mx_job_default()
    assert job == init.mx_job_default() != mx.HANDLE_INVALID
    info = init.mx_object_get_info(job, mx.INFO_HANDLE_BASIC)
    assert info.type == mx.OBJ_TYPE_JOB
    assert info.rights == (mx.RIGHT_DUPLICATE | mx.RIGHT_TRANSFER | mx.RIGHT_READ
                           | mx.RIGHT_WRITE | mx.RIGHT_ENUMERATE
                           | mx.RIGHT_GET_PROPERTY | mx.RIGHT_SET_PROPERTY
                           | mx.RIGHT_GET_POLICY | mx.RIGHT_SET_POLICY)
    assert info.koid > 1 and info.related_koid == 0


def test_constants_values():
    assert (mx.NO_ERROR, mx.ERR_INTERNAL, mx.ERR_NOT_SUPPORTED) == (0, -1, -2)
    assert (mx.ERR_NO_RESOURCES, mx.ERR_NO_MEMORY, mx.ERR_CALL_FAILED) == (-3, -4, -5)
    assert (mx.ERR_INVALID_ARGS, mx.ERR_BAD_HANDLE, mx.ERR_WRONG_TYPE) == (-10, -11, -12)
    assert (mx.ERR_BAD_SYSCALL, mx.ERR_OUT_OF_RANGE, mx.ERR_BUFFER_TOO_SMALL) == (-13, -14, -15)
    assert (mx.ERR_BAD_STATE, mx.ERR_TIMED_OUT, mx.ERR_SHOULD_WAIT) == (-20, -21, -22)
    assert (mx.ERR_CANCELED, mx.ERR_PEER_CLOSED, mx.ERR_NOT_FOUND) == (-23, -24, -25)
    assert (mx.ERR_ALREADY_EXISTS, mx.ERR_ALREADY_BOUND, mx.ERR_UNAVAILABLE) == (-26, -27, -28)
    assert mx.ERR_ACCESS_DENIED == -30
    assert [int(getattr(mx, "RIGHT_" + n)) for n in (
        "NONE DUPLICATE TRANSFER READ WRITE EXECUTE MAP GET_PROPERTY "
        "SET_PROPERTY ENUMERATE DESTROY SET_POLICY GET_POLICY").split()] == \
        [0] + [1 << i for i in range(12)]
    assert mx.RIGHT_SAME_RIGHTS == 1 << 31
    assert (mx.CHANNEL_READABLE, mx.CHANNEL_WRITABLE, mx.CHANNEL_PEER_CLOSED) == (1, 2, 4)
    assert mx.EPAIR_PEER_CLOSED == 4 and mx.EVENT_SIGNALED == 8
    assert mx.EPAIR_SIGNALED == 8 and mx.TASK_TERMINATED == 8 and mx.PORT_READABLE == 1
    assert [getattr(mx, "USER_SIGNAL_%d" % i) for i in range(8)] == [1 << i for i in range(24, 32)]
    assert mx.USER_SIGNAL_ALL == 0xFF000000
    assert (mx.OBJ_TYPE_PROCESS, mx.OBJ_TYPE_THREAD, mx.OBJ_TYPE_CHANNEL,
            mx.OBJ_TYPE_EVENT, mx.OBJ_TYPE_EVENT_PAIR, mx.OBJ_TYPE_JOB,
            mx.OBJ_TYPE_PORT) == (1, 2, 4, 5, 16, 17, 20)
    assert mx.OBJ_PROP_WAITABLE == 1
    assert (mx.INFO_HANDLE_VALID, mx.INFO_HANDLE_BASIC, mx.INFO_PROCESS,
            mx.INFO_PROCESS_THREADS, mx.INFO_JOB_CHILDREN,
            mx.INFO_JOB_PROCESSES, mx.INFO_PROCESS_HANDLES) == (1, 2, 3, 4, 8, 9, 0x100)
    assert (mx.HANDLE_INVALID, mx.KOID_INVALID, mx.TIME_INFINITE) == (0, 0, 2**64 - 1)
    assert (mx.CHANNEL_READ_MAY_DISCARD, mx.CHANNEL_MAX_MSG_BYTES,
            mx.CHANNEL_MAX_MSG_HANDLES, mx.MAX_NAME_LEN) == (1, 65536, 1024, 32)
    assert (mx.WAIT_ASYNC_ONCE, mx.WAIT_ASYNC_REPEATING, mx.PKT_TYPE_USER,
            mx.PKT_TYPE_SIGNAL_ONE, mx.PKT_TYPE_SIGNAL_REP,
            mx.PORT_MAX_PACKETS) == (0, 1, 0, 1, 2, 4096)


def test_mxerror_shape(init):
    with pytest.raises(mx.MxError) as ei:
        init.mx_handle_close(12345)
    e = ei.value
    assert e.status == mx.ERR_BAD_HANDLE == -11
    assert e.name == "ERR_BAD_HANDLE"
    assert "mx_handle_close" in str(e)
    assert isinstance(e, mx.BadHandleError)
    again = pickle.loads(pickle.dumps(e))
    assert again.status == e.status and type(again) is type(e)


# -- create, duplicate, replace, close ------------------------------------------

def test_event_create_and_close(kernel, init):
    h = init.mx_event_create()
    assert 1 <= h <= 2**31 - 1
    info = init.mx_object_get_info(h, mx.INFO_HANDLE_BASIC)
    assert (info.type, info.rights, info.related_koid, info.props) == (
        mx.OBJ_TYPE_EVENT, EV_RIGHTS, 0, mx.OBJ_PROP_WAITABLE)
    assert kernel.stats().live_objects["event"] == 1
    init.mx_handle_close(h)
    st = kernel.stats()
    assert st.live_objects["event"] == 0 and st.destroyed_objects == 1
    assert_baseline(kernel)


def test_event_create_options(init):
    for bad, err in ((1, mx.ERR_INVALID_ARGS), (2**32, mx.ERR_INVALID_ARGS),
                     (-1, mx.ERR_INVALID_ARGS)):
        with pytest.raises(mx.MxError) as ei:
            init.mx_event_create(bad)
        assert status(ei) == err
    with pytest.raises(TypeError):
        init.mx_event_create("0")
    assert init.mx_event_create(options=False) > 0   # bool is an int


def test_eventpair_options(init):
    with pytest.raises(mx.MxError) as ei:
        init.mx_eventpair_create(1)
    assert status(ei) == mx.ERR_NOT_SUPPORTED
    with pytest.raises(mx.MxError) as ei:
        init.mx_eventpair_create(2**32)
    assert status(ei) == mx.ERR_INVALID_ARGS


def test_duplicate_rules(kernel, init):
    h = init.mx_event_create()
    d = init.mx_handle_duplicate(h, mx.RIGHT_SAME_RIGHTS)
    assert d != h
    bh = init.mx_object_get_info(h, mx.INFO_HANDLE_BASIC)
    bd = init.mx_object_get_info(d, mx.INFO_HANDLE_BASIC)
    assert bh.koid == bd.koid and bd.rights == EV_RIGHTS
    r = init.mx_handle_duplicate(h, mx.RIGHT_READ)
    assert init.mx_object_get_info(r, mx.INFO_HANDLE_BASIC).rights == mx.RIGHT_READ
    # No DUPLICATE right on r.
    with pytest.raises(mx.MxError) as ei:
        init.mx_handle_duplicate(r, mx.RIGHT_SAME_RIGHTS)
    assert status(ei) == mx.ERR_ACCESS_DENIED
    # Not a subset.
    with pytest.raises(mx.MxError) as ei:
        init.mx_handle_duplicate(h, mx.RIGHT_ENUMERATE)
    assert status(ei) == mx.ERR_INVALID_ARGS
    # Zero rights is a valid subset.
    z = init.mx_handle_duplicate(h, 0)
    assert init.mx_object_get_info(z, mx.INFO_HANDLE_BASIC).rights == 0
    # Access is checked before the subset.
    with pytest.raises(mx.MxError) as ei:
        init.mx_handle_duplicate(z, mx.RIGHT_ENUMERATE)
    assert status(ei) == mx.ERR_ACCESS_DENIED
    assert kernel.stats().live_handles == 1 + 4


def test_replace_rules(kernel, init):
    h = init.mx_event_create()
    koid = init.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).koid
    ro = init.mx_handle_duplicate(h, mx.RIGHT_READ)
    # Replace needs no DUPLICATE right.
    r2 = init.mx_handle_replace(ro, 0)
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_get_info(ro, mx.INFO_HANDLE_VALID)
    assert status(ei) == mx.ERR_BAD_HANDLE
    assert init.mx_object_get_info(r2, mx.INFO_HANDLE_BASIC) == (
        koid, 0, mx.OBJ_TYPE_EVENT, 0, 1)
    # Failure leaves h untouched.
    with pytest.raises(mx.MxError) as ei:
        init.mx_handle_replace(r2, mx.RIGHT_READ)
    assert status(ei) == mx.ERR_INVALID_ARGS
    init.mx_object_get_info(r2, mx.INFO_HANDLE_VALID)
    same = init.mx_handle_replace(h, mx.RIGHT_SAME_RIGHTS)
    assert init.mx_object_get_info(same, mx.INFO_HANDLE_BASIC).rights == EV_RIGHTS
    assert kernel.stats().live_handles == 1 + 2


def test_close_invalid(init):
    for v in (mx.HANDLE_INVALID, -1, 2**31, 2**32 + 5, 2**64 + 1, 7):
        with pytest.raises(mx.MxError) as ei:
            init.mx_handle_close(v)
        assert status(ei) == mx.ERR_BAD_HANDLE
    for v in ("1", 1.0, None, b"1", [1]):
        with pytest.raises(TypeError):
            init.mx_handle_close(v)


def test_close_many(kernel, init):
    hs = [init.mx_event_create() for _ in range(5)]
    init.mx_handle_close_many(hs[:2])
    with pytest.raises(mx.MxError) as ei:
        init.mx_handle_close_many([hs[2], 0, hs[3], hs[3]])
    assert status(ei) == mx.ERR_BAD_HANDLE
    for h in hs[:4]:
        with pytest.raises(mx.MxError):
            init.mx_object_get_info(h, mx.INFO_HANDLE_VALID)
    # A non-int item: TypeError before anything is closed.
    with pytest.raises(TypeError):
        init.mx_handle_close_many([hs[4], "x"])
    init.mx_object_get_info(hs[4], mx.INFO_HANDLE_VALID)
    init.mx_handle_close_many(iter([hs[4]]))
    init.mx_handle_close_many([])
    assert kernel.stats().live_objects["event"] == 0


def test_argument_classes(init):
    h = init.mx_event_create()
    for v in (-1, 0, 2**31, 2**63, 2**64 + 1):
        with pytest.raises(mx.MxError) as ei:
            init.mx_handle_duplicate(v, mx.RIGHT_SAME_RIGHTS)
        assert status(ei) == mx.ERR_BAD_HANDLE
    for r in (-1, 2**32, 2**64 + 1):
        for fn in (init.mx_handle_duplicate, init.mx_handle_replace):
            with pytest.raises(mx.MxError) as ei:
                fn(h, r)
            assert status(ei) == mx.ERR_INVALID_ARGS
            # Rights range comes before any handle check.
            with pytest.raises(mx.MxError) as ei:
                fn(0, r)
            assert status(ei) == mx.ERR_INVALID_ARGS

    class Idx:
        def __init__(self, v):
            self.v = v

        def __index__(self):
            return int(self.v)

    class BadIdx:
        def __index__(self):
            raise ValueError("nope")

    d = init.mx_handle_duplicate(Idx(h), Idx(mx.RIGHT_READ))
    assert init.mx_object_get_info(d, mx.INFO_HANDLE_BASIC).rights == mx.RIGHT_READ
    with pytest.raises(mx.MxError) as ei:
        init.mx_handle_close(Idx(2**70))
    assert status(ei) == mx.ERR_BAD_HANDLE
    for bad in ("1", 1.5, None, BadIdx(), object()):
        with pytest.raises(TypeError):
            init.mx_handle_duplicate(bad, 0)
        with pytest.raises(TypeError):
            init.mx_handle_duplicate(h, bad)
        with pytest.raises(TypeError):
            init.mx_object_get_info(bad, mx.INFO_HANDLE_VALID)


def test_get_info_topics(init):
    h = init.mx_event_create()
    assert init.mx_object_get_info(h, mx.INFO_HANDLE_VALID) is None
    for topic in (0, 7, 2**40, -3):
        with pytest.raises(mx.MxError) as ei:
            init.mx_object_get_info(h, topic)
        assert status(ei) == mx.ERR_NOT_SUPPORTED
    # The topic is checked first.
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_get_info(0, 7)
    assert status(ei) == mx.ERR_NOT_SUPPORTED
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_get_info(0, mx.INFO_HANDLE_BASIC)
    assert status(ei) == mx.ERR_BAD_HANDLE


# -- values ------------------------------------------------------------------------

def test_values_are_per_process_and_in_range(kernel, init):
    seen = set()
    for _ in range(2000):
        h = init.mx_event_create()
        assert 1 <= h <= 2**31 - 1 and h not in seen
        seen.add(h)
    assert kernel.stats().live_objects["event"] == 2000


def test_stale_value_survives_a_million_allocations(init):
    h = init.mx_event_create()
    keep = init.mx_handle_duplicate(h, mx.RIGHT_SAME_RIGHTS)
    init.mx_handle_close(h)
    dup, close = init.mx_handle_duplicate, init.mx_handle_close
    same = mx.RIGHT_SAME_RIGHTS
    for _ in range(1_000_000):
        v = dup(keep, same)
        if v == h:
            raise AssertionError("stale value handed out again")
        close(v)
    with pytest.raises(mx.MxError) as ei:
        init.mx_handle_close(h)
    assert status(ei) == mx.ERR_BAD_HANDLE


def test_seed_determinism():
    def run(seed):
        k = mx.Kernel(seed=seed)
        p = k.init
        hs = [p.mx_event_create() for _ in range(20)]
        d = [p.mx_handle_duplicate(h, mx.RIGHT_READ) for h in hs[:5]]
        p.mx_handle_close_many(hs[5:10])
        more = [p.mx_event_create() for _ in range(5)]
        koids = [p.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).koid for h in more]
        return hs + d + more + koids + [p.mx_job_default()]

    assert run(7) == run(7)
    a, b = run(7), run(8)
    assert a[:20] != b[:20]


def test_unseeded_kernels_differ():
    a = [mx.Kernel().init.mx_event_create() for _ in range(4)]
    assert len(set(a)) > 1


# -- limits -------------------------------------------------------------------------

def test_max_handles(init):
    k = mx.Kernel(max_handles=10)
    p = k.init
    hs = [p.mx_event_create() for _ in range(9)]    # + root job handle = 10
    before = k.stats()
    for fn in (p.mx_event_create, p.mx_eventpair_create,
               lambda: p.mx_handle_duplicate(hs[0], mx.RIGHT_SAME_RIGHTS)):
        with pytest.raises(mx.MxError) as ei:
            fn()
        assert status(ei) == mx.ERR_NO_RESOURCES
    assert k.stats() == before
    hs[0] = p.mx_handle_replace(hs[0], mx.RIGHT_READ)     # replace still works
    assert k.stats().live_handles == 10
    p.mx_handle_close(hs.pop())
    a, = [p.mx_event_create()]
    assert a > 0
    p.mx_handle_close_many(hs + [a])
    with pytest.raises(ValueError):
        mx.Kernel(max_handles=0)
    with pytest.raises(TypeError):
        mx.Kernel(max_handles="10")


def test_default_max_handles_allows_2_24():
    from mxhandles import _core
    assert _core.DEFAULT_MAX_HANDLES >= 2**24
    assert _core.PROC_MAX_SLOTS >= 2**24


# -- event pairs and signals ---------------------------------------------------------

def test_eventpair(kernel, init):
    a, b = init.mx_eventpair_create()
    ia = init.mx_object_get_info(a, mx.INFO_HANDLE_BASIC)
    ib = init.mx_object_get_info(b, mx.INFO_HANDLE_BASIC)
    assert ia.type == ib.type == mx.OBJ_TYPE_EVENT_PAIR
    assert ia.related_koid == ib.koid and ib.related_koid == ia.koid
    assert kernel.stats().live_objects["eventpair"] == 2
    init.mx_object_signal_peer(a, 0, mx.EPAIR_SIGNALED | mx.USER_SIGNAL_3)
    init.mx_handle_close(a)
    assert kernel.stats().live_objects["eventpair"] == 1
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_signal_peer(b, 0, mx.USER_SIGNAL_0)
    assert status(ei) == mx.ERR_PEER_CLOSED
    assert init.mx_object_get_info(b, mx.INFO_HANDLE_BASIC).related_koid == ia.koid
    init.mx_handle_close(b)
    assert_baseline(kernel)
    assert kernel.stats().destroyed_objects == 2


def test_signal_rules(init):
    e = init.mx_event_create()
    init.mx_object_signal(e, 0, mx.EVENT_SIGNALED | mx.USER_SIGNAL_ALL)
    init.mx_object_signal(e, mx.USER_SIGNAL_ALL, 0)
    for clear, set_ in ((mx.EPAIR_PEER_CLOSED, 0), (0, 1), (1 << 23, 0)):
        with pytest.raises(mx.MxError) as ei:
            init.mx_object_signal(e, clear, set_)
        assert status(ei) == mx.ERR_INVALID_ARGS
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_signal_peer(e, 0, mx.USER_SIGNAL_0)
    assert status(ei) == mx.ERR_NOT_SUPPORTED
    ro = init.mx_handle_duplicate(e, mx.RIGHT_READ)
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_signal(ro, 0, 1)      # ACCESS_DENIED before INVALID_ARGS
    assert status(ei) == mx.ERR_ACCESS_DENIED
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_signal(e, 0, 2**32)
    assert status(ei) == mx.ERR_INVALID_ARGS
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_signal(0, 0, 2**32)   # range before the handle
    assert status(ei) == mx.ERR_INVALID_ARGS
    a, b = init.mx_eventpair_create()
    with pytest.raises(mx.MxError) as ei:
        init.mx_object_signal(a, 0, mx.EVENT_SIGNALED << 1)
    assert status(ei) == mx.ERR_INVALID_ARGS


# -- kernels are independent ------------------------------------------------------------

def test_kernels_share_nothing():
    k1, k2 = mx.Kernel(seed=1), mx.Kernel(seed=1)
    h = k1.init.mx_event_create()
    assert k2.stats().live_objects["event"] == 0
    # Same seed, same calls: the same value, but it names nothing in k2 yet.
    assert k2.init.mx_event_create() == h
    k1.init.mx_handle_close(h)
    k2.init.mx_object_get_info(h, mx.INFO_HANDLE_VALID)


def test_kernel_process_lookup(kernel):
    with pytest.raises(mx.MxError) as ei:
        kernel.process(999999)
    assert status(ei) == mx.ERR_NOT_FOUND
    with pytest.raises(TypeError):
        kernel.process("1025")


def test_many_kernels_are_freed():
    import gc
    for _ in range(200):
        k = mx.Kernel()
        p = k.init
        hs = [p.mx_event_create() for _ in range(50)]
        p.mx_eventpair_create()
        del k, p, hs
    gc.collect()
