"""The handle syscalls from many Python threads at once (SPEC §8)."""
from __future__ import annotations

import random
import threading

import mxhandles as mx
from conftest import assert_baseline


def run_threads(n, target):
    errors = []

    def wrap(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_parallel_dup_close_one_object(kernel):
    p = kernel.init
    ev = p.mx_event_create()

    def work(i):
        for _ in range(20000):
            p.mx_handle_close(p.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS))

    run_threads(4, work)
    assert kernel.stats().live_handles == 2
    p.mx_handle_close(ev)
    assert_baseline(kernel)


def test_parallel_random_traffic(kernel):
    p = kernel.init

    def work(i):
        rng = random.Random(i)
        mine = []
        for _ in range(5000):
            op = rng.random()
            if op < 0.3 or not mine:
                mine.append(p.mx_event_create())
            elif op < 0.5:
                mine.append(p.mx_handle_duplicate(rng.choice(mine), mx.RIGHT_SAME_RIGHTS))
            elif op < 0.6:
                i = rng.randrange(len(mine))
                mine[i] = p.mx_handle_replace(mine[i], mx.RIGHT_SAME_RIGHTS)
            elif op < 0.65:
                a, b = p.mx_eventpair_create()
                mine += [a, b]
            else:
                p.mx_handle_close(mine.pop(rng.randrange(len(mine))))
        p.mx_handle_close_many(mine)

    run_threads(4, work)
    assert_baseline(kernel)


def test_racing_closes_of_the_same_handles(kernel):
    """Threads closing the same values: each value closes exactly once."""
    p = kernel.init
    for _round in range(20):
        hs = [p.mx_event_create() for _ in range(500)]
        closed = []
        lock = threading.Lock()

        def work(i):
            n = 0
            for h in hs:
                try:
                    p.mx_handle_close(h)
                    n += 1
                except mx.MxError as e:
                    assert e.status == mx.ERR_BAD_HANDLE
            with lock:
                closed.append(n)

        run_threads(3, work)
        assert sum(closed) == len(hs)
    assert_baseline(kernel)
