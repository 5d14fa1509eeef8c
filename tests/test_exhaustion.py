"""Kernel(max_handles=N) at its limit (SPEC §2).

At the limit, every call that adds live handles -- every create and
duplicate, from any process -- fails with ``ERR_NO_RESOURCES`` and changes
nothing (``stats()`` and ``snapshot()`` equal before and after), while the
calls that only move or swap handles (replace, read, call, process_start,
write) and every call that adds none still succeed.  Once handles are
closed, every create works again.  The limit is exact whichever processes
hold the handles (each process pre-charges handles from the kernel in
chunks: see docs/design.md), and under threads it is never exceeded.

Every test runs on the C-backed ``Kernel`` and on the pure-Python
``ModelKernel``.
"""
from __future__ import annotations

import random
import threading

import pytest

import mxhandles as mx
from mxhandles.model import ModelKernel
from conftest import Threads


@pytest.fixture(params=[mx.Kernel, ModelKernel], ids=["kernel", "model"])
def cls(request):
    return request.param


def koid(p, h):
    return p.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).koid


def table_size(k, proc):
    """How many handles ``proc`` holds (from the snapshot)."""
    return len([p for p in k.snapshot()["processes"]
                if p["koid"] == proc.koid][0]["handles"])


def status(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except mx.MxError as e:
        return e.status
    return mx.NO_ERROR


class Full:
    """A kernel of ``limit`` handles with a bit of everything in it (a
    started child with its bootstrap channel, a second child created but
    not started, a port, events, an event pair, a channel with a message
    carrying a handle queued), filled to ``limit - spare`` with events
    spread over init and the child."""

    def __init__(self, cls, limit=200, spare=0, seed=7):
        self.k = k = cls(seed=seed, max_handles=limit)
        self.limit = limit
        self.started = []
        k.on_process_start = lambda proc, si: self.started.append(proc.koid)
        self.init = p = k.init
        self.root = p.mx_job_default()
        self.job = p.mx_job_create(self.root)
        self.ph = p.mx_process_create(self.job, "child")
        self.th = p.mx_thread_create(self.ph, "main")
        self.boot_peer, boot = p.mx_channel_create()
        p.mx_process_start(self.ph, self.th, "entry", "stack", boot, 0)
        self.child = k.process(koid(p, self.ph))
        self.cboot = self.child.start_info.arg1
        self.new_ph = p.mx_process_create(self.job, "unstarted")
        self.new_th = p.mx_thread_create(self.new_ph, "main")
        self.port = p.mx_port_create()
        self.ev = p.mx_event_create()
        self.e0, self.e1 = p.mx_eventpair_create()
        self.a, self.b = p.mx_channel_create()
        p.mx_channel_write(self.a, b"queued", [p.mx_event_create()])
        self.cev = self.child.mx_event_create()
        self.fill = {p: [], self.child: []}
        for i in range(limit - spare - k.stats().live_handles):
            q = (p, self.child)[i % 2]
            self.fill[q].append(q.mx_event_create())
        assert k.stats().live_handles == limit - spare

    def state(self):
        return self.k.stats(), self.k.snapshot()

    def release(self, n):
        """Closes ``n`` of the filler events (the child's first)."""
        for q in (self.child, self.init):
            while n and self.fill[q]:
                q.mx_handle_close(self.fill[q].pop())
                n -= 1
        assert n == 0


#: Every call that adds live handles, as (name, added, call(full, proc)).
#: Each is tried from init and from the started child (where it makes
#: sense for the child: it has its own event and bootstrap channel).
ADDERS = [
    ("mx_event_create", 1, lambda f, q: q.mx_event_create()),
    ("mx_eventpair_create", 2, lambda f, q: q.mx_eventpair_create()),
    ("mx_channel_create", 2, lambda f, q: q.mx_channel_create()),
    ("mx_port_create", 1, lambda f, q: q.mx_port_create()),
    ("mx_handle_duplicate", 1, lambda f, q: q.mx_handle_duplicate(
        f.ev if q is f.init else f.cev, mx.RIGHT_SAME_RIGHTS)),
    ("mx_handle_duplicate(rights)", 1, lambda f, q: q.mx_handle_duplicate(
        f.ev if q is f.init else f.cev, mx.RIGHT_READ)),
]
#: Task creates need init's job and process handles.
INIT_ADDERS = [
    ("mx_job_create", 1, lambda f, q: q.mx_job_create(f.job)),
    ("mx_job_create(root)", 1, lambda f, q: q.mx_job_create(f.root)),
    ("mx_process_create", 1, lambda f, q: q.mx_process_create(f.job, "x")),
    ("mx_thread_create", 1, lambda f, q: q.mx_thread_create(f.ph, "t2")),
    ("mx_thread_create(new)", 1,
     lambda f, q: q.mx_thread_create(f.new_ph, "t2")),
    ("mx_handle_duplicate(job)", 1,
     lambda f, q: q.mx_handle_duplicate(f.job, mx.RIGHT_SAME_RIGHTS)),
    ("mx_handle_duplicate(process)", 1,
     lambda f, q: q.mx_handle_duplicate(f.ph, mx.RIGHT_SAME_RIGHTS)),
    ("mx_handle_duplicate(port)", 1,
     lambda f, q: q.mx_handle_duplicate(f.port, mx.RIGHT_SAME_RIGHTS)),
]
CASES = ([(name, n, fn, "init") for name, n, fn in ADDERS + INIT_ADDERS]
         + [(name, n, fn, "child") for name, n, fn in ADDERS])


def _who(f, who):
    return f.init if who == "init" else f.child


def _close_result(q, result):
    q.mx_handle_close_many(list(result) if isinstance(result, tuple)
                           else [result])


@pytest.mark.parametrize("name,added,call,who", CASES,
                         ids=["%s-%s" % (c[0], c[3]) for c in CASES])
def test_adders_fail_at_the_limit_and_change_nothing(cls, name, added, call,
                                                     who):
    f = Full(cls)
    q = _who(f, who)
    before = f.state()
    for _ in range(3):          # again and again: still nothing changes
        assert status(call, f, q) == mx.ERR_NO_RESOURCES, name
        assert f.state() == before, name
    # With one handle free, a single create fits and a pair still does not.
    f.release(1)
    before = f.state()
    if added == 2:
        assert status(call, f, q) == mx.ERR_NO_RESOURCES, name
        assert f.state() == before, name
        f.release(1)
    result = call(f, q)
    assert f.k.stats().live_handles == f.limit
    assert status(call, f, q) == mx.ERR_NO_RESOURCES, name
    _close_result(q, result)
    # Closing made room: the same call works again, and again fails.
    result = call(f, q)
    assert f.k.stats().live_handles == f.limit
    _close_result(q, result)


def test_a_failed_create_uses_no_koid_and_no_value(cls):
    """After NO_RESOURCES, the next create gets the koid and handle value it
    would have got had the failed calls never been made."""
    runs = []
    for fail in (False, True):
        f = Full(cls, seed=11)
        f.release(2)
        if fail:
            p = f.init
            p.mx_handle_close(p.mx_event_create())  # same churn both runs
            p.mx_handle_close(p.mx_event_create())
            ok = [p.mx_event_create(), p.mx_event_create()]
            for _name, _n, call in ADDERS + INIT_ADDERS:
                assert status(call, f, p) == mx.ERR_NO_RESOURCES
            p.mx_handle_close_many(ok)
        else:
            p = f.init
            p.mx_handle_close(p.mx_event_create())
            p.mx_handle_close(p.mx_event_create())
            p.mx_handle_close_many([p.mx_event_create(), p.mx_event_create()])
        h = p.mx_process_create(f.job, "after")
        e = p.mx_event_create()
        runs.append((h, koid(p, h), e, koid(p, e)))
    assert runs[0] == runs[1]


def test_moves_and_swaps_still_succeed_at_the_limit(cls):
    f = Full(cls)
    k, p, c = f.k, f.init, f.child
    full = f.limit

    def at_limit():
        assert k.stats().live_handles == full
        assert status(p.mx_event_create) == mx.ERR_NO_RESOURCES
        assert status(c.mx_event_create) == mx.ERR_NO_RESOURCES

    at_limit()
    # replace, with fewer rights and the same, in both processes.
    f.ev = p.mx_handle_replace(f.ev, mx.RIGHT_SAME_RIGHTS)
    f.cev = c.mx_handle_replace(f.cev, mx.RIGHT_READ | mx.RIGHT_TRANSFER
                                | mx.RIGHT_DUPLICATE)
    f.fill[p][0] = p.mx_handle_replace(f.fill[p][0], 0)
    at_limit()
    # write: handles into transit (init -> child, child -> init).
    p.mx_channel_write(f.boot_peer, b"to child", [f.fill[p].pop(), f.ev])
    c.mx_channel_write(f.cboot, b"to init", [f.fill[c].pop()])
    assert k.stats().in_transit_handles == 4    # with the one queued at b
    at_limit()
    # read: handles out of transit into the reader's table.
    data, got = c.mx_channel_read(f.cboot)
    assert data == b"to child" and len(got) == 2
    f.fill[c].append(got[0])
    f.cev2 = got[1]
    data, got = p.mx_channel_read(f.boot_peer)
    assert data == b"to init" and len(got) == 1
    f.fill[p].append(got[0])
    data, got = p.mx_channel_read(f.b)
    assert data == b"queued" and len(got) == 1
    f.fill[p].append(got[0])
    at_limit()
    # read with CHANNEL_READ_MAY_DISCARD: the message's handles are closed.
    p.mx_channel_write(f.a, b"big", [f.fill[p].pop()])
    with pytest.raises(mx.MxError) as ei:
        p.mx_channel_read(f.b, options=mx.CHANNEL_READ_MAY_DISCARD,
                          max_bytes=0)
    assert ei.value.status == mx.ERR_BUFFER_TOO_SMALL
    assert k.stats().live_handles == full - 1
    f.fill[p].append(p.mx_event_create())
    at_limit()
    # call: the request's handles leave, the reply's arrive.
    def server():
        while True:
            try:
                data, hs = c.mx_channel_read(f.cboot)
                break
            except mx.MxError as err:
                if err.status != mx.ERR_SHOULD_WAIT:
                    raise
                c.mx_object_wait_one(f.cboot, mx.CHANNEL_READABLE,
                                     mx.deadline_after(5 * 10**9))
        c.mx_channel_write(f.cboot, data[:4] + b"reply", hs + [f.fill[c].pop()])
        return len(hs)

    th = Threads()
    th.start(server, name="server")
    txid = b"\x07\x00\x00\x00"
    data, got = p.mx_channel_call(f.boot_peer, txid + b"req",
                                  [f.fill[p].pop(), f.fill[p].pop()],
                                  mx.deadline_after(10 * 10**9))
    th.join()
    assert th.results["server"] == 2
    assert data == txid + b"reply" and len(got) == 3
    f.fill[p] += got
    at_limit()
    # process_start moves the bootstrap handle into the new process.
    p.mx_process_start(f.new_ph, f.new_th, "e", "s", f.fill[p].pop(), 9)
    new = k.process(koid(p, f.new_ph))
    assert f.started[-1] == new.koid and new.start_info.arg2 == 9
    assert new.mx_object_get_info(new.start_info.arg1,
                                  mx.INFO_HANDLE_BASIC).type == \
        mx.OBJ_TYPE_EVENT
    at_limit()
    assert status(new.mx_event_create) == mx.ERR_NO_RESOURCES
    # Calls that add no handle: signals, waits, ports, info, job_default.
    p.mx_object_signal(f.e0, 0, mx.EPAIR_SIGNALED)
    p.mx_object_signal_peer(f.e0, 0, mx.USER_SIGNAL_0)
    assert p.mx_object_wait_one(f.e0, mx.EPAIR_SIGNALED, 0) & \
        mx.EPAIR_SIGNALED
    assert len(p.mx_object_wait_many([(f.e0, mx.EPAIR_SIGNALED),
                                      (f.e1, mx.USER_SIGNAL_0)], 0)) == 2
    p.mx_object_wait_async(f.e0, f.port, 5, mx.EPAIR_SIGNALED,
                           mx.WAIT_ASYNC_ONCE)
    p.mx_port_queue(f.port, mx.PortPacket(6, 0, b"user"))
    assert p.mx_port_wait(f.port, 0).key == 5
    assert p.mx_port_wait(f.port, 0).key == 6
    p.mx_object_wait_async(f.e1, f.port, 8, mx.USER_SIGNAL_7,
                           mx.WAIT_ASYNC_REPEATING)
    p.mx_port_cancel(f.port, f.e1, 8)
    assert p.mx_job_default() == f.root
    assert p.mx_object_get_info(f.ph, mx.INFO_PROCESS_HANDLES)
    assert p.mx_object_get_info(f.job, mx.INFO_JOB_PROCESSES)
    assert p.mx_object_get_info(f.ph, mx.INFO_PROCESS_THREADS)
    at_limit()
    # Closing frees: the limit then allows exactly as many creates.
    p.mx_handle_close_many(f.fill[p][:3])
    del f.fill[p][:3]
    more = [p.mx_event_create() for _ in range(3)]
    at_limit()
    p.mx_handle_close_many(more)
    # Death frees: killing the child closes its table.
    held = k.stats().live_handles
    in_child = table_size(k, c)
    p.mx_task_kill(f.ph)
    assert k.stats().live_handles == held - in_child
    # and the kernel fills up to exactly the limit again.
    extra = []
    while True:
        try:
            extra.append(p.mx_event_create())
        except mx.MxError as err:
            assert err.status == mx.ERR_NO_RESOURCES
            break
    assert len(extra) == 3 + in_child
    assert k.stats().live_handles == full
    assert status(c.mx_event_create) == mx.ERR_BAD_STATE   # dead: first


def test_thread_start_and_exit_at_the_limit(cls):
    f = Full(cls)
    k, p, c = f.k, f.init, f.child
    f.release(1)
    t2 = p.mx_thread_create(f.ph, "second")
    assert k.stats().live_handles == f.limit
    p.mx_thread_start(t2, "entry", "stack", 1, 2)   # moves nothing, adds nothing
    assert k.stats().live_handles == f.limit
    held = table_size(k, c)
    c.mx_process_exit(3)                            # closes the child's table
    assert k.stats().live_handles == f.limit - held
    assert p.mx_object_get_info(f.ph, mx.INFO_PROCESS).return_code == 3
    p.mx_handle_close(t2)


def _three_children(k):
    """A job of init's with three started children (each holding its
    bootstrap channel end); returns the job's handle and [init, children]."""
    p = k.init
    job = p.mx_job_create(p.mx_job_default())
    procs = [p]
    for i in range(3):
        ph = p.mx_process_create(job, "p%d" % i)
        th = p.mx_thread_create(ph, "t")
        a, b = p.mx_channel_create()
        p.mx_process_start(ph, th, None, None, b, 0)
        procs.append(k.process(koid(p, ph)))
        p.mx_handle_close(a)        # (closing th would kill the child)
    return job, procs


@pytest.mark.parametrize("limit", [1, 2, 63, 64, 65, 129, 1000])
def test_the_limit_is_exact_across_processes(cls, limit):
    """Whichever processes create, live handles stop at exactly ``limit``:
    reserves a process pre-charged are taken back when the kernel runs dry."""
    rng = random.Random(limit)
    k = cls(seed=limit, max_handles=limit + 11)
    p = k.init
    job, procs = _three_children(k)
    base = k.stats().live_handles   # init: root job, job, 3 x (process,
    assert base == 11               # thread); each child its bootstrap
    held = {q: [] for q in procs}
    for _ in range(3):
        while True:
            q = rng.choice(procs)
            try:
                held[q].append(q.mx_event_create())
            except mx.MxError as e:
                assert e.status == mx.ERR_NO_RESOURCES
                break
        assert k.stats().live_handles == limit + base
        for q in procs:
            assert status(q.mx_event_create) == mx.ERR_NO_RESOURCES
        # free a few in one process, fill from another
        for q in procs:
            n = rng.randrange(len(held[q]) + 1)
            q.mx_handle_close_many(held[q][:n])
            del held[q][:n]
    p.mx_task_kill(job)
    p.mx_handle_close(job)


def test_threads_never_exceed_the_limit(cls):
    """Threads in four processes create, duplicate and close at once; the
    kernel never holds more than the limit, and at the end fills to it
    exactly."""
    limit = 500
    k = cls(max_handles=limit)
    p = k.init
    job, procs = _three_children(k)
    stop = threading.Event()
    peak = [0]
    refused = [0]

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], k.stats().live_handles)

    def work(q, seed):
        rng = random.Random(seed)
        mine = []
        for _ in range(4000):
            r = rng.random()
            try:
                if r < 0.45 or not mine:
                    mine.append(q.mx_event_create())
                elif r < 0.6:
                    mine.append(q.mx_handle_duplicate(rng.choice(mine),
                                                      mx.RIGHT_SAME_RIGHTS))
                elif r < 0.7:
                    mine.extend(q.mx_eventpair_create())
                else:
                    q.mx_handle_close(mine.pop(rng.randrange(len(mine))))
            except mx.MxError as e:
                assert e.status == mx.ERR_NO_RESOURCES
                refused[0] += 1
        return mine

    th = Threads()
    th.start(watch)
    for i, q in enumerate(procs):
        th.start(work, q, i, name=i)
    for t in th.threads[1:]:
        t.join(30)
    stop.set()
    th.join()
    assert peak[0] <= limit
    assert refused[0] > 0, "the workload never reached the limit"
    while True:
        try:
            th.results[0].append(p.mx_event_create())
        except mx.MxError as e:
            assert e.status == mx.ERR_NO_RESOURCES
            break
    assert k.stats().live_handles == limit
    for i, q in enumerate(procs):
        q.mx_handle_close_many(th.results[i])
    p.mx_task_kill(job)
    p.mx_handle_close(job)
