"""Two threads racing on the same handles, round after round (SPEC §8).

Each race is a setup, two actions started together (two long-lived threads
released by one barrier, a random spin before one of them so that both
orders happen) and a check.  After every round the outcome must be one that
some order of the two actions gives, and the kernel's invariants hold:

- ``stats()`` agrees with ``snapshot()``: live objects by type, live and
  in-transit handles, each object's handle count;
- every object is destroyed exactly once: koids are handed out in order and
  never reused, so the number of objects ever created is the next koid minus
  the first, and it must equal live objects plus ``destroyed_objects``;
- no message is lost or duplicated: what a round wrote is what it reads.

Each race runs for a bounded time (``ROUND_SECONDS``) or ``ROUNDS`` rounds,
whichever ends first; the switch interval is shortened so that the GIL
changes hands between the two threads' calls.
"""
from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter

import pytest

import conftest
import mxhandles as mx
from conftest import Threads, assert_baseline

ROUNDS = 3000
ROUND_SECONDS = 0.3
#: With at least this many rounds, a race with two orders must show both.
BOTH_AFTER = 100
FIRST_KOID = 1024
TYPE_KEYS = {mx.OBJ_TYPE_EVENT: "event", mx.OBJ_TYPE_EVENT_PAIR: "eventpair",
             mx.OBJ_TYPE_CHANNEL: "channel", mx.OBJ_TYPE_PORT: "port",
             mx.OBJ_TYPE_JOB: "job", mx.OBJ_TYPE_PROCESS: "process",
             mx.OBJ_TYPE_THREAD: "thread"}
#: Rounds run by every race of this module, and how each came out.
RUN = Counter()
SEEN = {}


@pytest.fixture(autouse=True)
def switch_often():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def koid(p, h):
    return p.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).koid


def attempt(fn, *args):
    try:
        return "ok", fn(*args)
    except mx.MxError as e:
        return "err", e.status


def check_invariants(k):
    """stats() agrees with snapshot(), and every object ever made is either
    alive or was destroyed exactly once.  Call when no thread is busy."""
    st, snap = k.stats(), k.snapshot()
    objects = {o["koid"]: o for o in snap["objects"]}
    by_type = Counter(TYPE_KEYS[o["type"]] for o in objects.values())
    assert st.live_objects == {key: by_type.get(key, 0)
                               for key in TYPE_KEYS.values()}
    held = Counter()
    for p in snap["processes"]:
        for h in p["handles"]:
            held[h["koid"]] += 1
        assert p["koid"] in objects
        assert p["state"] != "exited" or not p["handles"]
    transit = 0
    for m in snap["messages"]:
        assert objects[m["endpoint_koid"]]["type"] == mx.OBJ_TYPE_CHANNEL
        for x in m["handle_koids"]:
            held[x] += 1
            transit += 1
    assert st.in_transit_handles == transit
    assert st.live_handles == sum(held.values())
    for x, o in objects.items():
        assert o["handle_count"] == held.pop(x, 0), o
    assert not held, "handles to objects not alive: %r" % held
    assert {p["koid"] for p in snap["processes"]} == \
        {x for x, o in objects.items() if o["type"] == mx.OBJ_TYPE_PROCESS}
    # Destroyed exactly once: a probe event's koid counts every object made.
    p = k.init
    probe = p.mx_event_create()
    made = koid(p, probe) - FIRST_KOID + 1
    p.mx_handle_close(probe)
    st = k.stats()
    assert sum(st.live_objects.values()) + st.destroyed_objects == made


