"""asyncio integration (mxhandles.aio) through its public API: wait_one,
channel_read, port_wait, pending and close.

The awaitables mirror the blocking syscalls of SPEC §4 (Signals and
waiting), errors included.  Every test closes init's dispatcher at teardown
so that the dispatcher threads of one test cannot be counted by another.
"""
from __future__ import annotations

import asyncio
import threading
import time
import tracemalloc

import pytest

import mxhandles as mx
from mxhandles import aio
from conftest import assert_baseline

JOIN = 10.0
MS = 10**6
S = mx.EVENT_SIGNALED
THREAD_PREFIX = "mxhandles-aio-"


# -- helpers ------------------------------------------------------------------

def run(coro, timeout=JOIN):
    """Runs coro in a new event loop, failing if it takes over `timeout`."""
    async def main():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(main())


def aio_threads():
    return [t for t in threading.enumerate()
            if t.name.startswith(THREAD_PREFIX) and t.is_alive()]


async def until(cond, timeout=JOIN):
    """Yields to the loop until cond() holds."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.001)


def sigs(p, h) -> int:
    try:
        return p.mx_object_wait_one(h, 0xFFFFFFFF, 0)
    except mx.MxError as e:
        assert e.status == mx.ERR_TIMED_OUT
        return e.observed


def port_handles(k, p):
    """Values of every port handle in p's table (from the snapshot)."""
    (proc,) = [q for q in k.snapshot()["processes"] if q["koid"] == p.koid]
    return [h["value"] for h in proc["handles"]
            if h["type"] == mx.OBJ_TYPE_PORT]


@pytest.fixture
def p(kernel, init):
    """init, with its aio dispatcher closed (and its thread gone) after."""
    assert not aio_threads(), "a dispatcher thread leaked from elsewhere"
    yield init
    aio.close(init)
    end = time.monotonic() + JOIN
    while aio_threads() and time.monotonic() < end:
        time.sleep(0.01)
    assert not aio_threads()


# -- wait_one -----------------------------------------------------------------

def test_wait_one_already_asserted(kernel, p):
    ev = p.mx_event_create()
    p.mx_object_signal(ev, 0, S | mx.USER_SIGNAL_1)

    async def main():
        a = await aio.wait_one(p, ev, S)
        b = await aio.wait_one(p, ev, mx.USER_SIGNAL_1, 0)
        c = await aio.wait_one(p, ev, S, mx.deadline_after(10**9))
        return a, b, c

    assert run(main()) == (S | mx.USER_SIGNAL_1,) * 3
    assert aio.pending(p) == 0
    p.mx_handle_close(ev)


def test_wait_one_signalled_later_from_a_thread(kernel, p):
    ev = p.mx_event_create()

    async def main():
        task = asyncio.ensure_future(aio.wait_one(p, ev, S | mx.USER_SIGNAL_0))
        await until(lambda: aio.pending(p) == 1)
        assert not task.done()
        t = threading.Timer(0.05, p.mx_object_signal, (ev, 0, mx.USER_SIGNAL_0))
        t.start()
        try:
            return await task
        finally:
            t.join(JOIN)

    assert run(main()) == mx.USER_SIGNAL_0
    assert aio.pending(p) == 0
    # the dispatcher is one thread, running
    assert len(aio_threads()) == 1
    p.mx_handle_close(ev)


def test_wait_one_signalled_from_the_loop(kernel, p):
    a, b = p.mx_channel_create()

    async def main():
        task = asyncio.ensure_future(aio.wait_one(p, a, mx.CHANNEL_READABLE))
        await until(lambda: aio.pending(p) == 1)
        p.mx_channel_write(b, b"x")
        return await task

    assert run(main()) == mx.CHANNEL_READABLE | mx.CHANNEL_WRITABLE
    p.mx_handle_close_many([a, b])


