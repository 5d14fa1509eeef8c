"""Benchmark rows for waiting: wake-ups across threads, asyncio waiters and
port round trips (registered in :data:`.rows.ROWS` after the other rows).

``wake-up latency (signal → wait_one)``
    A ping-pong between two Python threads.  The timed thread sets event
    ``e1`` and waits for ``e2`` (then clears it); a daemon thread
    (:class:`PingPong`) waits for ``e1``, clears it and sets ``e2``.  One
    loop iteration is two one-way wake-ups, so the row reads "ns per
    wake".  The ``os`` column is the standard library's equivalent, the
    same ping-pong on two ``threading.Event`` (set / wait / clear), in the
    same run; the issue's target "within 1.5x of threading.Event" is
    ``os/mx >= 0.667`` (mx/threading <= 1.5).

``aio wait (10,000 waiters)``
    One-shot: ``aio.wait_one`` on 10,000 events (one waiter each) as
    10,000 tasks, every one parked in its wait, then every event signaled
    and all the tasks gathered; ns per waiter.  The ``os`` column is the
    same with 10,000 ``asyncio.Event`` and a task waiting on each.  The
    memory a pending waiter costs is measured once per run (in the row's
    setup, untimed) with :mod:`tracemalloc` (the Python heap) and, where
    glibc's ``mallinfo2`` is there, the C core's own records (not seen by
    tracemalloc); it is reported as the row's notes (and ``info`` in the
    JSON).

``port queue+wait``
    ``mx_port_queue`` of a user packet (32-byte payload) and
    ``mx_port_wait`` of it (one thread; the packet is there, so nothing
    blocks); the model's variant where the model has ports; the real
    kernel's nearest equivalent is a 48-byte write and read on a pipe.
"""
from __future__ import annotations

import asyncio
import functools
import os
import threading
import tracemalloc
from typing import Any, Callable, Dict, List, Optional, Sequence

from .. import aio
from ..constants import TIME_INFINITE, USER_SIGNAL_0
from ..kernel import Kernel
from ..records import PortPacket
from .rows import Fixture, Row, Target, floor_env

_U0 = int(USER_SIGNAL_0)
_INF = int(TIME_INFINITE)


def has_waits(proc: Any) -> bool:
    """Whether ``proc`` (a real or a model process) has the blocking
    waits (the model grows them separately)."""
    return all(hasattr(proc, name) for name in (
        "mx_object_wait_one", "mx_object_signal"))


def has_ports(proc: Any) -> bool:
    """Whether ``proc`` (a real or a model process) has the port calls."""
    return all(hasattr(proc, name) for name in (
        "mx_port_create", "mx_port_queue", "mx_port_wait"))


# -- wake-up latency -------------------------------------------------------------


class PingPong:
    """The far end of a wake-up ping-pong: a daemon thread that, until
    :meth:`stop`, calls ``wait1()`` (wait for the first event), ``clear1()``
    and ``set2()`` (wake the near end).  ``kick`` sets the first event, as
    the near end does; :meth:`stop` uses it to let the thread see the stop
    flag."""

    def __init__(self, wait1: Callable[[], Any], clear1: Callable[[], Any],
                 set2: Callable[[], Any], kick: Callable[[], Any]) -> None:
        self._steps = (wait1, clear1, set2)
        self._kick = kick
        self._stop = False
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name="mxhandles-bench-pingpong")
        self.thread.start()

    def _run(self) -> None:
        wait1, clear1, set2 = self._steps
        try:
            while True:
                wait1()
                clear1()
                if self._stop:
                    return
                set2()
        except BaseException as exc:  # reported by stop(), not lost
            self.error = exc

    def stop(self) -> None:
        """Ends the thread (joins it for at most 10 s)."""
        self._stop = True
        if self.thread.is_alive():
            self._kick()
            self.thread.join(timeout=10)


_WAKE_MX = "signal(e1, 0, U0)\nwait(e2, U0, INF)\nsignal(e2, U0, 0)"
_WAKE_OS = "set1()\nwait2()\nclear2()"