class Race:
    """Two worker threads that run ``a(ctx)`` and ``b(ctx)`` together, once
    per round, and hand back their outcomes."""

    def __init__(self, a, b, seed=0):
        self.a, self.b = a, b
        self.rng = random.Random(seed)
        self.start = threading.Barrier(3)
        self.done = threading.Barrier(3)
        self.ctx = None
        self.spin = (0, 0)
        self.out = [None, None]
        self.stop = False
        self.threads = Threads()
        for i, fn in enumerate((a, b)):
            self.threads.start(self._work, i, fn)

    def _work(self, i, fn):
        while True:
            self.start.wait()
            if self.stop:
                return
            for _ in range(self.spin[i]):
                pass
            try:
                self.out[i] = fn(self.ctx)
            except BaseException as exc:   # noqa: BLE001 - re-raised in round
                self.out[i] = exc
            self.done.wait()

    def round(self, ctx):
        """Runs both actions on ``ctx``; returns their two outcomes."""
        self.ctx = ctx
        spin = self.rng.choice([0, 0, 10, 40, 150])
        self.spin = (spin, 0) if self.rng.random() < 0.5 else (0, spin)
        self.out = [None, None]
        self.start.wait()
        self.done.wait()
        for o in self.out:
            if isinstance(o, BaseException):
                self.close()
                raise o
        return tuple(self.out)

    def close(self):
        self.stop = True
        self.start.wait()
        self.threads.join()

    def run(self, name, setup, check, kernel, orders=1):
        """Rounds of setup -> race -> check -> invariants, until the time
        or round budget is spent.  Returns the outcomes' counts; with
        ``orders=2`` both orders must have happened (given enough rounds)."""
        seen = Counter()
        end = time.monotonic() + ROUND_SECONDS
        n = 0
        try:
            while n < ROUNDS and time.monotonic() < end:
                ctx = setup()
                outcome = self.round(ctx)
                seen[check(ctx, outcome)] += 1
                check_invariants(kernel)
                n += 1
        finally:
            if not self.stop:
                self.close()
        RUN[name] += n
        SEEN.setdefault(name, Counter()).update(seen)
        assert n > 0
        if orders == 2 and n >= BOTH_AFTER:
            assert len(seen) == 2, (name, seen)
        return seen


# -- close against write ----------------------------------------------------------

def test_close_vs_write_of_the_handle(kernel, init):
    """Closing an event while it is written into a channel: exactly one of
    the two succeeds; if the write did, the reader gets the event."""
    a, b = init.mx_channel_create()

    def setup():
        ev = init.mx_event_create()
        return ev, koid(init, ev)

    def check(ctx, out):
        ev, ev_koid = ctx
        (w, _), (c, _) = out
        assert {w, c} == {"ok", "err"}, out
        if w == "ok":
            assert out[1] == ("err", mx.ERR_BAD_HANDLE)
            data, hs = init.mx_channel_read(b)
            assert data == b"m" and koid(init, hs[0]) == ev_koid
            init.mx_handle_close(hs[0])
        else:
            assert out[0] == ("err", mx.ERR_BAD_HANDLE)
        assert attempt(init.mx_channel_read, b) == ("err", mx.ERR_SHOULD_WAIT)
        return "write first" if w == "ok" else "close first"

    race = Race(lambda ctx: attempt(init.mx_channel_write, a, b"m", [ctx[0]]),
                lambda ctx: attempt(init.mx_handle_close, ctx[0]))
    seen = race.run("close vs write (handle)", setup, check, kernel, orders=2)
    assert set(seen) <= {"write first", "close first"}
    init.mx_handle_close_many([a, b])
    assert_baseline(kernel)


def test_close_vs_write_through_the_endpoint(kernel, init):
    """Closing the endpoint written through: the write either lands whole
    (its handle then in transit at the peer) or fails with every handle
    still the writer's."""
    def setup():
        a, b = init.mx_channel_create()
        ev = init.mx_event_create()
        return a, b, ev, koid(init, ev)

    def check(ctx, out):
        a, b, ev, ev_koid = ctx
        w, c = out
        assert c == ("ok", None)
        if w[0] == "ok":
            assert attempt(init.mx_handle_close, ev) == \
                ("err", mx.ERR_BAD_HANDLE)
            data, hs = init.mx_channel_read(b)
            assert data == b"x" and koid(init, hs[0]) == ev_koid
            init.mx_handle_close(hs[0])
        else:
            assert w == ("err", mx.ERR_BAD_HANDLE)
            assert koid(init, ev) == ev_koid
            init.mx_handle_close(ev)
            assert attempt(init.mx_channel_read, b) == \
                ("err", mx.ERR_PEER_CLOSED)
        init.mx_handle_close(b)
        return "write first" if w[0] == "ok" else "close first"

    race = Race(lambda ctx: attempt(init.mx_channel_write, ctx[0], b"x",
                                    [ctx[2]]),
                lambda ctx: attempt(init.mx_handle_close, ctx[0]), seed=1)
    race.run("close vs write (endpoint)", setup, check, kernel, orders=2)
    assert_baseline(kernel)