def test_wait_one_deadline_times_out_with_observed(kernel, p):
    ev = p.mx_event_create()
    p.mx_object_signal(ev, 0, mx.USER_SIGNAL_3)

    async def main():
        # a deadline in the past polls
        for dl in (0, 1, mx.deadline_after(0) - MS):
            with pytest.raises(mx.MxError) as ei:
                await aio.wait_one(p, ev, S, dl)
            assert ei.value.status == mx.ERR_TIMED_OUT
            assert ei.value.observed == mx.USER_SIGNAL_3
        t0 = time.monotonic()
        with pytest.raises(mx.MxError) as ei:
            await aio.wait_one(p, ev, S, mx.deadline_after(50 * MS))
        elapsed = time.monotonic() - t0
        assert ei.value.status == mx.ERR_TIMED_OUT
        assert ei.value.observed == mx.USER_SIGNAL_3
        assert 0.040 <= elapsed < 2.0, elapsed
        assert aio.pending(p) == 0
        # the timed-out wait left nothing: a later signal wakes only new waits
        p.mx_object_signal(ev, 0, S)
        return await aio.wait_one(p, ev, S, mx.deadline_after(10**9))

    assert run(main()) == S | mx.USER_SIGNAL_3
    p.mx_handle_close(ev)


def test_wait_one_deadline_while_others_wait(kernel, p):
    e1 = p.mx_event_create()
    e2 = p.mx_event_create()

    async def main():
        long = asyncio.ensure_future(aio.wait_one(p, e2, S))
        with pytest.raises(mx.MxError) as ei:
            await aio.wait_one(p, e1, S, mx.deadline_after(30 * MS))
        assert ei.value.status == mx.ERR_TIMED_OUT
        assert not long.done()
        p.mx_object_signal(e2, 0, S)
        return await long

    assert run(main()) == S
    p.mx_handle_close_many([e1, e2])


@pytest.mark.parametrize("how", ["close", "replace", "transfer"])
def test_wait_one_canceled_when_handle_goes(kernel, p, how):
    ev = p.mx_event_create()
    rest = []

    async def main():
        task = asyncio.ensure_future(aio.wait_one(p, ev, S))
        await until(lambda: aio.pending(p) == 1)
        if how == "close":
            p.mx_handle_close(ev)
        elif how == "replace":
            rest.append(p.mx_handle_replace(ev, mx.RIGHT_SAME_RIGHTS))
        else:
            c, d = p.mx_channel_create()
            p.mx_channel_write(c, b"", [ev])
            rest.extend([c, d])
        with pytest.raises(mx.MxError) as ei:
            await task
        assert ei.value.status == mx.ERR_CANCELED
        assert aio.pending(p) == 0

    run(main())
    p.mx_handle_close_many(rest)
    aio.close(p)
    assert_baseline(kernel)


def test_wait_one_closed_from_another_thread(kernel, p):
    ev = p.mx_event_create()

    async def main():
        task = asyncio.ensure_future(aio.wait_one(p, ev, S))
        await until(lambda: aio.pending(p) == 1)
        t = threading.Thread(target=p.mx_handle_close, args=(ev,))
        t.start()
        t.join(JOIN)
        with pytest.raises(mx.MxError) as ei:
            await task
        assert ei.value.status == mx.ERR_CANCELED

    run(main())


def test_wait_one_errors(kernel, p):
    ev = p.mx_event_create()
    wo = p.mx_handle_duplicate(ev, mx.RIGHT_WRITE)
    dead = p.mx_event_create()
    p.mx_handle_close(dead)

    async def main():
        for h, code in ((dead, mx.ERR_BAD_HANDLE), (0, mx.ERR_BAD_HANDLE),
                        (wo, mx.ERR_ACCESS_DENIED)):
            with pytest.raises(mx.MxError) as ei:
                await aio.wait_one(p, h, S)
            assert ei.value.status == code
        for args in ((ev, 2**32), (ev, -1), (ev, S, 2**64), (ev, S, -1)):
            with pytest.raises(mx.MxError) as ei:
                await aio.wait_one(p, *args)
            assert ei.value.status == mx.ERR_INVALID_ARGS
        for args in (("h", S), (ev, "s"), (ev, S, 1.5)):
            with pytest.raises(TypeError):
                await aio.wait_one(p, *args)
        assert aio.pending(p) == 0

    run(main())
    p.mx_handle_close_many([ev, wo])


