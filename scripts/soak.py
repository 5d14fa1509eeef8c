#!/usr/bin/env python3
"""Soak test: several threads of random syscall traffic for minutes.

    python scripts/soak.py [--threads 4] [--seconds 600] [--sample 5]
                           [--warmup 60] [--max-growth-mb 16] [--seed N]

Each worker thread runs episodes: it makes a job under the root job, a few
processes in it (started, each with a channel to the worker's hub process as
its bootstrap handle), and for a while sends random traffic through them -
handles created, duplicated, replaced and closed; messages carrying handles
written and read across processes; signals and waits with short deadlines
(other workers' signals end them); ports with user packets and async waits;
unreachable channel cycles left for collect(); processes and threads created
and killed.  Now and then a worker acts as a process of another worker's
episode, racing its owner.  An episode ends by killing its job.  A sampler
thread records the resident set size (RSS) every --sample seconds, and every
worker counts its calls and errors.

At the end the workers stop, every job is killed, init closes everything
it holds, collect() runs, and the kernel must be back at the stats() it had
before the run.  RSS must not grow by more than --max-growth-mb between the
end of the warm-up and the end.  Exit status 0 when both hold, 1 when not,
2 when a worker raised anything but MxError (or a syscall raised an error
the traffic can never cause: the stray errors are listed).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import random
import sys
import threading
import time
import tracemalloc
from typing import Any, Dict, List, Optional

import mxhandles as mx

# Errors the random traffic causes by design: stale or other processes'
# values after races, missing rights after a duplicate with fewer rights,
# dead processes, closed peers, full queues, timeouts, wrong types.
EXPECTED = {
    mx.ERR_BAD_HANDLE, mx.ERR_BAD_STATE, mx.ERR_ACCESS_DENIED,
    mx.ERR_PEER_CLOSED, mx.ERR_SHOULD_WAIT, mx.ERR_TIMED_OUT,
    mx.ERR_CANCELED, mx.ERR_WRONG_TYPE, mx.ERR_NOT_FOUND,
    mx.ERR_NOT_SUPPORTED, mx.ERR_INVALID_ARGS, mx.ERR_BUFFER_TOO_SMALL,
    mx.ERR_CALL_FAILED,
}

MS = 1_000_000


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
        "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mallinfo2() -> Any:
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    return fn


_MALLINFO2 = _mallinfo2()


def malloc_in_use_kb() -> int:
    """Bytes handed out by malloc and not freed (glibc, every arena): the C
    core's memory plus Python's larger blocks; 0 where unknown."""
    if _MALLINFO2 is None:
        return 0
    mi = _MALLINFO2()
    return (mi.uordblks + mi.hblkhd) // 1024


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Episode:
    """One worker's job and processes, and the handle values it believes
    each process holds (other workers may read these lists and use the
    values: a stale one is just BAD_HANDLE)."""

    def __init__(self) -> None:
        self.job = 0                       # init's handle to the job
        self.procs: List[mx.Process] = []
        self.values: Dict[int, List[int]] = {}   # koid -> values
        self.proc_handles: List[int] = []  # init's handles to the processes
        self.thread_handles: List[int] = []  # ... and to their first threads


class Worker(threading.Thread):
    def __init__(self, soak: "Soak", index: int, seed: int) -> None:
        super().__init__(name="soak-%d" % index, daemon=True)
        self.soak = soak
        self.rng = random.Random(seed)
        self.calls = 0
        self.errors: Dict[str, int] = {}
        self.stray: List[str] = []
        self.crash: Optional[BaseException] = None
        self.episodes = 0
        self.episode: Optional[Episode] = None

    # -- helpers --------------------------------------------------------------------

    def call(self, fn: Any, *args: Any) -> Any:
        self.calls += 1
        try:
            return fn(*args)
        except mx.MxError as e:
            self.errors[e.name] = self.errors.get(e.name, 0) + 1
            if e.status not in EXPECTED:
                self.stray.append("%s%r: %s" % (fn.__name__, args[:2], e.name))
            return None

    def ok(self, fn: Any, *args: Any) -> bool:
        """As call, for syscalls that return None: True on success."""
        self.calls += 1
        try:
            fn(*args)
            return True
        except mx.MxError as e:
            self.errors[e.name] = self.errors.get(e.name, 0) + 1
            if e.status not in EXPECTED:
                self.stray.append("%s%r: %s" % (fn.__name__, args[:2], e.name))
            return False

    def values(self, ep: Episode, p: mx.Process) -> List[int]:
        return ep.values.setdefault(p.koid, [])

    def pick(self, ep: Episode, p: mx.Process) -> int:
        vals = self.values(ep, p)
        if vals and self.rng.random() < 0.95:
            return self.rng.choice(vals)
        return self.rng.randrange(1, 2**31)

    def forget(self, ep: Episode, p: mx.Process, v: int) -> None:
        try:
            self.values(ep, p).remove(v)
        except ValueError:
            pass

    # -- an episode ------------------------------------------------------------------

    def start_episode(self) -> Episode:
        init = self.soak.k.init
        ep = Episode()
        ep.job = init.mx_job_create(init.mx_job_default())
        for i in range(self.rng.randrange(2, 5)):
            self.spawn(ep, "p%d" % i)
        self.episode = ep
        self.episodes += 1
        return ep

    def spawn(self, ep: Episode, name: str) -> None:
        init = self.soak.k.init
        ph = self.call(init.mx_process_create, ep.job, name)
        if ph is None:
            return
        th = self.call(init.mx_thread_create, ph, "main")
        mine, theirs = init.mx_channel_create()
        # The process's end of a channel whose other end goes to the hub.
        if th is None or not self.ok(init.mx_process_start, ph, th, None,
                                     None, theirs, 0):
            init.mx_handle_close_many([x for x in (th, mine, theirs) if x])
            self.call(init.mx_handle_close, ph)
            return
        koid = init.mx_object_get_info(ph, mx.INFO_HANDLE_BASIC).koid
        p = self.soak.k.process(koid)
        ep.procs.append(p)
        # The thread's handle too: its last handle closing would kill the
        # thread, and with it the process (its last thread).
        ep.proc_handles.append(ph)
        ep.thread_handles.append(th)
        assert p.start_info is not None
        self.values(ep, p).append(p.start_info.arg1)
        # The hub keeps the other end; it reads and forwards now and then.
        self.soak.hub_give(init, mine)

    def end_episode(self, ep: Episode) -> None:
        init = self.soak.k.init
        self.episode = None
        self.call(init.mx_task_kill, ep.job)
        init.mx_handle_close_many(ep.proc_handles + ep.thread_handles
                                  + [ep.job])
        if self.rng.random() < 0.3:
            self.soak.k.collect()

    # -- traffic ------------------------------------------------------------------------

    def step(self, ep: Episode) -> None:
        rng = self.rng
        if not ep.procs:
            return
        own = ep
        # Now and then act as a process of another worker's episode.
        if rng.random() < 0.05:
            other = self.soak.random_episode(rng)
            if other is not None and other.procs:
                ep = other
        p = rng.choice(ep.procs)
        vals = self.values(ep, p)
        op = rng.randrange(17)
        if len(vals) > 200:
            op = 3   # keep the tables small: close
        if op == 0:
            v = self.call(p.mx_event_create)
            if v:
                vals.append(v)
        elif op == 1:
            pair = self.call(rng.choice([p.mx_channel_create,
                                         p.mx_eventpair_create]))
            if pair:
                vals.extend(pair)
        elif op == 2:
            v = self.call(p.mx_port_create)
            if v:
                vals.append(v)
        elif op == 3:
            v = self.pick(ep, p)
            self.call(p.mx_handle_close, v)
            self.forget(ep, p, v)
        elif op == 4:
            v = self.pick(ep, p)
            r = rng.choice([mx.RIGHT_SAME_RIGHTS, mx.RIGHT_READ | mx.RIGHT_WRITE
                            | mx.RIGHT_TRANSFER | mx.RIGHT_DUPLICATE])
            n = self.call(p.mx_handle_duplicate, v, r)
            if n:
                vals.append(n)
        elif op == 5:
            v = self.pick(ep, p)
            n = self.call(p.mx_handle_replace, v, mx.RIGHT_SAME_RIGHTS)
            if n:
                self.forget(ep, p, v)
                vals.append(n)
        elif op in (6, 7):
            # A message with up to 3 handles to a channel of this process.
            v = self.pick(ep, p)
            hs = [self.pick(ep, p) for _ in range(rng.randrange(4))]
            hs = list(dict.fromkeys(h for h in hs if h != v))
            data = os.urandom(rng.randrange(0, 256))
            if self.ok(p.mx_channel_write, v, data, hs):
                for h in hs:     # moved: all or nothing
                    self.forget(ep, p, h)
        elif op == 8:
            v = self.pick(ep, p)
            got = self.call(p.mx_channel_read, v)
            if got:
                vals.extend(got[1])
        elif op == 9:
            v = self.pick(ep, p)
            self.call(p.mx_object_signal, v, 0, rng.choice(
                [mx.EVENT_SIGNALED, mx.USER_SIGNAL_0, 0]))
        elif op == 10:
            v = self.pick(ep, p)
            self.call(p.mx_object_wait_one, v,
                      mx.EVENT_SIGNALED | mx.CHANNEL_READABLE,
                      mx.deadline_after(rng.randrange(0, 2 * MS)))
        elif op == 11:
            items = [(self.pick(ep, p), 0xffffffff)
                     for _ in range(rng.randrange(1, 4))]
            self.call(p.mx_object_wait_many, items,
                      mx.deadline_after(rng.randrange(0, MS)))
        elif op == 12:
            port, h = self.pick(ep, p), self.pick(ep, p)
            if rng.random() < 0.5:
                self.call(p.mx_object_wait_async, h, port, rng.randrange(8),
                          0xffffffff, rng.choice([mx.WAIT_ASYNC_ONCE,
                                                  mx.WAIT_ASYNC_REPEATING]))
            elif rng.random() < 0.5:
                self.call(p.mx_port_queue, port,
                          mx.PortPacket(rng.randrange(8), 0, b"soak"))
            elif rng.random() < 0.5:
                self.call(p.mx_port_wait, port, mx.deadline_after(100_000))
            else:
                self.call(p.mx_port_cancel, port, h, rng.randrange(8))
        elif op == 13:
            # An unreachable cycle: each end of a channel in the other's
            # queue (collect() reclaims it).
            pair = self.call(p.mx_channel_create)
            if pair:
                a, b = pair
                c = self.call(p.mx_channel_create)
                if c:
                    self.call(p.mx_channel_write, a, b"cycle", [c[0]])
                    self.call(p.mx_channel_write, c[1], b"cycle", [b])
                    self.call(p.mx_handle_close_many, [a, c[1]])
        elif op == 14 and ep is own:
            init = self.soak.k.init
            x = rng.random()
            if x < 0.05:
                self.ok(p.mx_process_exit, rng.randrange(100))
            elif x < 0.1:
                self.ok(init.mx_task_kill, rng.choice(ep.proc_handles))
            elif x < 0.3 and len(ep.procs) < 6:
                self.spawn(ep, "late")
            else:
                # A second thread of a process: started, then killed.
                th = self.call(init.mx_thread_create,
                               rng.choice(ep.proc_handles), "extra")
                if th:
                    self.ok(init.mx_thread_start, th, None, None, 0, 0)
                    if rng.random() < 0.7:
                        self.ok(init.mx_task_kill, th)
                    init.mx_handle_close(th)
        elif op == 15:
            # Send one of p's handles to the hub through its bootstrap
            # channel; the hub reads and forwards it later.
            v = self.pick(ep, p)
            boot = p.start_info.arg1 if p.start_info else 0
            if v != boot and self.ok(p.mx_channel_write, boot, b"up", [v]):
                self.forget(ep, p, v)
        else:
            self.soak.hub_round(self.rng)

    def run(self) -> None:
        try:
            while not self.soak.stop.is_set():
                ep = self.start_episode()
                for _ in range(self.rng.randrange(50, 400)):
                    if self.soak.stop.is_set():
                        break
                    self.step(ep)
                self.end_episode(ep)
        except BaseException as e:   # noqa: BLE001 - reported by main
            self.crash = e
            import traceback
            traceback.print_exc()


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.k = mx.Kernel()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.hub = self.k.init      # init doubles as the hub
        self.hub_ends: List[int] = []
        self.workers: List[Worker] = []
        self.samples: List[tuple] = []

    def hub_give(self, init: mx.Process, end: int) -> None:
        with self.lock:
            self.hub_ends.append(end)
            if len(self.hub_ends) > 64:
                old = self.hub_ends.pop(0)
            else:
                old = 0
        if old:
            try:
                init.mx_handle_close(old)
            except mx.MxError:
                pass

    def hub_round(self, rng: random.Random) -> None:
        """The hub reads a message from one of its channels and writes what
        it carried to another (handles move between episodes)."""
        with self.lock:
            if len(self.hub_ends) < 2:
                return
            src, dst = rng.sample(self.hub_ends, 2)
        init = self.k.init
        try:
            data, hs = init.mx_channel_read(src)
        except mx.MxError:
            return
        try:
            init.mx_channel_write(dst, data, hs)
        except mx.MxError:
            init.mx_handle_close_many(hs)

    def random_episode(self, rng: random.Random) -> Optional[Episode]:
        w = rng.choice(self.workers)
        return w.episode

    def sampler(self) -> None:
        t0 = time.monotonic()
        while not self.stop.wait(self.args.sample):
            traced = tracemalloc.get_traced_memory()[0] // 1024 \
                if tracemalloc.is_tracing() else 0
            self.samples.append((time.monotonic() - t0, rss_kb(),
                                 self.k.stats().live_handles, traced,
                                 malloc_in_use_kb()))

    def run(self) -> int:
        a = self.args
        init = self.k.init
        baseline = self.k.stats()
        rss0 = rss_kb()
        print("soak: %d threads x %ds; baseline %s; rss %d kB"
              % (a.threads, a.seconds, baseline, rss0), flush=True)
        seeds = random.Random(a.seed)
        self.workers = [Worker(self, i, seeds.randrange(2**63))
                        for i in range(a.threads)]
        sampler = threading.Thread(target=self.sampler, daemon=True)
        t0 = time.monotonic()
        for w in self.workers:
            w.start()
        sampler.start()
        next_report = t0 + 60
        while time.monotonic() - t0 < a.seconds:
            time.sleep(0.5)
            if any(not w.is_alive() for w in self.workers):
                break
            if time.monotonic() >= next_report:
                next_report += 60
                s = self.samples[-1] if self.samples else (0, 0, 0, 0, 0)
                print("soak: %4.0fs rss %d kB, malloc in use %d kB, %d live "
                      "handles, %d calls" % (s[0], s[1], s[4], s[2],
                                             sum(w.calls for w in self.workers)),
                      flush=True)
        self.stop.set()
        for w in self.workers:
            w.join(30)
        sampler.join(a.sample + 5)
        elapsed = time.monotonic() - t0

        # Tear down: every job and process killed, init's handles closed.
        with self.lock:
            ends, self.hub_ends = self.hub_ends, []
        if ends:
            init.mx_handle_close_many(ends)
        collected = self.k.collect()
        end = self.k.stats()
        rss1 = rss_kb()

        calls = sum(w.calls for w in self.workers)
        errors: Dict[str, int] = {}
        for w in self.workers:
            for k, v in w.errors.items():
                errors[k] = errors.get(k, 0) + v
        stray = [s for w in self.workers for s in w.stray]
        crashes = [w for w in self.workers if w.crash is not None]
        after = [s for s in self.samples if s[0] >= a.warmup]
        rss_warm = after[0][1] if after else rss0
        rss_max = max([s[1] for s in self.samples] + [rss1])
        growth_kb = rss1 - rss_warm
        print("soak: %.0fs, %d threads, %d episodes, %d calls (%.0f/s), "
              "errors %s" % (elapsed, a.threads,
                             sum(w.episodes for w in self.workers), calls,
                             calls / elapsed, dict(sorted(errors.items()))))
        print("soak: rss first %d kB, after warm-up (%ds) %d kB, last %d kB,"
              " max %d kB; growth after warm-up %+d kB (limit %d kB)"
              % (rss0, a.warmup, rss_warm, rss1, rss_max, growth_kb,
                 a.max_growth_mb * 1024))
        if after:
            print("soak: malloc in use (C core and Python's large blocks) "
                  "after warm-up %d kB, at the end of the traffic %d kB, "
                  "after teardown %d kB" % (after[0][4], self.samples[-1][4],
                                            malloc_in_use_kb()))
        if tracemalloc.is_tracing():
            warm_py = after[0][3] if after else 0
            now_py = tracemalloc.get_traced_memory()[0] // 1024
            print("soak: Python heap (tracemalloc) after warm-up %d kB, last "
                  "%d kB (%+d kB): the rest of the RSS growth is outside "
                  "Python's allocator" % (warm_py, now_py, now_py - warm_py))
        print("soak: final collect() destroyed %d; stats %s" % (collected,
                                                                  end))
        ok = True
        if end != mx.Stats(baseline.live_handles, baseline.in_transit_handles,
                           baseline.live_objects, end.destroyed_objects):
            print("soak: FAIL: stats differ from the baseline %s" % (baseline,))
            ok = False
        if growth_kb > a.max_growth_mb * 1024:
            print("soak: FAIL: resident memory grew after the warm-up")
            ok = False
        if crashes or stray:
            for s in sorted(set(stray))[:20]:
                print("soak: stray error: %s" % s)
            print("soak: FAIL: %d workers crashed, %d stray errors"
                  % (len(crashes), len(stray)))
            return 2
        print("soak: %s" % ("ok" if ok else "FAILED"))
        return 0 if ok else 1


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--sample", type=float, default=5,
                    help="seconds between RSS samples")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before RSS counts (default: 10%% of the "
                         "run, at most 60)")
    ap.add_argument("--max-growth-mb", type=float, default=16)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--tracemalloc", action="store_true",
                    help="also trace Python's heap (slower), to tell its "
                         "growth from the C core's")
    args = ap.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(60.0, args.seconds / 10)
    if args.seed is None:
        args.seed = random.randrange(2**32)
    print("soak: seed %d" % args.seed)
    if args.tracemalloc:
        tracemalloc.start()
    return Soak(args).run()


if __name__ == "__main__":
    sys.exit(main())