# -- read against close -----------------------------------------------------------

def test_read_vs_close_of_the_endpoint(kernel, init):
    """Reading from an endpoint while it is closed: the read gets the
    message (its event then lives in the reader's table) or BAD_HANDLE (the
    event dies with the queue).  Each round destroys exactly its three
    objects."""
    def setup():
        a, b = init.mx_channel_create()
        ev = init.mx_event_create()
        ev_koid = koid(init, ev)
        init.mx_channel_write(a, b"r", [ev])
        return a, b, ev_koid, kernel.stats().destroyed_objects

    def check(ctx, out):
        a, b, ev_koid, destroyed = ctx
        r, c = out
        assert c == ("ok", None)
        if r[0] == "ok":
            data, hs = r[1]
            assert data == b"r" and len(hs) == 1
            assert koid(init, hs[0]) == ev_koid
            init.mx_handle_close(hs[0])
        else:
            assert r == ("err", mx.ERR_BAD_HANDLE)
        init.mx_handle_close(a)
        assert kernel.stats().destroyed_objects == destroyed + 3
        return "read first" if r[0] == "ok" else "close first"

    race = Race(lambda ctx: attempt(init.mx_channel_read, ctx[1]),
                lambda ctx: attempt(init.mx_handle_close, ctx[1]), seed=2)
    race.run("read vs close", setup, check, kernel, orders=2)
    assert_baseline(kernel)


def test_read_vs_close_of_the_handle_in_another_process(kernel, init):
    """A child reads what init sent while init closes its end: the message
    is never lost nor read twice."""
    job = init.mx_job_create(init.mx_job_default())
    ph = init.mx_process_create(job, "reader")
    th = init.mx_thread_create(ph, "main")
    a, boot = init.mx_channel_create()
    init.mx_process_start(ph, th, None, None, boot, 0)
    child = kernel.process(koid(init, ph))
    cb = child.start_info.arg1
    sent = Counter()

    def setup():
        ev = init.mx_event_create()
        sent["n"] += 1
        init.mx_channel_write(a, b"%d" % sent["n"], [ev])
        return sent["n"]

    def check(n, out):
        r, c = out
        assert c == ("ok", None) or c == ("err", mx.ERR_BAD_HANDLE)
        assert r[0] == "ok", r
        data, hs = r[1]
        assert data == b"%d" % n and len(hs) == 1
        child.mx_handle_close(hs[0])
        assert attempt(child.mx_channel_read, cb) == \
            ("err", mx.ERR_SHOULD_WAIT)
        return "ok"

    # the child reads; init races closing a duplicate of its thread handle
    # (a table operation in another process, which must not disturb it)
    def close_dup(n):
        return attempt(init.mx_handle_close,
                       init.mx_handle_duplicate(th, mx.RIGHT_SAME_RIGHTS))

    race = Race(lambda n: attempt(child.mx_channel_read, cb), close_dup,
                seed=3)
    race.run("read vs close (two processes)", setup, check, kernel)
    init.mx_task_kill(job)
    init.mx_handle_close_many([job, ph, th, a])
    assert_baseline(kernel)


# -- transfer against wait ----------------------------------------------------------