@pytest.mark.parametrize("when", ["waiting", "signalled_same_tick"])
def test_task_cancellation_cancels_the_kernel_wait(kernel, p, when):
    ev = p.mx_event_create()
    other = p.mx_event_create()

    async def main():
        task = asyncio.ensure_future(aio.wait_one(p, ev, S))
        await until(lambda: aio.pending(p) == 1)
        if when == "signalled_same_tick":
            # the packet is queued now; the task is cancelled before the
            # loop can see it
            p.mx_object_signal(ev, 0, S)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert aio.pending(p) == 0
        (dport,) = port_handles(kernel, p)
        # neither a wait nor a packet of it is left on the dispatcher's port
        for key in range(0, 64):
            with pytest.raises(mx.MxError) as ei:
                p.mx_port_cancel(dport, ev, key)
            assert ei.value.status == mx.ERR_NOT_FOUND
        # a signal now produces nothing; a later await still works
        p.mx_object_signal(ev, S, 0)
        p.mx_object_signal(ev, 0, S)
        t2 = asyncio.ensure_future(aio.wait_one(p, other, S))
        await until(lambda: aio.pending(p) == 1)
        p.mx_object_signal(other, 0, S)
        assert await t2 == S
        assert aio.pending(p) == 0
        with pytest.raises(mx.MxError) as ei:
            p.mx_object_wait_one(dport, mx.PORT_READABLE, 0)
        assert ei.value.status == mx.ERR_TIMED_OUT

    run(main())
    p.mx_handle_close_many([ev, other])


def test_user_timeout_cancels_the_kernel_wait(kernel, p):
    """asyncio.wait_for around an await is a task cancellation too."""
    ev = p.mx_event_create()

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aio.wait_one(p, ev, S), 0.05)
        assert aio.pending(p) == 0
        (dport,) = port_handles(kernel, p)
        for key in range(0, 16):
            with pytest.raises(mx.MxError) as ei:
                p.mx_port_cancel(dport, ev, key)
            assert ei.value.status == mx.ERR_NOT_FOUND

    run(main())
    p.mx_handle_close(ev)


def test_cancel_many_tasks(kernel, p):
    evs = [p.mx_event_create() for _ in range(200)]

    async def main():
        tasks = [asyncio.ensure_future(aio.wait_one(p, ev, S)) for ev in evs]
        await until(lambda: aio.pending(p) == len(evs))
        for t in tasks[::2]:
            t.cancel()
        for ev in evs:
            p.mx_object_signal(ev, 0, S)
        res = await asyncio.gather(*tasks, return_exceptions=True)
        for i, r in enumerate(res):
            if i % 2:
                assert r == S
            else:
                assert isinstance(r, (asyncio.CancelledError, int)), r
        assert aio.pending(p) == 0
        (dport,) = port_handles(kernel, p)
        for ev in evs:
            for key in range(1, 2 * len(evs) + 2):
                with pytest.raises(mx.MxError) as ei:
                    p.mx_port_cancel(dport, ev, key)
                assert ei.value.status == mx.ERR_NOT_FOUND

    run(main(), timeout=30)
    p.mx_handle_close_many(evs)


# -- channel_read and port_wait -----------------------------------------------

def test_channel_read_waits_for_a_message(kernel, p):
    a, b = p.mx_channel_create()
    e = p.mx_event_create()

    async def main():
        task = asyncio.ensure_future(aio.channel_read(p, a))
        await until(lambda: aio.pending(p) == 1)
        assert not task.done()
        t = threading.Timer(0.02, p.mx_channel_write, (b, b"hello", [e]))
        t.start()
        data, hs = await task
        t.join(JOIN)
        assert data == b"hello"
        assert len(hs) == 1
        assert p.mx_object_get_info(hs[0], mx.INFO_HANDLE_BASIC).type == \
            mx.OBJ_TYPE_EVENT
        p.mx_handle_close(hs[0])
        # already queued: at once
        p.mx_channel_write(b, b"second")
        assert await aio.channel_read(p, a) == (b"second", [])

    run(main())
    p.mx_handle_close_many([a, b])
    aio.close(p)
    assert_baseline(kernel)


