"""asyncio integration: await signals, channel reads and port packets.

    import asyncio, mxhandles as mx
    from mxhandles import aio

    async def main():
        k = mx.Kernel(); p = k.init
        a, b = p.mx_channel_create()
        reader = asyncio.ensure_future(aio.channel_read(p, b))
        p.mx_channel_write(a, b"hello")
        print(await reader)              # (b'hello', [])

    asyncio.run(main())

No thread per waiter: each process that awaits something gets one
*dispatcher* — a port of its own (a handle in its table, visible like any
other) and one daemon thread blocked in ``mx_port_wait`` on it with the GIL
released.  An await registers an asynchronous wait (``mx_object_wait_async``)
that queues a packet on that port; the thread hands each packet to its
future's event loop with ``call_soon_threadsafe``.  Ten thousand concurrent
waiters cost ten thousand small kernel records and futures, and one thread.

A dispatcher lives until its process dies or ``aio.close(process)`` is
called; it keeps its ``Kernel`` alive meanwhile, so a program that makes
many kernels should close what it no longer awaits on.

The awaitables mirror the blocking syscalls, errors included: a deadline
raises ``MxError(ERR_TIMED_OUT)`` with ``.observed``; closing or moving the
awaited handle, or the process's death, raises ``ERR_CANCELED``; cancelling
the asyncio task cancels the kernel's wait.
"""
from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from . import _core
from ._args import as_int, handle_arg, u32_arg, u64_arg
from .constants import (
    CHANNEL_PEER_CLOSED,
    CHANNEL_READABLE,
    PORT_READABLE,
    TIME_INFINITE,
    WAIT_ASYNC_ONCE,
)
from .errors import ERR_CANCELED, ERR_SHOULD_WAIT, ERR_TIMED_OUT, MxError
from .process import Process
from .records import Packet

__all__ = ["wait_one", "channel_read", "port_wait", "close", "pending"]

_STOP_KEY = 0
_BATCH = 256        # packets a dispatcher takes off its port per hand-over