@pytest.mark.parametrize("how", ["wait_one", "wait_many", "wait_async"])
def test_transfer_vs_wait(kernel, init, how):
    """Writing a handle into a channel while a thread waits on it: the
    wait ends CANCELED (it had begun) or BAD_HANDLE (the handle had gone);
    never TIMED_OUT, never a packet for the moved handle."""
    a, b = init.mx_channel_create()
    port = init.mx_port_create()
    deadline_s = 5

    def wait(ev):
        deadline = mx.deadline_after(deadline_s * 10**9)
        if how == "wait_one":
            return attempt(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                           deadline)
        if how == "wait_many":
            return attempt(init.mx_object_wait_many,
                           [(ev, mx.EVENT_SIGNALED)], deadline)
        return attempt(init.mx_object_wait_async, ev, port, 1,
                       mx.EVENT_SIGNALED, mx.WAIT_ASYNC_ONCE)

    def setup():
        return init.mx_event_create()

    def check(ev, out):
        w, t = out
        assert t == ("ok", None)
        data, hs = init.mx_channel_read(b)
        assert len(hs) == 1
        if how == "wait_async":
            assert w in (("ok", None), ("err", mx.ERR_BAD_HANDLE))
            # the wait ended with the move: signalling the event now
            # queues no packet
            init.mx_object_signal(hs[0], 0, mx.EVENT_SIGNALED)
            assert attempt(init.mx_port_wait, port, 0) == \
                ("err", mx.ERR_TIMED_OUT)
        else:
            assert w in (("err", mx.ERR_CANCELED), ("err", mx.ERR_BAD_HANDLE)), w
        init.mx_handle_close(hs[0])
        return "waited first" if w[1] in (None, mx.ERR_CANCELED) \
            else "moved first"

    race = Race(wait, lambda ev: attempt(init.mx_channel_write, a, b"", [ev]),
                seed=4)
    race.run("transfer vs " + how, setup, check, kernel, orders=2)
    init.mx_handle_close_many([a, b, port])
    assert_baseline(kernel)


# -- kill against the victim's syscalls ------------------------------------------------

def _started_child(kernel, init, job, name):
    """A child of ``job`` started with one end of a channel as its
    bootstrap handle: (process handle, thread handle, init's end, view)."""
    ph = init.mx_process_create(job, name)
    th = init.mx_thread_create(ph, "main")
    a, boot = init.mx_channel_create()
    init.mx_process_start(ph, th, None, None, boot, 0)
    return ph, th, a, kernel.process(koid(init, ph))


def test_kill_vs_syscalls_of_the_victim(kernel, init):
    """A child makes syscalls (create, duplicate, write to init, wait,
    close) until it is killed: after the kill its calls raise BAD_STATE,
    its table is empty, every message it sent arrives once, and everything
    it made that it did not send is destroyed."""
    job = init.mx_job_create(init.mx_job_default())

    def setup():
        return _started_child(kernel, init, job, "victim")

    def victim(ctx):
        proc = ctx[3]
        cb = proc.start_info.arg1
        sent = 0
        statuses = Counter()
        while True:
            try:
                ev = proc.mx_event_create()
                d = proc.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
                proc.mx_channel_write(cb, b"v", [d])
                sent += 1
                try:
                    proc.mx_object_wait_one(ev, mx.EVENT_SIGNALED,
                                            mx.deadline_after(1000))
                except mx.MxError as e:
                    statuses[e.status] += 1
                    if e.status == mx.ERR_BAD_STATE:
                        raise
                    assert e.status in (mx.ERR_TIMED_OUT, mx.ERR_CANCELED)
                proc.mx_handle_close(ev)
            except mx.MxError as e:
                if e.status == mx.ERR_BAD_STATE:
                    return sent
                raise

    def killer(ctx):
        time.sleep(random.random() * 1e-4)
        return attempt(init.mx_task_kill, ctx[0])

    def check(ctx, out):
        ph, th, a, proc = ctx
        sent, k = out
        assert k == ("ok", None)
        assert proc.state == "exited" and proc.handles() == []
        info = init.mx_object_get_info(ph, mx.INFO_PROCESS)
        assert info.exited and info.return_code == -1
        assert attempt(proc.mx_event_create) == ("err", mx.ERR_BAD_STATE)
        got = 0
        while True:
            r = attempt(init.mx_channel_read, a)
            if r[0] == "err":
                assert r[1] == mx.ERR_PEER_CLOSED
                break
            data, hs = r[1]
            assert data == b"v" and len(hs) == 1
            init.mx_handle_close(hs[0])
            got += 1
        assert got == sent
        init.mx_handle_close_many([ph, th, a])
        st = kernel.stats()
        assert st.live_handles == 2 and st.in_transit_handles == 0
        return "killed after %s" % ("none" if sent == 0 else "some")

    race = Race(victim, killer, seed=5)
    race.run("kill vs victim syscalls", setup, check, kernel)
    init.mx_handle_close(job)
    assert_baseline(kernel)