def test_channel_read_peer_closed(kernel, p):
    a, b = p.mx_channel_create()

    async def main():
        p.mx_channel_write(b, b"last")
        task = asyncio.ensure_future(aio.channel_read(p, a))
        assert await task == (b"last", [])
        task = asyncio.ensure_future(aio.channel_read(p, a))
        await until(lambda: aio.pending(p) == 1)
        p.mx_channel_write(b, b"one more")
        p.mx_handle_close(b)
        # the queued message first, then PEER_CLOSED
        assert await task == (b"one more", [])
        with pytest.raises(mx.MxError) as ei:
            await aio.channel_read(p, a)
        assert ei.value.status == mx.ERR_PEER_CLOSED

    run(main())

    # and a reader waiting on an empty queue when the peer goes
    c, d = p.mx_channel_create()

    async def main2():
        task = asyncio.ensure_future(aio.channel_read(p, c))
        await until(lambda: aio.pending(p) == 1)
        p.mx_handle_close(d)
        with pytest.raises(mx.MxError) as ei:
            await task
        assert ei.value.status == mx.ERR_PEER_CLOSED

    run(main2())
    p.mx_handle_close_many([a, c])


def test_channel_read_errors_and_deadline(kernel, p):
    a, b = p.mx_channel_create()
    ev = p.mx_event_create()

    async def main():
        with pytest.raises(mx.MxError) as ei:
            await aio.channel_read(p, ev)
        assert ei.value.status == mx.ERR_WRONG_TYPE
        with pytest.raises(mx.MxError) as ei:
            await aio.channel_read(p, 0)
        assert ei.value.status == mx.ERR_BAD_HANDLE
        with pytest.raises(mx.MxError) as ei:
            await aio.channel_read(p, a, deadline=mx.deadline_after(20 * MS))
        assert ei.value.status == mx.ERR_TIMED_OUT
        p.mx_channel_write(b, b"12345")
        with pytest.raises(mx.MxError) as ei:
            await aio.channel_read(p, a, max_bytes=2)
        assert ei.value.status == mx.ERR_BUFFER_TOO_SMALL
        assert ei.value.actual_bytes == 5
        assert await aio.channel_read(p, a) == (b"12345", [])

    run(main())
    p.mx_handle_close_many([a, b, ev])


def test_port_wait(kernel, p):
    port = p.mx_port_create()
    ev = p.mx_event_create()

    async def main():
        p.mx_port_queue(port, mx.PortPacket(1, user=b"now"))
        pkt = await aio.port_wait(p, port)
        assert (pkt.key, pkt.type, pkt.user[:3]) == (1, mx.PKT_TYPE_USER, b"now")
        task = asyncio.ensure_future(aio.port_wait(p, port))
        await until(lambda: aio.pending(p) == 1)
        t = threading.Timer(0.02, p.mx_port_queue,
                            (port, mx.PortPacket(2, 5, b"later")))
        t.start()
        pkt = await task
        t.join(JOIN)
        assert (pkt.key, pkt.status, pkt.user[:5]) == (2, 5, b"later")
        # signal packets too
        p.mx_object_wait_async(ev, port, 3, S, mx.WAIT_ASYNC_ONCE)
        task = asyncio.ensure_future(aio.port_wait(p, port))
        await until(lambda: aio.pending(p) == 1)
        p.mx_object_signal(ev, 0, S)
        pkt = await task
        assert pkt.key == 3 and pkt.type == mx.PKT_TYPE_SIGNAL_ONE
        assert pkt.signal.trigger == S and pkt.signal.observed == S
        # deadline
        t0 = time.monotonic()
        with pytest.raises(mx.MxError) as ei:
            await aio.port_wait(p, port, mx.deadline_after(30 * MS))
        assert ei.value.status == mx.ERR_TIMED_OUT
        assert 0.025 <= time.monotonic() - t0 < 2.0
        with pytest.raises(mx.MxError) as ei:
            await aio.port_wait(p, port, 0)
        assert ei.value.status == mx.ERR_TIMED_OUT
        # errors
        with pytest.raises(mx.MxError) as ei:
            await aio.port_wait(p, ev)
        assert ei.value.status == mx.ERR_WRONG_TYPE
        wo = p.mx_handle_duplicate(port, mx.RIGHT_WRITE)
        with pytest.raises(mx.MxError) as ei:
            await aio.port_wait(p, wo)
        assert ei.value.status == mx.ERR_ACCESS_DENIED
        p.mx_handle_close(wo)
        assert aio.pending(p) == 0

    run(main())
    p.mx_handle_close_many([port, ev])