def _mx_pingpong_env(fixture: Fixture, proc: Any) -> Dict[str, Any]:
    e1, e2 = proc.mx_event_create(), proc.mx_event_create()
    wait, signal = proc.mx_object_wait_one, proc.mx_object_signal
    far = PingPong(functools.partial(wait, e1, _U0, _INF),
                   functools.partial(signal, e1, _U0, 0),
                   functools.partial(signal, e2, 0, _U0),
                   functools.partial(signal, e1, 0, _U0))
    fixture.cleanups.append(far.stop)
    return {"signal": signal, "wait": wait, "e1": e1, "e2": e2, "U0": _U0,
            "INF": _INF}


def wake_fixture() -> Fixture:
    """The setup of the wake-up row: for each kernel (the model where it
    has waits) two events ``e1``/``e2`` of init, its ``signal`` and
    ``wait``, and a :class:`PingPong` thread serving them; two
    ``threading.Event`` and their own :class:`PingPong` for the ``os``
    column.  The threads stop at the fixture's close."""
    from ..model import ModelKernel

    fixture = Fixture({"floor": None})
    procs = {"mx": Kernel(seed=1).init, "model": ModelKernel(seed=1).init}
    for name, proc in procs.items():
        fixture.envs[name] = (_mx_pingpong_env(fixture, proc)
                              if has_waits(proc) else None)
    ev1, ev2 = threading.Event(), threading.Event()
    far = PingPong(ev1.wait, ev1.clear, ev2.set, ev1.set)
    fixture.cleanups.append(far.stop)
    fixture.envs["os"] = {"set1": ev1.set, "wait2": ev2.wait,
                          "clear2": ev2.clear}
    return fixture


# -- asyncio waiters ------------------------------------------------------------

#: Waiters (and events) of the aio row.
AIO_WAITERS = 10_000


async def aio_round(proc: Any, events: Sequence[int], signals: int,
                    probe: Optional[Callable[[], None]] = None) -> int:
    """One round of the aio row: an ``aio.wait_one`` task per event, all
    parked in their waits (``probe()`` is called then), every event
    signaled, every task gathered.  Returns how many woke."""
    ensure = asyncio.ensure_future
    wait_one = aio.wait_one
    tasks = [ensure(wait_one(proc, e, signals)) for e in events]
    await asyncio.sleep(0)      # each task runs up to its wait
    if probe is not None:
        probe()
    signal = proc.mx_object_signal
    for e in events:
        signal(e, 0, signals)
    woken = await asyncio.gather(*tasks)
    if len(woken) != len(events) or not all(o & signals for o in woken):
        raise RuntimeError("aio round: %d of %d waiters saw the signal"
                           % (sum(1 for o in woken if o & signals),
                              len(events)))
    return len(woken)


async def asyncio_round(events: Sequence[asyncio.Event],
                        probe: Optional[Callable[[], None]] = None) -> int:
    """The baseline's round: a task waiting on each ``asyncio.Event``,
    every event set, every task gathered."""
    ensure = asyncio.ensure_future
    tasks = [ensure(e.wait()) for e in events]
    await asyncio.sleep(0)
    if probe is not None:
        probe()
    for e in events:
        e.set()
    return len(await asyncio.gather(*tasks))


def _traced_bytes_while_pending(run: Callable[[Any], Any],
                                round_: Callable[..., Any]) -> float:
    """Python-heap bytes (tracemalloc) in use once every waiter of one
    round is pending, over the bytes in use before the round started."""
    seen: List[int] = []
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run(round_(probe=lambda: seen.append(
            tracemalloc.get_traced_memory()[0])))
    finally:
        if started:
            tracemalloc.stop()
    return float(seen[0] - before)


def _malloc_in_use() -> Optional[Callable[[], int]]:
    """A function returning the bytes glibc's malloc has handed out
    (``mallinfo2``: uordblks + hblkhd), or ``None`` elsewhere."""
    try:
        import ctypes
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError, ImportError):
        return None

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
            "fsmblks", "uordblks", "fordblks", "keepcost")]

    mallinfo2.restype = MallInfo2
    mallinfo2.argtypes = []

    def in_use() -> int:
        m = mallinfo2()
        return int(m.uordblks + m.hblkhd)

    return in_use