def test_kill_vs_blocked_call_of_the_victim(kernel, init):
    """A child blocked in mx_channel_call is killed: the call returns
    CALL_FAILED with read_status CANCELED (or the child was dead before it
    called: BAD_STATE); the request it wrote, if any, is read once."""
    job = init.mx_job_create(init.mx_job_default())

    def setup():
        return _started_child(kernel, init, job, "caller")

    def caller(ctx):
        proc = ctx[3]
        try:
            proc.mx_channel_call(proc.start_info.arg1, b"\x01\x00\x00\x00q",
                                 (), mx.deadline_after(5 * 10**9))
        except mx.MxError as e:
            return e.status, getattr(e, "read_status", None)
        return "replied"

    def check(ctx, out):
        ph, th, a, proc = ctx
        c, k = out
        assert k == ("ok", None)
        assert c in ((mx.ERR_CALL_FAILED, mx.ERR_CANCELED),
                     (mx.ERR_BAD_STATE, None)), c
        r = attempt(init.mx_channel_read, a)
        if c[0] == mx.ERR_BAD_STATE:
            assert r == ("err", mx.ERR_PEER_CLOSED)
        else:
            assert r == ("ok", (b"\x01\x00\x00\x00q", []))
        init.mx_handle_close_many([ph, th, a])
        return c[0]

    race = Race(caller, lambda ctx: attempt(init.mx_task_kill, ctx[0]),
                seed=6)
    race.run("kill vs blocked call", setup, check, kernel, orders=2)
    init.mx_handle_close(job)
    assert_baseline(kernel)


# -- collect against traffic ----------------------------------------------------------

def test_collect_vs_traffic(kernel, init):
    """collect() runs without pause while another thread sends events
    through a live channel (each arrives once, still valid) and makes
    unreachable cycles (an endpoint in its own queue, carrying an event; two
    endpoints in each other's queues) and sends reachable endpoints, with
    messages in their queues, through the live channel.  collect() reclaims exactly the
    garbage: the sum of what it returns equals the objects made
    unreachable, and nothing reachable is ever touched."""
    a, b = init.mx_channel_create()
    stop = threading.Event()
    budget = time.monotonic() + 2 * ROUND_SECONDS

    def collector():
        n, total = 0, 0
        while not stop.is_set():
            total += kernel.collect()
            n += 1
        return n, total

    def traffic():
        rng = random.Random(7)
        garbage = sent = 0
        while time.monotonic() < budget:
            r = rng.random()
            if r < 0.2:
                # a reachable endpoint in transit, with a message queued:
                # collect() must leave both alone
                x, y = init.mx_channel_create()
                ev = init.mx_event_create()
                k0 = koid(init, ev)
                init.mx_channel_write(x, b"inner", [ev])
                init.mx_channel_write(a, b"carry", [y])
                data, (y2,) = init.mx_channel_read(b)
                assert data == b"carry"
                data, (ev2,) = init.mx_channel_read(y2)
                assert data == b"inner" and koid(init, ev2) == k0
                init.mx_handle_close_many([x, y2, ev2])
                sent += 1
            elif r < 0.4:
                ev = init.mx_event_create()
                k0 = koid(init, ev)
                init.mx_channel_write(a, b"live", [ev])
                data, hs = init.mx_channel_read(b)
                assert data == b"live" and koid(init, hs[0]) == k0
                init.mx_handle_close(hs[0])
                sent += 1
            elif r < 0.7:
                x, y = init.mx_channel_create()
                ev = init.mx_event_create()
                init.mx_channel_write(x, b"self", [y, ev])
                init.mx_handle_close(x)      # x dies; y and ev are garbage
                garbage += 2
            else:
                x0, x1 = init.mx_channel_create()
                y0, y1 = init.mx_channel_create()
                init.mx_channel_write(x0, b"", [y1])
                init.mx_channel_write(y0, b"", [x1])
                init.mx_handle_close_many([x0, y0])
                garbage += 2                 # x1 and y1 hold each other
        return sent, garbage

    th = Threads()
    th.start(collector, name="collector")
    th.start(traffic, name="traffic")
    th.threads[1].join(30)
    stop.set()
    th.join()
    rounds, reclaimed = th.results["collector"]
    sent, garbage = th.results["traffic"]
    reclaimed += kernel.collect()
    assert reclaimed == garbage, (reclaimed, garbage)
    assert kernel.collect() == 0
    check_invariants(kernel)
    assert attempt(init.mx_channel_read, b) == ("err", mx.ERR_SHOULD_WAIT)
    init.mx_handle_close_many([a, b])
    assert_baseline(kernel)
    RUN["collect vs traffic (collects)"] += rounds
    RUN["collect vs traffic (sends + cycles)"] += sent + garbage // 2
    assert rounds > 0 and sent > 0 and garbage > 0