def test_port_wait_many_awaiters(kernel, p):
    port = p.mx_port_create()

    async def main():
        tasks = [asyncio.ensure_future(aio.port_wait(p, port))
                 for _ in range(20)]
        await asyncio.sleep(0.01)
        for i in range(20):
            p.mx_port_queue(port, mx.PortPacket(100 + i))
        pkts = await asyncio.gather(*tasks)
        return sorted(pk.key for pk in pkts)

    assert run(main()) == list(range(100, 120))
    p.mx_handle_close(port)


# -- scale: one dispatcher thread -----------------------------------------------

def test_10000_waiters_one_thread(kernel, p, capsys):
    n = 10000
    evs = [p.mx_event_create() for _ in range(n)]
    threads_before = threading.active_count()
    report = {}

    async def main():
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            t0 = time.monotonic()
            tasks = [asyncio.ensure_future(aio.wait_one(p, ev, S))
                     for ev in evs]
            await until(lambda: aio.pending(p) == n, timeout=60)
            report["setup_s"] = time.monotonic() - t0
            used, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        report["bytes_per_waiter"] = (used - base) / n
        assert len(aio_threads()) == 1
        assert threading.active_count() == threads_before + 1
        assert not any(t.done() for t in tasks)

        def signal_all():
            for ev in evs:
                p.mx_object_signal(ev, 0, S)

        t0 = time.monotonic()
        t = threading.Thread(target=signal_all)
        t.start()
        res = await asyncio.gather(*tasks)
        t.join(JOIN)
        report["wake_s"] = time.monotonic() - t0
        assert res == [S] * n
        assert aio.pending(p) == 0
        assert len(aio_threads()) == 1

    run(main(), timeout=60)
    with capsys.disabled():
        print("\naio: %d waiters on one dispatcher thread: %.0f bytes of "
              "Python memory per waiter (tracemalloc; C-side waiter records "
              "not included); setup %.2f s, wake-up %.2f s"
              % (n, report["bytes_per_waiter"], report["setup_s"],
                 report["wake_s"]))
    p.mx_handle_close_many(evs)
    aio.close(p)
    assert_baseline(kernel)


def test_one_dispatcher_serves_several_loops(kernel, p):
    """Threads with their own event loops share init's one dispatcher."""
    evs = [p.mx_event_create() for _ in range(4)]
    results, errors = {}, []
    ready = threading.Barrier(len(evs) + 1)

    def worker(i):
        async def main():
            task = asyncio.ensure_future(aio.wait_one(p, evs[i], S))
            await asyncio.sleep(0.01)
            ready.wait(JOIN)
            return await task
        try:
            results[i] = run(main())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(len(evs))]
    for t in ts:
        t.start()
    ready.wait(JOIN)
    end = time.monotonic() + JOIN
    while aio.pending(p) < len(evs) and time.monotonic() < end:
        time.sleep(0.005)
    assert len(aio_threads()) == 1
    for ev in evs:
        p.mx_object_signal(ev, 0, S)
    for t in ts:
        t.join(JOIN)
    assert not any(t.is_alive() for t in ts)
    assert not errors, errors
    assert results == {i: S for i in range(len(evs))}
    p.mx_handle_close_many(evs)


# -- close --------------------------------------------------------------------