def c_bytes_per_async_wait(kernel: Kernel, n: int = AIO_WAITERS
                           ) -> Optional[float]:
    """The C core's malloc bytes for one pending async wait (what each
    ``aio.wait_one`` adds in C, invisible to tracemalloc): ``n`` waits
    made straight through the C call on a scratch event and port, measured
    with ``mallinfo2``, then ended.  ``None`` without glibc."""
    from .. import _core

    in_use = _malloc_in_use()
    if in_use is None:
        return None
    proc = kernel.init
    ev, port = proc.mx_event_create(), proc.mx_port_create()
    wait_async = _core.object_wait_async
    p = proc._p
    keys = list(range(1, n + 1))  # made before the first reading
    try:
        before = in_use()
        for key in keys:
            rc = wait_async(p, ev, port, key, _U0, 0, 0)
            if rc < 0:
                return None
        after = in_use()
    finally:
        proc.mx_handle_close(ev)    # ends the n waits
        proc.mx_handle_close(port)
    return (after - before) / n


def aio_fixture() -> Fixture:
    """The setup of the aio row: an event loop, :data:`AIO_WAITERS` events
    of init and ``go`` (one :func:`aio_round` over them) for mx; as many
    ``asyncio.Event`` and :func:`asyncio_round` for the ``os`` column.
    Each variant's ``prepare`` clears its events (untimed).  The memory
    per pending waiter is measured here, on each variant's first round,
    and left in the fixture's notes and info; the dispatcher thread and
    the loop go at the fixture's close."""
    fixture = Fixture({"model": None, "floor": None})
    loop = asyncio.new_event_loop()
    fixture.cleanups.append(loop.close)
    run = loop.run_until_complete

    kernel = Kernel(seed=1)
    proc = kernel.init
    fixture.cleanups.append(functools.partial(aio.close, proc))
    events = [proc.mx_event_create() for _ in range(AIO_WAITERS)]
    signal = proc.mx_object_signal

    def prepare_mx(env: Dict[str, Any]) -> None:
        for e in events:
            signal(e, _U0, 0)

    loop_events = [asyncio.Event() for _ in range(AIO_WAITERS)]

    def prepare_os(env: Dict[str, Any]) -> None:
        for e in loop_events:
            e.clear()

    mx_round = functools.partial(aio_round, proc, events, _U0)
    os_round = functools.partial(asyncio_round, loop_events)
    fixture.envs["mx"] = {"run": run, "go": mx_round}
    fixture.envs["os"] = {"run": run, "go": os_round}
    fixture.prepare = {"mx": prepare_mx, "os": prepare_os}

    n = AIO_WAITERS
    prepare_mx({})
    mx_bytes = _traced_bytes_while_pending(run, mx_round) / n
    prepare_os({})
    os_bytes = _traced_bytes_while_pending(run, os_round) / n
    c_bytes = c_bytes_per_async_wait(kernel)
    info: Dict[str, Any] = {"python_bytes_per_waiter": {
        "mx": round(mx_bytes, 1), "os": round(os_bytes, 1)}}
    note = ("memory per pending waiter (tracemalloc, Python heap, first "
            "round of %s): aio.wait_one {:,.0f} B, asyncio.Event {:,.0f} B"
            % "{:,}".format(n)).format(mx_bytes, os_bytes)
    if c_bytes is not None:
        info["c_bytes_per_async_wait"] = round(c_bytes, 1)
        note += ("; plus {:,.0f} B in the C core per async wait (malloc, "
                 "mallinfo2; not seen by tracemalloc): {:,.0f} B in all"
                 ).format(c_bytes, mx_bytes + c_bytes)
    fixture.notes.append(note)
    fixture.info.update(info)
    return fixture


# -- port round trip ------------------------------------------------------------

#: The payload of the port row's user packet (the most a packet carries).
PAYLOAD = b"p" * 32