# -- duplicate against close ------------------------------------------------------------

def test_duplicate_vs_close(kernel, init):
    """Duplicating a handle while it is closed: the close always succeeds;
    the duplicate either succeeds (and keeps the object alive) or is
    BAD_HANDLE (and the object is destroyed with the close)."""
    def setup():
        ev = init.mx_event_create()
        return ev, koid(init, ev), kernel.stats().destroyed_objects

    def check(ctx, out):
        ev, ev_koid, destroyed = ctx
        d, c = out
        assert c == ("ok", None)
        if d[0] == "ok":
            assert koid(init, d[1]) == ev_koid
            assert kernel.stats().destroyed_objects == destroyed
            init.mx_handle_close(d[1])
        else:
            assert d == ("err", mx.ERR_BAD_HANDLE)
        assert kernel.stats().destroyed_objects == destroyed + 1
        return "dup first" if d[0] == "ok" else "close first"

    race = Race(lambda ctx: attempt(init.mx_handle_duplicate, ctx[0],
                                    mx.RIGHT_SAME_RIGHTS),
                lambda ctx: attempt(init.mx_handle_close, ctx[0]), seed=8)
    race.run("duplicate vs close", setup, check, kernel, orders=2)
    assert_baseline(kernel)


def test_replace_vs_close(kernel, init):
    """Replacing a handle while it is closed: exactly one succeeds."""
    def setup():
        return init.mx_event_create()

    def check(ev, out):
        r, c = out
        assert {r[0], c[0]} == {"ok", "err"}, out
        if r[0] == "ok":
            assert c == ("err", mx.ERR_BAD_HANDLE)
            init.mx_handle_close(r[1])
        else:
            assert r == ("err", mx.ERR_BAD_HANDLE)
        return "replace first" if r[0] == "ok" else "close first"

    race = Race(lambda ev: attempt(init.mx_handle_replace, ev, mx.RIGHT_READ),
                lambda ev: attempt(init.mx_handle_close, ev), seed=9)
    race.run("replace vs close", setup, check, kernel, orders=2)
    assert_baseline(kernel)


# -- everything at once ----------------------------------------------------------------

#: What a call may fail with while other threads close, move and kill.
RACY = {mx.ERR_BAD_HANDLE, mx.ERR_PEER_CLOSED, mx.ERR_SHOULD_WAIT,
        mx.ERR_BAD_STATE, mx.ERR_CANCELED, mx.ERR_TIMED_OUT,
        mx.ERR_WRONG_TYPE, mx.ERR_ACCESS_DENIED, mx.ERR_NOT_SUPPORTED,
        mx.ERR_INVALID_ARGS, mx.ERR_BUFFER_TOO_SMALL, mx.ERR_NOT_FOUND}