def test_close_stops_the_dispatcher(kernel, p):
    ev = p.mx_event_create()
    assert aio.pending(p) == 0
    aio.close(p)                      # no dispatcher yet: nothing to do

    async def main():
        task = asyncio.ensure_future(aio.wait_one(p, ev, S))
        await until(lambda: aio.pending(p) == 1)
        assert len(aio_threads()) == 1
        assert len(port_handles(kernel, p)) == 1
        # close() joins the thread: run it off the loop
        await asyncio.get_running_loop().run_in_executor(None, aio.close, p)
        with pytest.raises(mx.MxError) as ei:
            await task
        assert ei.value.status == mx.ERR_CANCELED
        assert aio.pending(p) == 0
        assert not aio_threads()
        assert port_handles(kernel, p) == []
        # the next await starts a new dispatcher
        task = asyncio.ensure_future(aio.wait_one(p, ev, S))
        await until(lambda: aio.pending(p) == 1)
        assert len(aio_threads()) == 1
        p.mx_object_signal(ev, 0, S)
        return await task

    assert run(main()) == S
    aio.close(p)
    aio.close(p)                      # twice is fine
    assert not aio_threads()
    p.mx_handle_close(ev)
    assert_baseline(kernel)


def test_dispatcher_port_is_an_ordinary_handle(kernel, p):
    ev = p.mx_event_create()
    p.mx_object_signal(ev, 0, S)

    async def main():
        # already asserted: answered without a dispatcher
        assert await aio.wait_one(p, ev, S) == S
        p.mx_object_signal(ev, S, 0)
        task = asyncio.ensure_future(aio.wait_one(p, ev, S))
        await until(lambda: aio.pending(p) == 1)
        (port,) = port_handles(kernel, p)
        info = p.mx_object_get_info(port, mx.INFO_HANDLE_BASIC)
        assert info.type == mx.OBJ_TYPE_PORT
        p.mx_object_signal(ev, 0, S)
        return await task

    assert run(main()) == S
    assert kernel.stats().live_objects["port"] == 1
    aio.close(p)
    assert kernel.stats().live_objects["port"] == 0
    p.mx_handle_close(ev)
    assert_baseline(kernel)


def test_dispatcher_of_a_dead_process_leaves_the_registry(kernel, init):
    job = init.mx_job_default()
    ph = init.mx_process_create(job, "victim")
    victim = kernel.process(init.mx_object_get_info(ph, mx.INFO_HANDLE_BASIC).koid)
    ev = victim.mx_event_create()

    async def main():
        task = asyncio.ensure_future(aio.wait_one(victim, ev, S))
        await until(lambda: aio.pending(victim) == 1)
        init.mx_task_kill(ph)
        with pytest.raises(mx.MxError) as err:
            await asyncio.wait_for(task, JOIN)
        assert err.value.status == mx.ERR_CANCELED

    run(main())
    # The dispatcher thread ends and takes itself out of the registry, so
    # the dead process's view (and its Kernel) are not kept alive by it.
    deadline = time.monotonic() + JOIN
    while id(victim) in aio._dispatchers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert id(victim) not in aio._dispatchers
    assert aio.pending(victim) == 0
    while aio_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not aio_threads()
    init.mx_handle_close(ph)


def test_module_docstring_example_runs(capsys):
    import textwrap
    doc = aio.__doc__
    start = doc.index("    import asyncio")
    end = doc.index("asyncio.run(main())") + len("asyncio.run(main())")
    exec(textwrap.dedent(doc[start:end]), {})
    assert capsys.readouterr().out == "(b'hello', [])\n"
    # The example leaves its process's dispatcher running; stop it.
    for d in list(aio._dispatchers.values()):
        aio.close(d.process)
    end = time.monotonic() + JOIN
    while aio_threads() and time.monotonic() < end:
        time.sleep(0.01)
    assert not aio_threads()


def test_dead_caller_is_bad_state_before_range_errors(kernel, init):
    """SPEC's order: types, then a dead caller, then ranges."""
    ph = init.mx_process_create(init.mx_job_default(), "gone")
    victim = kernel.process(init.mx_object_get_info(ph, mx.INFO_HANDLE_BASIC).koid)
    ev = victim.mx_event_create()
    init.mx_task_kill(ph)
    for signals, deadline in ((-1, 0), (2**40, 0), (S, -1), (S, 2**70)):
        with pytest.raises(mx.MxError) as err:
            run(aio.wait_one(victim, ev, signals, deadline))
        assert err.value.status == mx.ERR_BAD_STATE
    with pytest.raises(TypeError):
        run(aio.wait_one(victim, ev, "signals"))
    init.mx_handle_close(ph)
