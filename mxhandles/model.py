"""A pure-Python model of the Magenta handle model (the contract is SPEC.md).

This module is the *oracle* of the differential tests (hypothesis drives the
C-backed :class:`mxhandles.Kernel` and :class:`ModelKernel` with the same
calls and compares every result, every error and ``stats()``) and the
*baseline* of the benchmarks (the same syscall written in plain Python).  So
it aims, in this order, at being exactly what SPEC says, easy to read, and
free of needless work on the hot paths (create, duplicate, close).

It imports nothing from the C core: only the shared constants, errors and
records.

Layout
------
``ModelKernel``
    Owns everything: the koid counter, the live objects by koid, the handle
    and object counters behind ``stats()``, one ``threading.RLock`` that
    every syscall holds for its whole run, and the reference-count machinery
    (``_bind``, ``_drop_handle``, ``_release``, ``_destroy``), and the
    inspection calls ``stats()``, ``snapshot()`` and ``collect()``.
``ModelObject`` and one subclass per object type
    An object is its koid, its signal word, its handle count and its
    reference count (handles plus references the kernel holds).  Per-type
    behaviour is in class attributes (``type``, ``stats_key``,
    ``user_signals``) and two hooks: ``on_zero_handles`` (SPEC §5 rule 2)
    and ``on_destroy`` (rule 3).  Event pair ends and channel endpoints
    share ``ModelPeered``.
``ModelChannel``
    A channel endpoint: its queue of ``_Message`` (bytes plus handles in
    transit, owned by the kernel) and the ``_Call`` s waiting on it for a
    reply.  Writing moves the handles out of the writer's table into a
    message that goes to the peer's queue (or straight to a call waiting
    there for its txid); reading binds them into the reader's table.
    Destroying an endpoint hands its queued handles back to the kernel,
    which closes them iteratively.  Calls block on ``ModelKernel._cond``,
    a ``threading.Condition`` on the kernel lock.
``ModelProcess``
    Both the process *object* and its syscall surface (the methods named
    ``mx_*``).  Its handle table is a plain dict ``value -> (object,
    rights)``: a handle is that 2-tuple, owned by the table that holds it
    (or by the kernel while it sits in a channel message).

Argument handling follows SPEC §3 and is the same for every syscall:
arguments are converted to ints first (``TypeError`` for anything that is
not an int, a bool or an object with ``__index__``), then, holding the
kernel lock, a dead caller gets ``ERR_BAD_STATE``, then rights, masks and
options outside ``0 .. 2**32-1`` get ``ERR_INVALID_ARGS``, then the checks
of the syscall's errors column in order.  A handle argument is just looked
up in the caller's table, so negative, zero, huge, stale and foreign values
all come out as ``ERR_BAD_HANDLE``.
"""
from __future__ import annotations

import operator
import random
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, Iterable, List, Optional, Tuple