def test_chaos(kernel, init):
    """Four threads make random syscalls as init and as two children (which
    share channels with init), a fifth kills a child now and then and starts
    another, a sixth runs collect() without pause.  Every failure is one a
    race explains; afterwards the invariants hold and closing everything
    brings the kernel back to its boot state."""
    import conftest as cf
    job = init.mx_job_create(init.mx_job_default())
    lock = threading.Lock()
    procs = {}                      # slot -> (process handle, Process)
    pools = {init.koid: []}         # process koid -> values it may hold
    stop = threading.Event()
    budget = time.monotonic() + 3 * ROUND_SECONDS
    count = Counter()

    def spawn(slot):
        ph = init.mx_process_create(job, "c%d" % slot)
        th = init.mx_thread_create(ph, "main")
        a, boot = init.mx_channel_create()
        init.mx_process_start(ph, th, None, None, boot, 0)
        proc = kernel.process(koid(init, ph))
        with lock:
            old = procs.get(slot)
            procs[slot] = (ph, proc)
            pools[proc.koid] = [proc.start_info.arg1]
            pools[init.koid] += [a, th]
        return old

    def killer():
        rng = random.Random(11)
        while time.monotonic() < budget:
            time.sleep(rng.random() * 0.02)
            slot = rng.randrange(2)
            ph, _ = procs[slot]
            init.mx_task_kill(ph)
            spawn(slot)
            init.mx_handle_close(ph)
            count["kills"] += 1

    def collector():
        while not stop.is_set():
            kernel.collect()
            count["collects"] += 1

    def worker(seed):
        rng = random.Random(seed)
        n = 0
        while time.monotonic() < budget:
            with lock:
                choices = [init] + [proc for _, proc in procs.values()]
            p = rng.choice(choices)
            with lock:
                pool = pools.setdefault(p.koid, [])
                mine = list(pool)
            pick = (lambda: rng.choice(mine)) if mine else (lambda: 0)
            op = rng.randrange(12)
            try:
                if op == 0:
                    new = [p.mx_event_create()]
                elif op == 1:
                    new = list(p.mx_channel_create())
                elif op == 2:
                    new = list(p.mx_eventpair_create())
                elif op == 3:
                    new = [p.mx_port_create()]
                elif op == 4:
                    new = [p.mx_handle_duplicate(pick(), mx.RIGHT_SAME_RIGHTS)]
                elif op == 5:
                    new = [p.mx_handle_replace(pick(), mx.RIGHT_SAME_RIGHTS)]
                elif op == 6:
                    p.mx_handle_close(pick())
                    new = []
                elif op == 7:
                    hs = [pick() for _ in range(rng.randrange(3))]
                    p.mx_channel_write(pick(), b"c", hs)
                    new = []
                elif op == 8:
                    new = p.mx_channel_read(pick())[1]
                elif op == 9:
                    p.mx_object_wait_one(pick(), mx.USER_SIGNAL_0,
                                         mx.deadline_after(rng.randrange(10**5)))
                    new = []
                elif op == 10:
                    p.mx_object_signal(pick(), 0, mx.USER_SIGNAL_0)
                    new = []
                else:
                    p.mx_object_wait_async(pick(), pick(), 1, mx.USER_SIGNAL_0,
                                           mx.WAIT_ASYNC_ONCE)
                    new = []
                count["ok"] += 1
            except mx.MxError as e:
                assert e.status in RACY, e
                count[e.name] += 1
                new = []
            if new:
                with lock:
                    pools[p.koid].extend(new)
                    if len(pools[p.koid]) > 64:
                        del pools[p.koid][:32]
            n += 1
        return n

    spawn(0)
    spawn(1)
    th = Threads()
    th.start(collector, name="collector")
    th.start(killer, name="killer")
    for i in range(4):
        th.start(worker, i, name=i)
    for t in th.threads[1:]:
        t.join(30)
    stop.set()
    th.join()
    calls = sum(th.results[i] for i in range(4))
    assert calls > 0 and count["ok"] > 0
    check_invariants(kernel)
    init.mx_task_kill(job)
    cf.close_everything(kernel)
    assert cf.leaks(kernel) == []
    check_invariants(kernel)
    RUN["chaos (calls)"] += calls
    RUN["chaos (kills)"] += count["kills"]
    SEEN["chaos"] = Counter({k: v for k, v in count.items()
                             if k not in ("kills", "collects")})


def test_report_rounds():
    """Every race above ran; reports how many rounds each, and how they
    came out, at the end of the session."""
    if not RUN:
        pytest.skip("run with the races above")
    conftest.SUMMARY.append(
        "races: %d rounds: %s; outcomes: %s"
        % (sum(RUN.values()), dict(sorted(RUN.items())),
           {k: dict(v) for k, v in sorted(SEEN.items())}))
    assert all(n > 0 for n in RUN.values())