class _Dispatcher:
    """One process's port and the thread that drains it."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.port = process.mx_port_create()
        self.keys = itertools.count(1)
        self.waiters: Dict[int, "asyncio.Future[Packet]"] = {}
        self.thread = threading.Thread(
            target=self._run, name="mxhandles-aio-%d" % process.koid,
            daemon=True)
        self.thread.start()

    def _run(self) -> None:
        process, port = self.process, self.port
        wait, waiters = process.mx_port_wait, self.waiters
        stop = False
        while not stop:
            try:
                batch = [wait(port, TIME_INFINITE)]
            except MxError:
                break                   # the process died or the port went
            # Take whatever else is queued without blocking, and hand the
            # lot to each event loop in one call_soon_threadsafe: one
            # wake-up of the loop (and one GIL hand-over) per batch rather
            # than per packet when many waits fire at once.
            while len(batch) < _BATCH:
                try:
                    batch.append(wait(port, 0))
                except MxError:
                    break               # empty (TIMED_OUT), or the port went
            ready: Dict[Any, List[Tuple[Any, Packet]]] = {}
            for pkt in batch:
                if pkt.key == _STOP_KEY and pkt.type == 0:
                    stop = True
                    continue
                fut = waiters.pop(pkt.key, None)
                if fut is not None:
                    ready.setdefault(fut.get_loop(), []).append((fut, pkt))
            for loop, items in ready.items():
                try:
                    loop.call_soon_threadsafe(_settle_all, items)
                except RuntimeError:    # its loop is closed
                    pass
        # Leave the registry (unless close() or a newer dispatcher already
        # took the place), so that a dead process's view and its Kernel are
        # not kept alive by an entry nobody will look up again.
        with _lock:
            if _dispatchers.get(id(process)) is self:
                del _dispatchers[id(process)]
        # Whatever is still waiting will never be answered.
        for key in list(self.waiters):
            fut = self.waiters.pop(key, None)
            if fut is not None:
                try:
                    fut.get_loop().call_soon_threadsafe(
                        _fail, fut, MxError(ERR_CANCELED, "aio"))
                except RuntimeError:
                    pass

    def stop(self) -> None:
        try:
            self.process.mx_port_queue(self.port, _StopPacket())
        except MxError:
            pass
        self.thread.join(timeout=5)


class _StopPacket:
    key = _STOP_KEY
    status = 0
    user = b""


def _settle_all(items: List[Tuple["asyncio.Future[Packet]", Packet]]) -> None:
    for fut, pkt in items:
        if not fut.done():
            fut.set_result(pkt)


def _fail(fut: "asyncio.Future[Any]", exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


_dispatchers: Dict[int, _Dispatcher] = {}
_lock = threading.Lock()


def _dispatcher(process: Process) -> _Dispatcher:
    key = id(process)
    with _lock:
        d = _dispatchers.get(key)
        if d is None or not d.thread.is_alive() or d.process is not process:
            d = _Dispatcher(process)
            _dispatchers[key] = d
        return d


def close(process: Process) -> None:
    """Stops ``process``'s dispatcher thread and closes its port (pending
    awaits raise ``ERR_CANCELED``).  The next await starts a new one."""
    with _lock:
        d = _dispatchers.pop(id(process), None)
    if d is not None:
        d.stop()
        try:
            process.mx_handle_close(d.port)
        except MxError:
            pass


def pending(process: Process) -> int:
    """How many awaits of ``process`` are waiting for a packet now."""
    d = _dispatchers.get(id(process))
    return len(d.waiters) if d is not None else 0


def _timeout(deadline: int) -> Optional[float]:
    if deadline == TIME_INFINITE:
        return None
    return max(0.0, (deadline - time.monotonic_ns()) / 1e9)


async def wait_one(process: Process, h: int, signals: int,
                   deadline: int = TIME_INFINITE) -> int:
    """``mx_object_wait_one`` for asyncio: the observed signals."""
    syscall = "aio.wait_one"
    hv = handle_arg(h)
    as_int(signals, "signals")
    as_int(deadline, "deadline")
    process._check_alive(syscall)        # SPEC's order: a dead caller next
    sig = u32_arg(signals, "signals", syscall)
    dl = u64_arg(deadline, "deadline", syscall)
    try:                                 # already asserted, or a poll
        return process.mx_object_wait_one(hv, sig, 0)
    except MxError as e:
        if e.status != ERR_TIMED_OUT or dl == 0 or _timeout(dl) == 0.0:
            raise
    d = _dispatcher(process)
    key = next(d.keys)
    loop = asyncio.get_running_loop()
    fut: "asyncio.Future[Packet]" = loop.create_future()
    d.waiters[key] = fut
    rc = _core.object_wait_async(process._p, hv, d.port, key, sig,
                                 WAIT_ASYNC_ONCE, 1)
    if rc < 0:
        d.waiters.pop(key, None)
        raise MxError(rc, syscall)
    try:
        pkt = await asyncio.wait_for(fut, _timeout(dl))
    except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
        d.waiters.pop(key, None)
        try:
            process.mx_port_cancel(d.port, hv, key)
        except MxError:
            pass
        if isinstance(exc, asyncio.CancelledError):
            raise
        try:
            observed = process.mx_object_wait_one(hv, 0, 0)
        except MxError as e:
            observed = getattr(e, "observed", 0)
        raise MxError(ERR_TIMED_OUT, syscall, observed=observed) from None
    if pkt.status != 0:
        raise MxError(pkt.status, syscall)
    assert pkt.signal is not None
    return pkt.signal.observed


async def channel_read(process: Process, h: int, options: int = 0,
                       max_bytes: Optional[int] = None,
                       max_handles: Optional[int] = None,
                       deadline: int = TIME_INFINITE
                       ) -> Tuple[bytes, List[int]]:
    """``mx_channel_read`` that waits for a message: ``(bytes, handles)``.
    ``PEER_CLOSED`` once the queue is empty and the peer gone."""
    while True:
        try:
            return process.mx_channel_read(h, options, max_bytes, max_handles)
        except MxError as e:
            if e.status != ERR_SHOULD_WAIT:
                raise
        await wait_one(process, h, CHANNEL_READABLE | CHANNEL_PEER_CLOSED,
                       deadline)


async def port_wait(process: Process, port: int,
                    deadline: int = TIME_INFINITE) -> Packet:
    """``mx_port_wait`` for asyncio: the next packet on ``port``."""
    while True:
        try:
            return process.mx_port_wait(port, 0)
        except MxError as e:
            if e.status != ERR_TIMED_OUT:
                raise
        await wait_one(process, port, PORT_READABLE, deadline)