from .constants import (
    CHANNEL_MAX_MSG_BYTES,
    CHANNEL_MAX_MSG_HANDLES,
    CHANNEL_PEER_CLOSED,
    CHANNEL_READ_MAY_DISCARD,
    CHANNEL_READABLE,
    CHANNEL_WRITABLE,
    DEFAULT_CHANNEL_RIGHTS,
    DEFAULT_EVENT_RIGHTS,
    DEFAULT_EVENTPAIR_RIGHTS,
    EPAIR_PEER_CLOSED,
    EPAIR_SIGNALED,
    EVENT_SIGNALED,
    HANDLE_INVALID,
    HANDLE_VALUE_MAX,
    INFO_HANDLE_BASIC,
    INFO_HANDLE_VALID,
    INFO_JOB_CHILDREN,
    INFO_JOB_PROCESSES,
    INFO_PROCESS,
    INFO_PROCESS_HANDLES,
    INFO_PROCESS_THREADS,
    OBJ_PROP_WAITABLE,
    RIGHT_DUPLICATE,
    RIGHT_ENUMERATE,
    RIGHT_READ,
    RIGHT_SAME_RIGHTS,
    RIGHT_TRANSFER,
    RIGHT_WRITE,
    STATS_KEYS,
    TIME_INFINITE,
    U32_MAX,
    U64_MAX,
    USER_SIGNAL_ALL,
    DEFAULT_JOB_RIGHTS,
    ObjType,
)
from .errors import (
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
from .records import HandleBasic, HandleEntry, ProcessInfo, Stats

__all__ = [
    "ModelKernel",
    "ModelObject",
    "ModelPeered",
    "ModelEvent",
    "ModelEventPair",
    "ModelChannel",
    "ModelJob",
    "ModelProcess",
    "ModelThread",
    "Handle",
]

#: A handle as the model keeps it: ``(object, rights)``.  The table that
#: holds the tuple is its owner; the tuple itself is never shared.
Handle = Tuple["ModelObject", int]

# Plain ints for the hot paths (the constants module has IntFlag members).
_DUP = int(RIGHT_DUPLICATE)
_WRITE = int(RIGHT_WRITE)
_SAME = int(RIGHT_SAME_RIGHTS)
_READ = int(RIGHT_READ)
_TRANSFER = int(RIGHT_TRANSFER)
_EVENT_RIGHTS = int(DEFAULT_EVENT_RIGHTS)
_EPAIR_RIGHTS = int(DEFAULT_EVENTPAIR_RIGHTS)
_CHANNEL_RIGHTS = int(DEFAULT_CHANNEL_RIGHTS)
_MAX_BYTES = int(CHANNEL_MAX_MSG_BYTES)
_MAX_HANDLES = int(CHANNEL_MAX_MSG_HANDLES)
_MAY_DISCARD = int(CHANNEL_READ_MAY_DISCARD)

#: Handle values are a per-process counter sent through a keyed bijection
#: modulo the prime _P = 2**31 - 1 (see ModelProcess).
_P = HANDLE_VALUE_MAX
#: First koid handed out; lower ones are reserved (0 none, 1 the kernel).
FIRST_KOID = 1024


def _int(value: Any) -> int:
    """``value`` as an int, as SPEC §3 wants for every int argument.

    ints and bools pass, so does anything with ``__index__``; everything
    else (str, float, None, bytes, ...) raises ``TypeError``.  An
    ``__index__`` that raises something other than ``TypeError`` is reported
    as a ``TypeError`` too (chained to the original), as the real kernel
    does.
    """
    if type(value) is int:
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError("an int is required, not %s"
                        % type(value).__name__) from None
    except Exception as exc:
        raise TypeError("%s.__index__ failed: %r"
                        % (type(value).__name__, exc)) from exc


def _data_arg(data: Any, syscall: str) -> bytes:
    """A message's bytes: any bytes-like object (``TypeError`` otherwise,
    a str included), copied so that later changes to the caller's buffer
    do not reach the message."""
    if type(data) is bytes:
        return data
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError("%s: data must be a bytes-like object, not %s"
                        % (syscall, type(data).__name__)) from None
    return view.tobytes()


def _values_arg(values: Any, syscall: str) -> List[int]:
    """A sequence of handle values as a list of ints (``TypeError`` for a
    str or bytes-like object, a non-iterable or a non-int item)."""
    if isinstance(values, (str, bytes, bytearray, memoryview)):
        raise TypeError("%s: expected a sequence of handle values, not %s"
                        % (syscall, type(values).__name__))
    try:
        items = list(values)
    except TypeError:
        raise TypeError("%s: expected a sequence of handle values, not %s"
                        % (syscall, type(values).__name__)) from None
    return [v if type(v) is int else _int(v) for v in items]


def _limit_arg(value: Any) -> Optional[int]:
    """``max_bytes`` / ``max_handles``: None (no limit) or an int."""
    return None if value is None else _int(value)


def _txid(data: bytes) -> int:
    """The transaction id of a message: its first four bytes as a
    little-endian u32, 0 if it is shorter."""
    return int.from_bytes(data[:4], "little") if len(data) >= 4 else 0


# ---------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------

class ModelObject:
    """One kernel object (SPEC §1).

    ``koid``          unique in its kernel, never reused (0 until published).
    ``signals``       the 32-bit signal word.
    ``handle_count``  handles that point here (owned or, later, in transit).
    ``refs``          handles plus references the kernel holds; the object
                      is destroyed when it drops to 0.
    ``related_koid``  what ``INFO_HANDLE_BASIC`` reports (0 unless set).
    ``destroyed``     True once destroyed (for views that outlive it).

    Subclasses set the class attributes ``type`` (``OBJ_TYPE_*``),
    ``stats_key`` (its key in ``stats().live_objects``), ``user_signals``
    (the bits ``mx_object_signal`` may touch) and ``peered`` (whether
    ``mx_object_signal_peer`` applies), and may override the two hooks.
    """

    __slots__ = ("koid", "signals", "handle_count", "refs", "related_koid",
                 "destroyed")

    type: int = ObjType.NONE
    stats_key: str = ""
    user_signals: int = USER_SIGNAL_ALL
    peered: bool = False

    def __init__(self, refs: int = 0) -> None:
        self.koid = 0
        self.signals = 0
        self.handle_count = 0
        self.refs = refs
        self.related_koid = 0
        self.destroyed = False

    def on_zero_handles(self, kernel: "ModelKernel") -> None:
        """SPEC §5 rule 2: the last handle just went (kernel lock held).

        Runs while the going handle's reference is still held, so the
        object is alive throughout.  The default does nothing.
        """

    def on_destroy(self,
                   kernel: "ModelKernel") -> Optional[List["ModelObject"]]:
        """SPEC §5 rule 3: the last reference just went (kernel lock held).

        The object is already unregistered and counted as destroyed.  A type
        whose destruction closes handles it holds (a channel endpoint and
        the handles in transit in its queue) must not close them itself:
        it takes those handles out of the kernel's handle counters
        (``_live_handles``, ``_in_transit``) and returns their objects, one
        entry per handle; the kernel then drops them (zero-handles action,
        reference) iteratively, so that nested chains of any depth unwind
        without recursion.  The default holds nothing and returns None.
        """
        return None

    def __repr__(self) -> str:
        return "<%s koid=%d handles=%d refs=%d signals=%#x>" % (
            type(self).__name__, self.koid, self.handle_count, self.refs,
            self.signals)


class ModelEvent(ModelObject):
    """An event: a signal word and nothing else."""

    __slots__ = ()
    type = ObjType.EVENT
    stats_key = STATS_KEYS[ObjType.EVENT]
    user_signals = USER_SIGNAL_ALL | EVENT_SIGNALED


class ModelPeered(ModelObject):
    """One end of a pair (event pair now; channel endpoints later).

    While both ends have handles each holds a reference to the other
    (``peer``).  When one end's last handle goes it *detaches*: both drop
    their references to each other, ``peer`` becomes None on both sides and
    the surviving end gets ``peer_closed_signals``.  ``related_koid`` keeps
    the peer's koid after that, as Magenta did.
    """

    __slots__ = ("peer",)
    peered = True

    def __init__(self, refs: int = 0) -> None:
        super().__init__(refs)
        self.peer: Optional[ModelPeered] = None

    def on_peer_closed(self, kernel: "ModelKernel") -> None:
        """The other end detached (kernel lock held).  Subclasses add the
        signals of their type."""

    def on_zero_handles(self, kernel: "ModelKernel") -> None:
        peer = self.peer
        if peer is None:
            return
        self.peer = None
        peer.peer = None
        peer.on_peer_closed(kernel)
        kernel._release(peer)   # our reference on the peer
        kernel._release(self)   # the peer's reference on us (handle's remains)


class ModelEventPair(ModelPeered):
    """One end of an event pair (``mx_eventpair_create``)."""

    __slots__ = ()
    type = ObjType.EVENT_PAIR
    stats_key = STATS_KEYS[ObjType.EVENT_PAIR]
    user_signals = USER_SIGNAL_ALL | EPAIR_SIGNALED

    def on_peer_closed(self, kernel: "ModelKernel") -> None:
        kernel._change_signals(self, 0, EPAIR_PEER_CLOSED)


class _Message:
    """A channel message: its bytes, its handles in transit (``(object,
    rights)`` pairs, owned by the kernel) and its txid."""

    __slots__ = ("data", "handles", "txid")

    def __init__(self, data: bytes, handles: List[Handle]) -> None:
        self.data = data
        self.handles = handles
        self.txid = _txid(data)


class _Call:
    """One ``mx_channel_call`` waiting for its reply on ``endpoint``.

    ``proc`` and ``value`` name the caller's handle (closing, replacing or
    transferring that value cancels the call).  ``status`` is None while
    waiting, then 0 (``reply`` holds the message) or an error status."""

    __slots__ = ("proc", "value", "endpoint", "txid", "reply", "status")

    def __init__(self, proc: "ModelProcess", value: int,
                 endpoint: "ModelChannel", txid: int) -> None:
        self.proc = proc
        self.value = value
        self.endpoint = endpoint
        self.txid = txid
        self.reply: Optional[_Message] = None
        self.status: Optional[int] = None


class ModelChannel(ModelPeered):
    """One channel endpoint (``mx_channel_create``).

    ``queue`` holds the messages this end will read (written through the
    peer), oldest first; ``calls`` the calls waiting on this end for a
    reply, oldest first.  Signals: ``CHANNEL_READABLE`` while the queue is
    not empty, ``CHANNEL_WRITABLE`` while the peer is open,
    ``CHANNEL_PEER_CLOSED`` after.
    """

    __slots__ = ("queue", "calls")
    type = ObjType.CHANNEL
    stats_key = STATS_KEYS[ObjType.CHANNEL]

    def __init__(self, refs: int = 0) -> None:
        super().__init__(refs)
        self.queue: Deque[_Message] = deque()
        self.calls: List[_Call] = []
        self.signals = CHANNEL_WRITABLE

    def on_peer_closed(self, kernel: "ModelKernel") -> None:
        kernel._change_signals(self, CHANNEL_WRITABLE, CHANNEL_PEER_CLOSED)
        if self.calls:                      # pending calls fail
            kernel._finish_calls(self, None, None, ERR_PEER_CLOSED)

    def on_destroy(self,
                   kernel: "ModelKernel") -> Optional[List[ModelObject]]:
        if not self.queue:
            return None
        orphans = [obj for msg in self.queue for obj, _ in msg.handles]
        self.queue.clear()
        kernel._live_handles -= len(orphans)
        kernel._in_transit -= len(orphans)
        return orphans


class ModelJob(ModelObject):
    """A job.  ``parent`` is the parent job (None for the root job);
    ``children`` and ``processes`` list what was created in it, without
    holding references (jobs hold none on their processes, SPEC §2)."""

    __slots__ = ("name", "parent", "children", "processes")
    type = ObjType.JOB
    stats_key = STATS_KEYS[ObjType.JOB]

    def __init__(self, name: str, parent: Optional["ModelJob"],
                 refs: int = 0) -> None:
        super().__init__(refs)
        self.name = name
        self.parent = parent
        self.children: List[ModelJob] = []
        self.processes: List[ModelProcess] = []


class ModelThread(ModelObject):
    """A thread of ``process``.  Only init's thread exists for now."""

    __slots__ = ("name", "process", "dead")
    type = ObjType.THREAD
    stats_key = STATS_KEYS[ObjType.THREAD]

    def __init__(self, name: str, process: "ModelProcess",
                 refs: int = 0) -> None:
        super().__init__(refs)
        self.name = name
        self.process = process
        self.dead = False
        self.related_koid = process.koid


# ---------------------------------------------------------------------------
# The kernel
# ---------------------------------------------------------------------------

class ModelKernel:
    """One simulated kernel, in pure Python (the model of ``mx.Kernel``).

    ``ModelKernel(*, seed=None, max_handles=None)``

    ``seed`` (int) makes handle values a pure function of the seed and the
    order of calls; without it the per-process value keys come from the
    operating system's random source.  ``max_handles`` (1 .. 2**63) caps the
    live handles (owned or in transit); a call that would exceed it raises
    ``ERR_NO_RESOURCES`` and changes nothing.  None means
    ``DEFAULT_MAX_HANDLES`` (2**26, the C core's default).

    At birth the kernel holds a root job, the init process and init's
    thread (koids 1024, 1025, 1026; each kept alive by a kernel reference),
    and init holds one handle to the root job.

    Attributes: ``init`` (the first :class:`ModelProcess`), ``max_handles``,
    ``root_job`` (the :class:`ModelJob`) and ``lock`` (the ``RLock`` every
    syscall holds; take it to make several calls one atomic step).
    """

    DEFAULT_MAX_HANDLES = 1 << 26

    def __init__(self, *, seed: Optional[int] = None,
                 max_handles: Optional[int] = None) -> None:
        if max_handles is None:
            max_handles = self.DEFAULT_MAX_HANDLES
        max_handles = _int(max_handles)
        if not 1 <= max_handles <= 2**63:
            raise ValueError("max_handles must be in 1 .. 2**63 (init's "
                             "handle to the root job counts)")
        self.max_handles = max_handles
        self.lock = threading.RLock()
        # Calls wait on this; every finish (reply, failure) notifies it.
        self._cond = threading.Condition(self.lock)
        # Calls whose reply was delivered but not yet taken by the caller:
        # the reply's handles are in transit outside any queue.
        self._replied: Dict[int, _Call] = {}
        self._rng = random.Random(_int(seed)) if seed is not None \
            else random.Random()
        self._next_koid = FIRST_KOID
        self._objects: Dict[int, ModelObject] = {}
        self._live: Dict[str, int] = {key: 0 for key in STATS_KEYS.values()}
        self._destroyed = 0
        self._live_handles = 0
        self._in_transit = 0

        # The kernel's own objects, each pinned by a kernel reference.
        self.root_job = ModelJob("root", None, refs=1)
        self._publish(self.root_job)
        init = ModelProcess(self, "init", self.root_job, refs=1)
        self._publish(init)
        self.root_job.processes.append(init)
        thread = ModelThread("init", init, refs=1)
        self._publish(thread)
        init.threads.append(thread)
        init.started = True
        self.init = init
        init._job_default = init._bind(self.root_job, int(DEFAULT_JOB_RIGHTS))

    # -- inspection (not syscalls) ---------------------------------------

    def stats(self) -> Stats:
        """SPEC §7: live and in-transit handles, live objects by type (every
        key of ``STATS_KEYS``, 0 included) and objects destroyed so far."""
        with self.lock:
            return Stats(self._live_handles, self._in_transit,
                         dict(self._live), self._destroyed)

    def process(self, koid: int) -> "ModelProcess":
        """The :class:`ModelProcess` of a process object not yet destroyed;
        ``MxError(ERR_NOT_FOUND)`` for any other koid."""
        koid = _int(koid)
        with self.lock:
            obj = self._objects.get(koid)
            if not isinstance(obj, ModelProcess):
                raise MxError(ERR_NOT_FOUND, "Kernel.process")
            return obj

    def object_of(self, koid: int) -> ModelObject:
        """The live object with ``koid`` (a test aid; ``KeyError`` if none).

        Read its ``signals``, ``handle_count``, ``refs`` ... under ``lock``
        if other threads are running syscalls."""
        with self.lock:
            return self._objects[_int(koid)]

    def signals_of(self, koid: int) -> int:
        """The signal word of the live object with ``koid`` (a test aid: no
        syscall reads signals without waiting).  ``KeyError`` if none."""
        with self.lock:
            return self._objects[_int(koid)].signals

    def live_koids(self) -> List[int]:
        """Koids of every live object, in creation order (a test aid)."""
        with self.lock:
            return list(self._objects)

    def snapshot(self) -> Dict[str, Any]:
        """SPEC §7, the same shape as ``Kernel.snapshot()``: every process
        not yet destroyed (by koid) with its handle table (in the model's
        table order, which need not be the real table's slot order), every
        live object by koid, and every queued message (endpoints by koid,
        each queue oldest first) with the endpoint that will read it."""
        with self.lock:
            live = sorted(self._objects.items())
            processes = []
            for koid, obj in live:
                if isinstance(obj, ModelProcess):
                    state = ("exited" if obj.exited else
                             "running" if obj.started else "new")
                    processes.append({
                        "koid": koid, "name": obj.name, "state": state,
                        "handles": [{"value": v, "koid": o.koid,
                                     "type": int(o.type), "rights": r}
                                    for v, (o, r) in obj._table.items()]})
            objects = [{"koid": koid, "type": int(obj.type),
                        "handle_count": obj.handle_count,
                        "signals": obj.signals,
                        "related_koid": obj.related_koid}
                       for koid, obj in live]
            messages = [{"endpoint_koid": koid, "bytes": len(msg.data),
                         "handle_koids": [o.koid for o, _ in msg.handles]}
                        for koid, obj in live
                        if isinstance(obj, ModelChannel)
                        for msg in obj.queue]
            return {"processes": processes, "objects": objects,
                    "messages": messages}

    def collect(self) -> int:
        """SPEC §5 rule 5: close what no process can reach; returns how many
        objects were destroyed in all.

        Roots are the handle tables of live processes, plus what kernel
        operations hold: an endpoint with no handles left that a call in
        progress keeps alive, and replies delivered to calls but not yet
        taken.  A handle in transit is reachable only if the endpoint whose
        queue holds it is.  Every unreachable endpoint's queue is emptied
        first, then all the handles those queues held are closed (the usual
        iterative cascade destroys the endpoints themselves).
        """
        with self.lock:
            seen = set()
            stack: List[ModelObject] = []

            def reach(obj: ModelObject) -> None:
                if obj.koid not in seen:
                    seen.add(obj.koid)
                    if isinstance(obj, ModelChannel) and obj.queue:
                        stack.append(obj)

            for obj in list(self._objects.values()):
                if isinstance(obj, ModelProcess) and not obj.exited:
                    for o, _ in obj._table.values():
                        reach(o)
                elif isinstance(obj, ModelChannel) and obj.handle_count == 0:
                    reach(obj)
            for call in self._replied.values():
                for o, _ in call.reply.handles:     # type: ignore[union-attr]
                    reach(o)
            while stack:
                for msg in stack.pop().queue:       # type: ignore[attr-defined]
                    for o, _ in msg.handles:
                        reach(o)
            garbage = [obj for koid, obj in self._objects.items()
                       if koid not in seen and isinstance(obj, ModelChannel)
                       and obj.queue]
            before = self._destroyed
            orphans: List[ModelObject] = []
            for ep in garbage:
                for msg in ep.queue:
                    orphans.extend(o for o, _ in msg.handles)
                ep.queue.clear()
                self._change_signals(ep, CHANNEL_READABLE, 0)
            self._close_transit(orphans)
            return self._destroyed - before

    # -- machinery (kernel lock held by the caller) -----------------------

    def _publish(self, obj: ModelObject) -> None:
        """Give ``obj`` the next koid and count it as live."""
        koid = self._next_koid
        self._next_koid = koid + 1
        obj.koid = koid
        self._objects[koid] = obj
        self._live[obj.stats_key] += 1

    def _room(self, n: int, syscall: str) -> None:
        """Raise ERR_NO_RESOURCES unless ``n`` more live handles fit."""
        if self._live_handles + n > self.max_handles:
            raise MxError(ERR_NO_RESOURCES, syscall)

    def _change_signals(self, obj: ModelObject, clear: int, set_: int) -> None:
        """The one place a signal word changes: ``(s & ~clear) | set_``.
        Waits and async waits will hook in here."""
        obj.signals = (obj.signals & ~clear) | set_

    def _drop_handle(self, obj: ModelObject) -> None:
        """One handle to ``obj`` went away (already out of its table and of
        ``_live_handles``): run the zero-handles action if it was the last,
        then release the handle's reference."""
        obj.handle_count -= 1
        if obj.handle_count == 0:
            obj.on_zero_handles(self)
        obj.refs -= 1
        if obj.refs == 0:
            self._destroy(obj)

    def _release(self, obj: ModelObject) -> None:
        """Drop one reference that is not a handle's."""
        obj.refs -= 1
        if obj.refs == 0:
            self._destroy(obj)

    def _destroy(self, obj: ModelObject) -> None:
        """Destroy ``obj`` (its last reference went) and, iteratively,
        whatever its destruction releases (see ``ModelObject.on_destroy``).
        """
        pending: List[ModelObject] = []
        while True:
            obj.destroyed = True
            del self._objects[obj.koid]
            self._live[obj.stats_key] -= 1
            self._destroyed += 1
            orphans = obj.on_destroy(self)
            if orphans:
                for x in orphans:       # handles that died with obj
                    x.handle_count -= 1
                    if x.handle_count == 0:
                        x.on_zero_handles(self)
                    x.refs -= 1
                    if x.refs == 0:
                        pending.append(x)
            if not pending:
                return
            obj = pending.pop()

    def _close_transit(self, objs: List[ModelObject]) -> None:
        """Close handles that were in transit (one entry per handle, already
        out of their message): counters first, then each drop."""
        if not objs:
            return
        self._live_handles -= len(objs)
        self._in_transit -= len(objs)
        for obj in objs:
            self._drop_handle(obj)

    def _deliver(self, endpoint: ModelChannel, msg: _Message) -> None:
        """Hand ``msg`` to the newest call on ``endpoint`` waiting for its
        txid (as the C core does), else append it to the queue."""
        calls = endpoint.calls
        for i in range(len(calls) - 1, -1, -1):
            call = calls[i]
            if call.txid == msg.txid:
                del calls[i]
                call.reply = msg
                call.status = 0
                self._replied[id(call)] = call
                self._cond.notify_all()
                return
        endpoint.queue.append(msg)
        if len(endpoint.queue) == 1:
            self._change_signals(endpoint, 0, CHANNEL_READABLE)

    def _finish_calls(self, endpoint: ModelChannel,
                      proc: Optional["ModelProcess"], value: Optional[int],
                      status: int) -> None:
        """Finish with ``status`` every call waiting on ``endpoint`` (or
        only those made through ``value`` of ``proc``)."""
        keep = []
        for call in endpoint.calls:
            if proc is None or (call.proc is proc and call.value == value):
                call.status = int(status)
            else:
                keep.append(call)
        endpoint.calls = keep
        self._cond.notify_all()

    def _new_process_keys(self) -> Tuple[int, int]:
        """A fresh key ``(m, c)`` for one process's handle values:
        step m in 1 .. P-1, start c in 0 .. P-1 (see ModelProcess)."""
        return self._rng.randrange(1, _P), self._rng.randrange(0, _P)

    def __repr__(self) -> str:
        s = self.stats()
        return "<ModelKernel handles=%d objects=%d destroyed=%d>" % (
            s.live_handles, sum(s.live_objects.values()), s.destroyed_objects)


# ---------------------------------------------------------------------------
# Processes: the syscall surface
# ---------------------------------------------------------------------------

def _basic(proc: "ModelProcess", obj: ModelObject, rights: int) -> HandleBasic:
    return HandleBasic(obj.koid, rights, obj.type, obj.related_koid,
                       OBJ_PROP_WAITABLE)


def _process_info(proc: "ModelProcess", obj: Any, rights: int) -> ProcessInfo:
    return ProcessInfo(obj.return_code, obj.started, obj.exited, False)


def _process_threads(proc: "ModelProcess", obj: Any, rights: int) -> List[int]:
    return [t.koid for t in obj.threads if not t.dead]


def _job_children(proc: "ModelProcess", obj: Any, rights: int) -> List[int]:
    return [j.koid for j in obj.children if not j.destroyed]


def _job_processes(proc: "ModelProcess", obj: Any, rights: int) -> List[int]:
    return [p.koid for p in obj.processes if not p.exited]


def _process_handles(proc: "ModelProcess", obj: Any,
                     rights: int) -> List[HandleEntry]:
    return [HandleEntry(v, o.koid, o.type, r)
            for v, (o, r) in obj._table.items()]


#: mx_object_get_info topics: topic -> (object type or None for any,
#: right needed, function(caller, object, rights) -> result).
_TOPICS = {
    int(INFO_HANDLE_BASIC): (None, 0, _basic),
    int(INFO_PROCESS): (ObjType.PROCESS, int(RIGHT_READ), _process_info),
    int(INFO_PROCESS_THREADS): (ObjType.PROCESS, int(RIGHT_ENUMERATE),
                                _process_threads),
    int(INFO_JOB_CHILDREN): (ObjType.JOB, int(RIGHT_ENUMERATE), _job_children),
    int(INFO_JOB_PROCESSES): (ObjType.JOB, int(RIGHT_ENUMERATE),
                              _job_processes),
    int(INFO_PROCESS_HANDLES): (ObjType.PROCESS, int(RIGHT_ENUMERATE),
                                _process_handles),
}
_INFO_VALID = int(INFO_HANDLE_VALID)


class ModelProcess(ModelObject):
    """A process object and its view of the syscall surface.

    Every ``mx_*`` method acts as this process: new handles go into its
    table, handle values are looked up in it.  Attributes: ``koid``,
    ``name``, ``kernel``, ``start_info`` (always None for now), ``job``,
    ``threads``, ``started``, ``exited``, ``return_code``.

    Handle values: the n-th value a process hands out is
    ``(c + n * m) mod P`` with ``P = 2**31 - 1`` (prime), skipping the one n
    that gives 0, and a per-process key ``(m, c)``, ``m != 0``, drawn from
    the kernel's (seeded) random stream.  Since P is prime this is a
    bijection of n mod P, so a process hands out P - 1 = 2**31 - 2 distinct
    values (every one of 1 .. 2**31 - 2) before any repeats, and two
    processes' values are unrelated.  It is computed incrementally (one add,
    one compare), which keeps the hot paths cheap.
    """

    __slots__ = ("kernel", "name", "job", "threads", "start_info",
                 "started", "exited", "return_code", "_lock", "_table",
                 "_step", "_last", "_job_default")
    type = ObjType.PROCESS
    stats_key = STATS_KEYS[ObjType.PROCESS]

    def __init__(self, kernel: ModelKernel, name: str, job: ModelJob,
                 refs: int = 0) -> None:
        super().__init__(refs)
        self.kernel = kernel
        self.name = name
        self.job = job
        self.threads: List[ModelThread] = []
        self.start_info: Any = None
        self.started = False
        self.exited = False
        self.return_code = 0
        self.related_koid = job.koid
        self._lock = kernel.lock
        self._table: Dict[int, Handle] = {}
        # Key of the value sequence: step m and last value (starts at c).
        self._step, self._last = kernel._new_process_keys()
        self._job_default = HANDLE_INVALID

    # -- table machinery (kernel lock held) -------------------------------

    def _new_value(self) -> int:
        """The next handle value of this process (never 0, never reused)."""
        step = self._step
        v = self._last + step
        if v >= _P:
            v -= _P
        if v == 0:                      # skip 0: continue with 0 + step
            v = step
        self._last = v
        return v

    def _bind(self, obj: ModelObject, rights: int) -> int:
        """A new handle to ``obj`` in this table; the caller checked room."""
        obj.handle_count += 1
        obj.refs += 1
        self.kernel._live_handles += 1
        value = self._new_value()
        self._table[value] = (obj, rights)
        return value

    def handle_values(self) -> List[int]:
        """Values of every handle in the table, oldest first (a test aid)."""
        with self._lock:
            return list(self._table)

    # -- handles -----------------------------------------------------------

    def mx_handle_close(self, h: int) -> None:
        """Close ``h``.  ``ERR_BAD_HANDLE`` (also for HANDLE_INVALID)."""
        if type(h) is not int:
            h = _int(h)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_handle_close")
            entry = self._table.pop(h, None)
            if entry is None:
                raise MxError(ERR_BAD_HANDLE, "mx_handle_close")
            kernel = self.kernel
            kernel._live_handles -= 1
            obj = entry[0]
            if type(obj) is ModelChannel and obj.calls:
                kernel._finish_calls(obj, self, h, ERR_CANCELED)
            kernel._drop_handle(obj)

    def mx_handle_close_many(self, hs: Iterable[int]) -> None:
        """Close every valid value of ``hs``; ``ERR_BAD_HANDLE`` afterwards if
        any was invalid (0, stale, foreign, or a repeat of one just closed).

        Every item is converted before anything is closed, so a non-int item
        raises ``TypeError`` with nothing done.  A str or bytes-like ``hs``
        is a ``TypeError`` too (it is not a sequence of handle values).
        """
        if isinstance(hs, (str, bytes, bytearray, memoryview)):
            raise TypeError("hs must be a sequence of handle values, not %s"
                            % type(hs).__name__)
        values = [v if type(v) is int else _int(v) for v in hs]
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_handle_close_many")
            table = self._table
            closed = []
            bad = False
            for v in values:
                entry = table.pop(v, None)
                if entry is None:
                    bad = True
                else:
                    closed.append((entry[0], v))
            kernel = self.kernel
            kernel._live_handles -= len(closed)
            for obj, v in closed:
                if type(obj) is ModelChannel and obj.calls:
                    kernel._finish_calls(obj, self, v, ERR_CANCELED)
                kernel._drop_handle(obj)
            if bad:
                raise MxError(ERR_BAD_HANDLE, "mx_handle_close_many")

    def mx_handle_duplicate(self, h: int, rights: int) -> int:
        """A new handle to ``h``'s object in this process.

        Errors: ``INVALID_ARGS`` (rights out of u32 range), ``BAD_HANDLE``,
        ``ACCESS_DENIED`` (no ``RIGHT_DUPLICATE``), ``INVALID_ARGS`` (rights
        neither ``RIGHT_SAME_RIGHTS`` nor a subset), ``NO_RESOURCES``.
        """
        if type(h) is not int:
            h = _int(h)
        if type(rights) is not int:
            rights = _int(rights)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_handle_duplicate")
            if not 0 <= rights <= U32_MAX:
                raise MxError(ERR_INVALID_ARGS, "mx_handle_duplicate")
            entry = self._table.get(h)
            if entry is None:
                raise MxError(ERR_BAD_HANDLE, "mx_handle_duplicate")
            obj, have = entry
            if not have & _DUP:
                raise MxError(ERR_ACCESS_DENIED, "mx_handle_duplicate")
            if rights == _SAME:
                rights = have
            elif rights & ~have:
                raise MxError(ERR_INVALID_ARGS, "mx_handle_duplicate")
            kernel = self.kernel
            if kernel._live_handles >= kernel.max_handles:
                raise MxError(ERR_NO_RESOURCES, "mx_handle_duplicate")
            return self._bind(obj, rights)

    def mx_handle_replace(self, h: int, rights: int) -> int:
        """A new handle to ``h``'s object; ``h`` is invalid after success and
        untouched after failure.  No ``RIGHT_DUPLICATE`` needed; never
        ``NO_RESOURCES`` (the live count does not change).

        Errors: ``INVALID_ARGS`` (range), ``BAD_HANDLE``, ``INVALID_ARGS``
        (not a subset).
        """
        if type(h) is not int:
            h = _int(h)
        if type(rights) is not int:
            rights = _int(rights)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_handle_replace")
            if not 0 <= rights <= U32_MAX:
                raise MxError(ERR_INVALID_ARGS, "mx_handle_replace")
            table = self._table
            entry = table.get(h)
            if entry is None:
                raise MxError(ERR_BAD_HANDLE, "mx_handle_replace")
            obj, have = entry
            if rights == _SAME:
                rights = have
            elif rights & ~have:
                raise MxError(ERR_INVALID_ARGS, "mx_handle_replace")
            del table[h]
            value = self._new_value()
            table[value] = (obj, rights)
            if type(obj) is ModelChannel and obj.calls:
                self.kernel._finish_calls(obj, self, h, ERR_CANCELED)
            return value

    # -- events and event pairs ----------------------------------------------

    def mx_event_create(self, options: int = 0) -> int:
        """A new event and a handle to it (default rights).
        ``INVALID_ARGS`` if options != 0; ``NO_RESOURCES``."""
        if type(options) is not int:
            options = _int(options)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_event_create")
            if options != 0:
                raise MxError(ERR_INVALID_ARGS, "mx_event_create")
            kernel = self.kernel
            if kernel._live_handles >= kernel.max_handles:
                raise MxError(ERR_NO_RESOURCES, "mx_event_create")
            obj = ModelEvent()
            kernel._publish(obj)
            return self._bind(obj, _EVENT_RIGHTS)

    def mx_eventpair_create(self, options: int = 0) -> Tuple[int, int]:
        """A new event pair: ``(h0, h1)``, one handle to each end.

        ``INVALID_ARGS`` if options is outside u32 (SPEC §3), else
        ``NOT_SUPPORTED`` if options != 0; ``NO_RESOURCES`` if two more
        handles do not fit.  The first end gets the lower koid."""
        if type(options) is not int:
            options = _int(options)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_eventpair_create")
            if not 0 <= options <= U32_MAX:
                raise MxError(ERR_INVALID_ARGS, "mx_eventpair_create")
            if options != 0:
                raise MxError(ERR_NOT_SUPPORTED, "mx_eventpair_create")
            kernel = self.kernel
            kernel._room(2, "mx_eventpair_create")
            a = ModelEventPair(refs=1)     # each holds the other: 1 ref each
            b = ModelEventPair(refs=1)
            a.peer, b.peer = b, a
            kernel._publish(a)
            kernel._publish(b)
            a.related_koid, b.related_koid = b.koid, a.koid
            return self._bind(a, _EPAIR_RIGHTS), self._bind(b, _EPAIR_RIGHTS)

    # -- channels -------------------------------------------------------------

    def mx_channel_create(self, options: int = 0) -> Tuple[int, int]:
        """A new channel: ``(h0, h1)``, one handle to each endpoint (default
        rights ``TRANSFER|READ|WRITE``; the first end gets the lower koid).

        ``INVALID_ARGS`` if options != 0 (out of u32 range included);
        ``NO_RESOURCES`` if two more handles do not fit (no koid used)."""
        if type(options) is not int:
            options = _int(options)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_channel_create")
            if options != 0:
                raise MxError(ERR_INVALID_ARGS, "mx_channel_create")
            kernel = self.kernel
            kernel._room(2, "mx_channel_create")
            a = ModelChannel(refs=1)       # each holds the other: 1 ref each
            b = ModelChannel(refs=1)
            a.peer, b.peer = b, a
            kernel._publish(a)
            kernel._publish(b)
            a.related_koid, b.related_koid = b.koid, a.koid
            return (self._bind(a, _CHANNEL_RIGHTS),
                    self._bind(b, _CHANNEL_RIGHTS))

    def _write_phase(self, h: int, data: bytes, values: List[int],
                     options: int, call: bool,
                     syscall: str) -> Optional[_Call]:
        """The checks and the move of ``mx_channel_write`` (kernel lock
        held); with ``call``, registers a :class:`_Call` on ``h``'s endpoint
        (holding a reference on it) before the message can reach the peer,
        and returns it."""
        if self.exited:
            raise MxError(ERR_BAD_STATE, syscall)
        if options != 0:                # out of u32 range is INVALID_ARGS too
            raise MxError(ERR_INVALID_ARGS, syscall)
        table = self._table
        entry = table.get(h)
        if entry is None:
            raise MxError(ERR_BAD_HANDLE, syscall)
        ep, rights = entry
        if type(ep) is not ModelChannel:
            raise MxError(ERR_WRONG_TYPE, syscall)
        if not rights & _WRITE:
            raise MxError(ERR_ACCESS_DENIED, syscall)
        if len(data) > _MAX_BYTES or len(values) > _MAX_HANDLES:
            raise MxError(ERR_OUT_OF_RANGE, syscall)
        for v in values:
            e = table.get(v)
            if e is None:
                raise MxError(ERR_BAD_HANDLE, syscall)
            if e[0] is ep:
                raise MxError(ERR_NOT_SUPPORTED, syscall)
            if not e[1] & _TRANSFER:
                raise MxError(ERR_ACCESS_DENIED, syscall)
        if len(set(values)) != len(values):
            raise MxError(ERR_INVALID_ARGS, syscall)
        peer = ep.peer
        if peer is None:
            raise MxError(ERR_PEER_CLOSED, syscall)
        kernel = self.kernel
        pending = None
        if call:
            pending = _Call(self, h, ep, _txid(data))
            ep.refs += 1
            ep.calls.append(pending)
        moved = [table.pop(v) for v in values]
        kernel._in_transit += len(moved)
        for (obj, _), v in zip(moved, values):
            if type(obj) is ModelChannel and obj.calls:
                kernel._finish_calls(obj, self, v, ERR_CANCELED)
        kernel._deliver(peer, _Message(data, moved))   # type: ignore[arg-type]
        return pending

    def mx_channel_write(self, h: int, data: Any = b"", handles: Any = (),
                         options: int = 0) -> None:
        """Write a message through ``h``: ``data`` (any bytes-like object,
        at most 65,536 bytes) and ``handles`` (at most 1,024 values of this
        process), which all leave this process or, on any error, all stay.

        Errors, in order: ``TypeError`` (a wrong type anywhere);
        ``BAD_STATE`` (dead caller); ``INVALID_ARGS`` (options != 0);
        ``BAD_HANDLE``, ``WRONG_TYPE``, ``ACCESS_DENIED`` (no WRITE) for
        ``h``; ``OUT_OF_RANGE`` (too many bytes or handles); for each
        handle: ``BAD_HANDLE``, ``NOT_SUPPORTED`` (a handle to ``h``'s own
        endpoint), ``ACCESS_DENIED`` (no TRANSFER); ``INVALID_ARGS`` (a
        value twice); ``PEER_CLOSED``."""
        if type(h) is not int:
            h = _int(h)
        data = _data_arg(data, "mx_channel_write")
        values = _values_arg(handles, "mx_channel_write")
        if type(options) is not int:
            options = _int(options)
        with self._lock:
            self._write_phase(h, data, values, options, False,
                              "mx_channel_write")

    def _take(self, msg: _Message) -> Tuple[bytes, List[int]]:
        """Bind ``msg``'s handles (in transit) into this table, in order."""
        out = []
        table = self._table
        for handle in msg.handles:
            value = self._new_value()
            table[value] = handle
            out.append(value)
        self.kernel._in_transit -= len(out)
        return msg.data, out

    def mx_channel_read(self, h: int, options: int = 0,
                        max_bytes: Optional[int] = None,
                        max_handles: Optional[int] = None
                        ) -> Tuple[bytes, List[int]]:
        """Read the first message queued on ``h``'s endpoint: ``(bytes,
        [handle, ...])``, its handles now this process's, in message order.

        Errors, in order: ``TypeError``; ``BAD_STATE`` (dead caller);
        ``INVALID_ARGS`` (negative ``max_bytes``/``max_handles``, options
        out of u32 range); ``NOT_SUPPORTED`` (options other than
        ``CHANNEL_READ_MAY_DISCARD``); ``BAD_HANDLE``, ``WRONG_TYPE``,
        ``ACCESS_DENIED`` (no READ); ``SHOULD_WAIT`` (empty, peer open) or
        ``PEER_CLOSED`` (empty, peer closed); ``BUFFER_TOO_SMALL`` (with
        ``actual_bytes``, ``actual_handles``) if the first message exceeds
        a limit: it stays queued, or with ``CHANNEL_READ_MAY_DISCARD`` it
        is dropped and its handles closed."""
        syscall = "mx_channel_read"
        if type(h) is not int:
            h = _int(h)
        if type(options) is not int:
            options = _int(options)
        mb, mh = _limit_arg(max_bytes), _limit_arg(max_handles)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, syscall)
            if (mb is not None and mb < 0) or (mh is not None and mh < 0):
                raise MxError(ERR_INVALID_ARGS, syscall)
            if not 0 <= options <= U32_MAX:
                raise MxError(ERR_INVALID_ARGS, syscall)
            if options & ~_MAY_DISCARD:
                raise MxError(ERR_NOT_SUPPORTED, syscall)
            entry = self._table.get(h)
            if entry is None:
                raise MxError(ERR_BAD_HANDLE, syscall)
            ep, rights = entry
            if type(ep) is not ModelChannel:
                raise MxError(ERR_WRONG_TYPE, syscall)
            if not rights & _READ:
                raise MxError(ERR_ACCESS_DENIED, syscall)
            queue = ep.queue
            if not queue:
                raise MxError(ERR_SHOULD_WAIT if ep.peer is not None
                              else ERR_PEER_CLOSED, syscall)
            msg = queue[0]
            kernel = self.kernel
            if ((mb is not None and len(msg.data) > mb) or
                    (mh is not None and len(msg.handles) > mh)):
                if options & _MAY_DISCARD:
                    queue.popleft()
                    if not queue:
                        kernel._change_signals(ep, CHANNEL_READABLE, 0)
                    kernel._close_transit([o for o, _ in msg.handles])
                raise MxError(ERR_BUFFER_TOO_SMALL, syscall,
                              actual_bytes=len(msg.data),
                              actual_handles=len(msg.handles))
            queue.popleft()
            if not queue:
                kernel._change_signals(ep, CHANNEL_READABLE, 0)
            return self._take(msg)

    def mx_channel_call(self, h: int, data: Any, handles: Any = (),
                        deadline: int = TIME_INFINITE,
                        max_bytes: Optional[int] = None,
                        max_handles: Optional[int] = None,
                        options: int = 0) -> Tuple[bytes, List[int]]:
        """Write a request as ``mx_channel_write`` (same checks; on a
        write-phase error the handles stay), then wait for the reply whose
        txid (first four bytes, little-endian; 0 if shorter) equals the
        request's; it comes straight here instead of the queue.

        Before the write: ``INVALID_ARGS`` for a deadline outside u64 or a
        negative limit (after the write phase's own ``INVALID_ARGS`` for
        options).  After it: ``TIMED_OUT`` at ``deadline`` (an absolute
        ``time.monotonic_ns()`` time; a reply that comes later is queued
        as usual); ``CALL_FAILED`` with ``read_status`` ``PEER_CLOSED``,
        ``CANCELED`` (the caller's handle closed, replaced or transferred)
        or ``BUFFER_TOO_SMALL`` (the reply exceeds a limit: it is discarded,
        its handles closed; ``actual_bytes``/``actual_handles`` set).
        Needs ``RIGHT_WRITE`` only."""
        syscall = "mx_channel_call"
        if type(h) is not int:
            h = _int(h)
        data = _data_arg(data, syscall)
        values = _values_arg(handles, syscall)
        if type(deadline) is not int:
            deadline = _int(deadline)
        mb, mh = _limit_arg(max_bytes), _limit_arg(max_handles)
        if type(options) is not int:
            options = _int(options)
        kernel = self.kernel
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, syscall)
            if (options != 0 or not 0 <= deadline <= U64_MAX
                    or (mb is not None and mb < 0)
                    or (mh is not None and mh < 0)):
                raise MxError(ERR_INVALID_ARGS, syscall)
            call = self._write_phase(h, data, values, options, True, syscall)
            assert call is not None
            cond = kernel._cond
            while call.status is None:
                if deadline == TIME_INFINITE:
                    cond.wait()
                    continue
                left = deadline - time.monotonic_ns()
                if left <= 0:
                    break
                cond.wait(min(left / 1e9, threading.TIMEOUT_MAX))
            ep = call.endpoint
            if call.status is None:         # the deadline passed
                ep.calls.remove(call)
                call.status = int(ERR_TIMED_OUT)
            kernel._release(ep)             # the call's reference
            status = call.status
            if status == ERR_TIMED_OUT:
                raise MxError(ERR_TIMED_OUT, syscall)
            if status != 0:
                raise MxError(ERR_CALL_FAILED, syscall, read_status=status)
            msg = call.reply
            assert msg is not None
            del kernel._replied[id(call)]
            if ((mb is not None and len(msg.data) > mb) or
                    (mh is not None and len(msg.handles) > mh)):
                kernel._close_transit([o for o, _ in msg.handles])
                raise MxError(ERR_CALL_FAILED, syscall,
                              read_status=int(ERR_BUFFER_TOO_SMALL),
                              actual_bytes=len(msg.data),
                              actual_handles=len(msg.handles))
            if self.exited:
                kernel._close_transit([o for o, _ in msg.handles])
                raise MxError(ERR_CALL_FAILED, syscall,
                              read_status=int(ERR_CANCELED))
            return self._take(msg)

    # -- signals --------------------------------------------------------------

    def _signal_target(self, h: int, clear_mask: int, set_mask: int,
                       syscall: str) -> ModelObject:
        """The checks shared by signal and signal_peer, up to INVALID_ARGS
        for bits outside the object's user-settable set."""
        if self.exited:
            raise MxError(ERR_BAD_STATE, syscall)
        if not (0 <= clear_mask <= U32_MAX and 0 <= set_mask <= U32_MAX):
            raise MxError(ERR_INVALID_ARGS, syscall)
        entry = self._table.get(h)
        if entry is None:
            raise MxError(ERR_BAD_HANDLE, syscall)
        obj, rights = entry
        if not rights & _WRITE:
            raise MxError(ERR_ACCESS_DENIED, syscall)
        if (clear_mask | set_mask) & ~obj.user_signals:
            raise MxError(ERR_INVALID_ARGS, syscall)
        return obj

    def mx_object_signal(self, h: int, clear_mask: int, set_mask: int) -> None:
        """Clear then set user-settable bits of ``h``'s object.

        Errors: ``INVALID_ARGS`` (masks out of u32 range), ``BAD_HANDLE``,
        ``ACCESS_DENIED`` (no ``RIGHT_WRITE``), ``INVALID_ARGS`` (a bit
        outside ``USER_SIGNAL_ALL`` plus ``EVENT_SIGNALED`` on events /
        ``EPAIR_SIGNALED`` on event pairs, in either mask)."""
        h, clear_mask, set_mask = _int(h), _int(clear_mask), _int(set_mask)
        with self._lock:
            obj = self._signal_target(h, clear_mask, set_mask,
                                      "mx_object_signal")
            self.kernel._change_signals(obj, clear_mask, set_mask)

    def mx_object_signal_peer(self, h: int, clear_mask: int,
                              set_mask: int) -> None:
        """As ``mx_object_signal`` but on the peer of ``h``'s object; then
        ``NOT_SUPPORTED`` on an object with no peer, ``PEER_CLOSED`` once
        the peer is gone."""
        h, clear_mask, set_mask = _int(h), _int(clear_mask), _int(set_mask)
        with self._lock:
            obj = self._signal_target(h, clear_mask, set_mask,
                                      "mx_object_signal_peer")
            if not obj.peered:
                raise MxError(ERR_NOT_SUPPORTED, "mx_object_signal_peer")
            peer = obj.peer  # type: ignore[attr-defined]
            if peer is None:
                raise MxError(ERR_PEER_CLOSED, "mx_object_signal_peer")
            self.kernel._change_signals(peer, clear_mask, set_mask)

    # -- information ----------------------------------------------------------

    def mx_object_get_info(self, h: int, topic: int) -> Any:
        """Information about ``h`` or its object (SPEC §4 Information).

        The topic is checked first (unknown -> ``NOT_SUPPORTED``), then
        ``BAD_HANDLE``, ``WRONG_TYPE``, ``ACCESS_DENIED``.
        ``INFO_HANDLE_VALID`` returns None; ``INFO_HANDLE_BASIC`` a
        :class:`HandleBasic`; the task topics what SPEC lists
        (``INFO_PROCESS_HANDLES`` rows in the target's table order)."""
        h, topic = _int(h), _int(topic)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_object_get_info")
            spec = _TOPICS.get(topic)
            if spec is None and topic != _INFO_VALID:
                raise MxError(ERR_NOT_SUPPORTED, "mx_object_get_info")
            entry = self._table.get(h)
            if entry is None:
                raise MxError(ERR_BAD_HANDLE, "mx_object_get_info")
            if spec is None:            # INFO_HANDLE_VALID
                return None
            obj, rights = entry
            want_type, want_rights, fn = spec
            if want_type is not None and obj.type != want_type:
                raise MxError(ERR_WRONG_TYPE, "mx_object_get_info")
            if rights & want_rights != want_rights:
                raise MxError(ERR_ACCESS_DENIED, "mx_object_get_info")
            return fn(self, obj, rights)

    # -- tasks ----------------------------------------------------------------

    def mx_job_default(self) -> int:
        """Init: its handle to the root job (the same value on every call,
        even after it was closed).  Any other process: ``HANDLE_INVALID``."""
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_job_default")
            return self._job_default

    def __repr__(self) -> str:
        return "<ModelProcess koid=%d name=%r handles=%d>" % (
            self.koid, self.name, len(self._table))