def _port_env(proc: Any) -> Dict[str, Any]:
    return {"queue": proc.mx_port_queue, "wait": proc.mx_port_wait,
            "port": proc.mx_port_create(), "PKT": PortPacket(1, 0, PAYLOAD),
            "INF": _INF}


def port_fixture() -> Fixture:
    """The setup of the port row: init's ``queue`` and ``wait``, a ``port``
    and the packet ``PKT`` on both kernels (the model's variant where it
    has ports); floor locals; a pipe ``r``/``w`` and a 48-byte ``BUF`` (a
    packet's key, status and payload) for the real kernel."""
    from ..model import ModelKernel

    kernel = Kernel(seed=1)
    model = ModelKernel(seed=1).init
    fixture = Fixture({})
    mx_env = _port_env(kernel.init)
    r, w = os.pipe()
    fixture.cleanups.append(lambda: os.close(r))
    fixture.cleanups.append(lambda: os.close(w))
    fixture.envs = {
        "mx": mx_env,
        "model": _port_env(model) if has_ports(model) else None,
        "floor": floor_env(kernel, mx_env["port"]),
        "os": {"write": os.write, "read": os.read, "r": r, "w": w,
               "BUF": bytes(48), "N": 48},
    }
    return fixture


# -- the rows --------------------------------------------------------------------

WAIT_ROWS: List[Row] = [
    Row(
        name="wake-up latency (signal \u2192 wait_one)",
        doc="ping-pong between two Python threads: this one sets event e1 "
        "and waits for e2 (then clears it), the other waits for e1, clears "
        "it and sets e2; two one-way wake-ups a round trip, ns per wake",
        mx=_WAKE_MX,
        floor=None,
        floor_doc="none (the time is the wake-up, not the calls)",
        os=_WAKE_OS,
        os_doc="threading.Event set / wait / clear, the same ping-pong "
        "(not the real kernel: the standard library's nearest)",
        setup=wake_fixture,
        per=2,
        unit="wake",
        # The issue: wake-up latency within 1.5x of threading.Event's, in
        # the same run: mx/threading <= 1.5, i.e. os/mx >= 1/1.5.
        targets=(Target("os/mx", ">=", 0.667),),
    ),
    Row(
        name="aio wait (%s waiters)" % "{:,}".format(AIO_WAITERS),
        doc="%s asyncio tasks each awaiting aio.wait_one on its own event, "
        "all parked, then every event signaled and every task gathered "
        "(one-shot: the events are cleared before every sample); ns per "
        "waiter" % "{:,}".format(AIO_WAITERS),
        mx="run(go())",
        floor=None,
        floor_doc="none (the time is the event loop's and the dispatcher's)",
        os="run(go())",
        os_doc="%s asyncio.Event, a task waiting on each, every one set, "
        "every task gathered (the standard library's nearest)"
        % "{:,}".format(AIO_WAITERS),
        setup=aio_fixture,
        per=AIO_WAITERS,
        unit="waiter",
        # The issue: 10,000 concurrent waiters on 10,000 events, all woken
        # (aio_round raises otherwise), with memory per waiter reported
        # (the notes).  A bar of its own: at most 3x asyncio.Event's cost.
        targets=(Target("os/mx", ">=", 0.333),),
        max_repeats=(5, 15),
    ),
    Row(
        name="port queue+wait",
        doc="mx_port_queue of a user packet with a 32-byte payload, then "
        "mx_port_wait of it (one thread: the packet is there, nothing "
        "blocks)",
        mx="queue(port, PKT)\nwait(port, INF)",
        floor="phr(p, h, r)\nphr(p, h, r)",
        floor_doc="two empty (p, h, rights) calls, an approximation: the C "
        "queue takes 6 arguments (key, status, payload), the wait 4 "
        "(deadline, out-packet)",
        os="write(w, BUF)\nread(r, N)",
        os_doc="os.write of a 48-byte packet (key, status, payload) to a "
        "pipe + os.read of it",
        setup=port_fixture,
        targets=(Target("model/mx", ">=", 3),),
    ),
]
