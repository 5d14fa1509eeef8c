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
    every syscall holds for its whole run (and a ``threading.Condition`` on
    it that blocked calls sleep on), the reference-count machinery
    (``_bind``, ``_drop_handle``, ``_release``, ``_destroy``), the *reaper*
    that closes handles of destroyed queues and dead processes' tables
    without recursion, signal changes and what they wake, ports' packet
    queues, task deaths, and the inspection calls ``stats()``,
    ``snapshot()``, ``collect()`` and ``process()``.
``ModelObject`` and one subclass per object type
    An object is its koid, its signal word, its handle count, its reference
    count (handles plus references the kernel holds) and the waiters on it.
    Per-type behaviour is in class attributes (``type``, ``stats_key``,
    ``user_signals``) and two hooks: ``on_zero_handles`` (SPEC §5 rule 2)
    and ``on_destroy`` (rule 3).  Event pair ends and channel endpoints
    share ``ModelPeered``.
``ModelChannel``
    A channel endpoint: its queue of ``_Message`` (bytes plus handles in
    transit, owned by the kernel) and the ``_Call`` s waiting on it for a
    reply.  Writing moves the handles out of the writer's table into a
    message that goes to the peer's queue (or straight to a call waiting
    there for its txid); reading binds them into the reader's table.
    Destroying an endpoint hands its queued handles to the reaper.
``ModelPort``
    A port: a FIFO of packets, user packets (counted against
    ``PORT_MAX_PACKETS``) and signal packets of ``_AsyncWait`` s (at most
    one queued per wait, never refused).
``ModelJob``, ``ModelProcess``, ``ModelThread``
    The task tree.  A thread holds a reference on its process, a process on
    its job and a job on its parent; a job holds none on its children or
    processes, nor a process on its threads.  ``ModelProcess`` is both the
    process *object* and its syscall surface (the methods named ``mx_*``).
    Its handle table is a plain dict ``value -> (object, rights)``: a handle
    is that 2-tuple, owned by the table that holds it (or by the kernel
    while it sits in a channel message).

Waiting.  A blocked ``mx_object_wait_one``/``wait_many``/``mx_port_wait``
links a ``_Waiter`` on each object it waits on; whoever changes a signal
word finishes the waiters it satisfies (``ModelKernel._change_signals``),
and whoever closes, replaces or moves the handle, or kills its owner,
finishes them with ``ERR_CANCELED`` (``ModelKernel._cancel``).  An
``_AsyncWait`` (``mx_object_wait_async``) is linked the same way, but
instead of waking a thread it queues its packet into its port.

Orders that SPEC leaves open follow the C core, so that the differential
test can compare them exactly: waiters on one object are visited newest
first (so the packets of several async waits fired by one signal change are
queued newest wait first); ``INFO_PROCESS_THREADS``, ``INFO_JOB_CHILDREN``
and ``INFO_JOB_PROCESSES`` list newest first; killing a job walks its
subtree depth first, newest child first, killing each job's processes
newest first; the reaper closes queued messages first-in first-out and dead
processes' tables last-in first-out.

Argument handling follows SPEC §3 and is the same for every syscall:
arguments are converted to ints first (``TypeError`` for anything that is
not an int, a bool or an object with ``__index__``), then, holding the
kernel lock, a dead caller gets ``ERR_BAD_STATE``, then rights, masks and
options outside ``0 .. 2**32-1`` and deadlines and keys outside
``0 .. 2**64-1`` get ``ERR_INVALID_ARGS``, then the checks of the syscall's
errors column in order.  A handle argument is just looked up in the
caller's table, so negative, zero, huge, stale and foreign values all come
out as ``ERR_BAD_HANDLE``.
"""
from __future__ import annotations

import operator
import random
import threading
import time
from collections import deque
from typing import (Any, Callable, Deque, Dict, Iterable, List, Optional,
                    Tuple, Union)

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
    DEFAULT_JOB_RIGHTS,
    DEFAULT_PORT_RIGHTS,
    DEFAULT_PROCESS_RIGHTS,
    DEFAULT_THREAD_RIGHTS,
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
    MAX_NAME_LEN,
    OBJ_PROP_WAITABLE,
    PKT_TYPE_SIGNAL_ONE,
    PKT_TYPE_SIGNAL_REP,
    PKT_TYPE_USER,
    PORT_MAX_PACKETS,
    PORT_READABLE,
    RIGHT_DUPLICATE,
    RIGHT_ENUMERATE,
    RIGHT_READ,
    RIGHT_SAME_RIGHTS,
    RIGHT_TRANSFER,
    RIGHT_WRITE,
    STATS_KEYS,
    TASK_TERMINATED,
    TIME_INFINITE,
    U32_MAX,
    U64_MAX,
    USER_SIGNAL_ALL,
    WAIT_ASYNC_ONCE,
    WAIT_ASYNC_REPEATING,
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
from .records import (HandleBasic, HandleEntry, Packet, ProcessInfo,
                      SignalInfo, StartInfo, Stats)

__all__ = [
    "ModelKernel",
    "ModelObject",
    "ModelPeered",
    "ModelEvent",
    "ModelEventPair",
    "ModelChannel",
    "ModelPort",
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
_PORT_RIGHTS = int(DEFAULT_PORT_RIGHTS)
_JOB_RIGHTS = int(DEFAULT_JOB_RIGHTS)
_PROCESS_RIGHTS = int(DEFAULT_PROCESS_RIGHTS)
_THREAD_RIGHTS = int(DEFAULT_THREAD_RIGHTS)
_MAX_BYTES = int(CHANNEL_MAX_MSG_BYTES)
_MAX_HANDLES = int(CHANNEL_MAX_MSG_HANDLES)
_MAY_DISCARD = int(CHANNEL_READ_MAY_DISCARD)
_MAX_PACKETS = int(PORT_MAX_PACKETS)
_PAYLOAD = 32                   # bytes of a user packet's payload
_INT32 = 2**31
_INT64 = 2**63

#: Handle values are a per-process counter sent through a keyed bijection
#: modulo the prime _P = 2**31 - 1 (see ModelProcess).
_P = HANDLE_VALUE_MAX
#: First koid handed out; lower ones are reserved (0 none, 1 the kernel).
FIRST_KOID = 1024

#: Task states (``state`` of processes and threads): NEW until started,
#: RUNNING, then DEAD -- the strings of SPEC §7's snapshot.
NEW, RUNNING, DEAD = "new", "running", "exited"


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


def _seq_arg(values: Any, syscall: str) -> List[Any]:
    """A snapshot of a sequence argument (``TypeError`` for a str or
    bytes-like object or a non-iterable)."""
    if isinstance(values, (str, bytes, bytearray, memoryview)):
        raise TypeError("%s: expected a sequence, not %s"
                        % (syscall, type(values).__name__))
    try:
        return list(values)
    except TypeError:
        raise TypeError("%s: expected a sequence, not %s"
                        % (syscall, type(values).__name__)) from None


def _values_arg(values: Any, syscall: str) -> List[int]:
    """A sequence of handle values as a list of ints (``TypeError`` for a
    str or bytes-like object, a non-iterable or a non-int item)."""
    return [v if type(v) is int else _int(v)
            for v in _seq_arg(values, syscall)]


def _limit_arg(value: Any) -> Optional[int]:
    """``max_bytes`` / ``max_handles``: None (no limit) or an int."""
    return None if value is None else _int(value)


def _name_arg(name: Any, syscall: str) -> str:
    """A task name: a str (``TypeError`` otherwise), cut to the longest
    prefix whose UTF-8 form fits ``MAX_NAME_LEN - 1`` (31) bytes."""
    if not isinstance(name, str):
        raise TypeError("%s: name must be a str, not %s"
                        % (syscall, type(name).__name__))
    raw = name.encode("utf-8", "surrogatepass")[:MAX_NAME_LEN - 1]
    return raw.decode("utf-8", "ignore")


def _txid(data: bytes) -> int:
    """The transaction id of a message: its first four bytes as a
    little-endian u32, 0 if it is shorter."""
    return int.from_bytes(data[:4], "little") if len(data) >= 4 else 0


def _past(deadline: int) -> bool:
    """Whether ``deadline`` (ns on ``time.monotonic_ns()``) has come."""
    return deadline != TIME_INFINITE and deadline <= time.monotonic_ns()


# ---------------------------------------------------------------------------
# Waiters
# ---------------------------------------------------------------------------

class _Waiter:
    """A blocked thread's wait on one object (``wait_one``, one item of
    ``wait_many``, ``mx_port_wait``).

    ``proc`` and ``value`` name the handle waited through (closing,
    replacing or moving it, or ``proc``'s death, cancels the wait).
    ``obj`` is the object it is linked on, None once finished.  ``status``
    is None while waiting, then 0 (``observed`` holds the signals that
    satisfied it) or ``ERR_CANCELED``."""

    __slots__ = ("proc", "value", "want", "obj", "status", "observed")
    is_async = False

    def __init__(self, proc: "ModelProcess", value: int, want: int) -> None:
        self.proc = proc
        self.value = value
        self.want = want
        self.obj: Optional[ModelObject] = None
        self.status: Optional[int] = None
        self.observed = 0


class _AsyncWait:
    """One ``mx_object_wait_async``: ``target`` (watched through ``value``
    of ``proc``) asks for a packet with ``key`` on ``port`` when any of
    ``want`` is asserted.

    ``obj`` is ``target`` while the wait is linked on it (it can still
    fire), None once it ended (``detached``): a once-wait ends when it
    fires, any wait when its handle goes.  ``queued`` says whether its one
    packet sits in the port; a repeating wait fires again only after that
    packet was dequeued.  The wait holds no reference on the port: a
    destroyed port just makes it inert."""

    __slots__ = ("proc", "value", "want", "obj", "target", "port", "key",
                 "repeating", "queued", "detached")
    is_async = True

    def __init__(self, proc: "ModelProcess", value: int, target: "ModelObject",
                 port: "ModelPort", key: int, want: int,
                 repeating: bool) -> None:
        self.proc = proc
        self.value = value
        self.want = want
        self.obj: Optional[ModelObject] = None
        self.target = target
        self.port = port
        self.key = key
        self.repeating = repeating
        self.queued = False
        self.detached = False


AnyWaiter = Union[_Waiter, _AsyncWait]


# ---------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------

class ModelObject:
    """One kernel object (SPEC §1).

    ``koid``          unique in its kernel, never reused (0 until published).
    ``signals``       the 32-bit signal word.
    ``handle_count``  handles that point here (owned or in transit).
    ``refs``          handles plus references the kernel holds; the object
                      is destroyed when it drops to 0.
    ``related_koid``  what ``INFO_HANDLE_BASIC`` reports (0 unless set).
    ``destroyed``     True once destroyed (for views that outlive it).
    ``waiters``       the ``_Waiter`` s and ``_AsyncWait`` s linked here,
                      oldest first (None or empty when there are none).

    Subclasses set the class attributes ``type`` (``OBJ_TYPE_*``),
    ``stats_key`` (its key in ``stats().live_objects``), ``user_signals``
    (the bits ``mx_object_signal`` may touch) and ``peered`` (whether
    ``mx_object_signal_peer`` applies), and may override the two hooks.
    """

    __slots__ = ("koid", "signals", "handle_count", "refs", "related_koid",
                 "destroyed", "waiters")

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
        self.waiters: Optional[List[AnyWaiter]] = None

    def on_zero_handles(self, kernel: "ModelKernel") -> None:
        """SPEC §5 rule 2: the last handle just went (kernel lock held).

        Runs while the going handle's reference is still held, so the
        object is alive throughout.  The default does nothing.
        """

    def on_destroy(self, kernel: "ModelKernel") -> Optional["ModelObject"]:
        """SPEC §5 rule 3: the last reference just went (kernel lock held).

        The object is already unregistered and counted as destroyed.
        Handles it held (a channel's queue) go to the kernel's reaper
        (``ModelKernel._reap_messages``), which closes them without
        recursion.  A type that holds a reference on another object (a
        task on its parent) returns that object: the kernel drops the
        reference next, in the same loop, so that chains of any depth
        unwind without recursion.  The default holds nothing.
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
    """One end of a pair (an event pair or a channel).

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
    transferring that value, or the caller's death, cancels the call).
    ``status`` is None while waiting, then 0 (``reply`` holds the message)
    or an error status."""

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
            kernel._finish_calls(self, ERR_PEER_CLOSED)

    def on_destroy(self, kernel: "ModelKernel") -> Optional[ModelObject]:
        if self.queue:
            kernel._reap_messages([[obj for obj, _ in msg.handles]
                                   for msg in self.queue])
            self.queue.clear()
        return None


class ModelPort(ModelObject):
    """A port (``mx_port_create``).

    ``queue`` holds ``(packet, wait)`` pairs, oldest first: a user packet
    (``wait`` None; ``user_count`` counts them against
    ``PORT_MAX_PACKETS``) or the signal packet of an async wait.
    ``PORT_READABLE`` is asserted while the queue is not empty.  Destroying
    a port drops its packets; the async waits that point at it stay
    inert."""

    __slots__ = ("queue", "user_count")
    type = ObjType.PORT
    stats_key = STATS_KEYS[ObjType.PORT]

    def __init__(self, refs: int = 0) -> None:
        super().__init__(refs)
        self.queue: Deque[Tuple[Packet, Optional[_AsyncWait]]] = deque()
        self.user_count = 0

    def on_destroy(self, kernel: "ModelKernel") -> Optional[ModelObject]:
        for _, wait in self.queue:
            if wait is not None:
                wait.queued = False
        self.queue.clear()
        self.user_count = 0
        return None


class ModelJob(ModelObject):
    """A job.  ``parent`` is the parent job (None for the root job), on
    which it holds a reference; ``children`` and ``processes`` list the jobs
    and processes created in it and not yet destroyed, oldest first,
    without holding references (jobs hold none on their processes, SPEC
    §2).  ``killed``: ``mx_task_kill`` reached it; nothing can be created
    in it any more."""

    __slots__ = ("name", "parent", "children", "processes", "killed")
    type = ObjType.JOB
    stats_key = STATS_KEYS[ObjType.JOB]

    def __init__(self, name: str, parent: Optional["ModelJob"],
                 refs: int = 0) -> None:
        super().__init__(refs)
        self.name = name
        self.parent = parent
        self.children: List[ModelJob] = []
        self.processes: List[ModelProcess] = []
        self.killed = False

    def on_destroy(self, kernel: "ModelKernel") -> Optional[ModelObject]:
        parent = self.parent
        if parent is not None:
            parent.children.remove(self)
        return parent


class ModelThread(ModelObject):
    """A thread of ``process``, on which it holds a reference.  ``state``
    is ``NEW`` until started, ``RUNNING``, then ``DEAD`` (it was killed,
    its last handle went, or its process died); a dead thread has
    ``TASK_TERMINATED`` asserted."""

    __slots__ = ("name", "process", "state")
    type = ObjType.THREAD
    stats_key = STATS_KEYS[ObjType.THREAD]

    def __init__(self, name: str, process: "ModelProcess",
                 refs: int = 0) -> None:
        super().__init__(refs)
        self.name = name
        self.process = process
        self.state = NEW
        self.related_koid = process.koid

    def on_zero_handles(self, kernel: "ModelKernel") -> None:
        kernel._kill_thread(self)

    def on_destroy(self, kernel: "ModelKernel") -> Optional[ModelObject]:
        proc = self.process
        kernel._kill_thread(self)       # (only a thread that never lost
        proc.threads.remove(self)       # a handle is alive here)
        return proc


class _Reaper:
    """The work list of one outermost cascade: handles of destroyed
    queues (one list of objects per message, closed first-in first-out)
    and the tables of processes that died meanwhile (closed last-in
    first-out, once no message is left), as the C core's reaper."""

    __slots__ = ("messages", "tables")

    def __init__(self) -> None:
        self.messages: Deque[List[ModelObject]] = deque()
        self.tables: List[Tuple["ModelProcess", List[Tuple[int, Handle]]]] = []


# ---------------------------------------------------------------------------
# The kernel
# ---------------------------------------------------------------------------

class ModelKernel:
    """One simulated kernel, in pure Python (the model of ``mx.Kernel``).

    ``ModelKernel(*, seed=None, max_handles=None, on_process_start=None)``

    ``seed`` (int) makes handle values a pure function of the seed and the
    order of calls; without it the per-process value keys come from the
    operating system's random source.  ``max_handles`` (1 .. 2**63) caps the
    live handles (owned or in transit); a call that would exceed it raises
    ``ERR_NO_RESOURCES`` and changes nothing.  None means
    ``DEFAULT_MAX_HANDLES`` (2**26, the C core's default).
    ``on_process_start`` is called as ``fn(process, start_info)`` after each
    successful ``mx_process_start``, in the caller's thread, without the
    kernel lock held.

    At birth the kernel holds a root job, the init process and init's
    thread (koids 1024, 1025, 1026; each kept alive by a kernel reference),
    and init holds one handle to the root job.

    Attributes: ``init`` (the first :class:`ModelProcess`), ``max_handles``,
    ``root_job`` (the :class:`ModelJob`), ``on_process_start`` and ``lock``
    (the ``RLock`` every syscall holds; take it to make several calls one
    atomic step).
    """

    DEFAULT_MAX_HANDLES = 1 << 26

    def __init__(self, *, seed: Optional[int] = None,
                 max_handles: Optional[int] = None,
                 on_process_start: Optional[Callable[..., Any]] = None
                 ) -> None:
        if max_handles is None:
            max_handles = self.DEFAULT_MAX_HANDLES
        max_handles = _int(max_handles)
        if not 1 <= max_handles <= 2**63:
            raise ValueError("max_handles must be in 1 .. 2**63 (init's "
                             "handle to the root job counts)")
        if on_process_start is not None and not callable(on_process_start):
            raise TypeError("on_process_start must be callable")
        self.max_handles = max_handles
        self.on_process_start = on_process_start
        self.lock = threading.RLock()
        # Blocked calls and waits sleep on this; every finish notifies it.
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
        # The cascade in progress (None outside one), and ports that just
        # became readable, waiting for their PORT_READABLE edge.
        self._reaper: Optional[_Reaper] = None
        self._edges: List[ModelPort] = []
        self._edges_busy = False

        # The kernel's own objects, each pinned by a kernel reference.
        self.root_job = ModelJob("root", None, refs=1)
        self._publish(self.root_job)
        init = ModelProcess(self, "init", self.root_job, refs=1)
        self._publish(init)
        self._link_process(init)
        thread = ModelThread("init", init, refs=1)
        self._publish(thread)
        self._link_thread(thread)
        init.state = thread.state = RUNNING
        init.started = True
        self.init = init
        init._job_default = init._bind(self.root_job, _JOB_RIGHTS)

    # -- inspection (not syscalls) ---------------------------------------

    def stats(self) -> Stats:
        """SPEC §7: live and in-transit handles, live objects by type (every
        key of ``STATS_KEYS``, 0 included) and objects destroyed so far."""
        with self.lock:
            return Stats(self._live_handles, self._in_transit,
                         dict(self._live), self._destroyed)

    def process(self, koid: int) -> "ModelProcess":
        """The :class:`ModelProcess` of a process object not yet destroyed
        (an exited one too, while a handle to it remains);
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
        """The signal word of the live object with ``koid`` (a test aid).
        ``KeyError`` if none."""
        with self.lock:
            return self._objects[_int(koid)].signals

    def live_koids(self) -> List[int]:
        """Koids of every live object, in creation order (a test aid)."""
        with self.lock:
            return list(self._objects)

    def snapshot(self) -> Dict[str, Any]:
        """SPEC §7, the same shape as ``Kernel.snapshot()``: every process
        not yet destroyed (by koid) with its state and its handle table (in
        the table's order), every live object by koid, and every queued
        message (endpoints by koid, each queue oldest first) with the
        endpoint that will read it."""
        with self.lock:
            live = sorted(self._objects.items())
            processes = []
            for koid, obj in live:
                if isinstance(obj, ModelProcess):
                    processes.append({
                        "koid": koid, "name": obj.name, "state": obj.state,
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
        (in koid order) and its handles go to the reaper, which closes them
        with the usual cascade (which destroys the endpoints themselves).
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
                if isinstance(obj, ModelProcess) and obj.state != DEAD:
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
            lists: List[List[ModelObject]] = []
            for ep in garbage:
                lists.extend([o for o, _ in msg.handles] for msg in ep.queue)
                ep.queue.clear()
                self._change_signals(ep, CHANNEL_READABLE, 0)
            self._reap_messages(lists)
            return self._destroyed - before

    # -- objects and references (kernel lock held by the caller) ----------

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

    def _destroy(self, obj: Optional[ModelObject]) -> None:
        """Destroy ``obj`` (its last reference went), then drop the
        reference it held on another object (``on_destroy``'s result),
        which may destroy that one in turn: a loop, not recursion."""
        while obj is not None:
            obj.destroyed = True
            del self._objects[obj.koid]
            self._live[obj.stats_key] -= 1
            self._destroyed += 1
            held = obj.on_destroy(self)
            obj = None
            if held is not None:
                held.refs -= 1
                if held.refs == 0:
                    obj = held

    # -- the reaper -----------------------------------------------------------

    def _reap_messages(self, lists: List[List[ModelObject]]) -> None:
        """Close handles that were in transit (one list of objects per
        message, each handle already out of its message).  Inside a cascade
        they join its work list; otherwise this starts one."""
        reaper = self._reaper
        if reaper is not None:
            reaper.messages.extend(lists)
            return
        self._reaper = reaper = _Reaper()
        reaper.messages.extend(lists)
        self._drain(reaper)

    def _close_transit(self, objs: List[ModelObject]) -> None:
        """Close the handles of one message (see ``_reap_messages``)."""
        if objs:
            self._reap_messages([objs])

    def _reap_table(self, proc: "ModelProcess",
                    items: List[Tuple[int, Handle]]) -> None:
        """Close a dead process's table (``items``: ``(value, handle)`` in
        table order): now, or, inside a cascade, once it gets there."""
        reaper = self._reaper
        if reaper is not None:
            reaper.tables.append((proc, items))
            return
        self._reaper = reaper = _Reaper()
        try:
            self._close_table(proc, items)
        except BaseException:
            self._reaper = None
            raise
        self._drain(reaper)

    def _drain(self, reaper: _Reaper) -> None:
        """Run the cascade to its end: messages first, oldest first; then
        the newest dead table; again until both lists are empty."""
        messages, tables = reaper.messages, reaper.tables
        try:
            while True:
                if messages:
                    objs = messages.popleft()
                    if objs:
                        self._live_handles -= len(objs)
                        self._in_transit -= len(objs)
                        for obj in objs:
                            self._drop_handle(obj)
                elif tables:
                    proc, items = tables.pop()
                    self._close_table(proc, items)
                else:
                    return
        finally:
            self._reaper = None

    def _close_table(self, proc: "ModelProcess",
                     items: List[Tuple[int, Handle]]) -> None:
        """Close every handle of a dead process's table, in table order
        (``_live_handles`` was adjusted, and the waits through them ended,
        at its death)."""
        for _, (obj, _) in items:
            self._drop_handle(obj)

    # -- signals and waiters --------------------------------------------------

    def _change_signals(self, obj: ModelObject, clear: int, set_: int) -> None:
        """The one place a signal word changes: ``(s & ~clear) | set_``.

        If bits rose, the waiters on ``obj`` (newest first) see the new
        word: a blocked wait finishes if it wants any asserted bit; an async
        wait fires if it wants any bit that rose.

        While a *port*'s waiters are walked, ports that become readable
        (its own packets, or packets it fires into other ports) assert
        ``PORT_READABLE`` only once the walk is over, as the C core does
        (it never walks a port's waiters inside another walk): every waiter
        of the walk sees the word this change made."""
        old = obj.signals
        now = (old & ~clear) | set_
        obj.signals = now
        if obj.waiters and now & ~old:
            rising = now & ~old
            defer = type(obj) is ModelPort and not self._edges_busy
            if defer:
                self._edges_busy = True
            try:
                for w in reversed(obj.waiters[:]):
                    if w.obj is not obj:        # finished meanwhile
                        continue
                    if w.is_async:
                        if w.want & rising:
                            self._fire(w, now)  # type: ignore[arg-type]
                    elif w.want & now:
                        self._finish_waiter(w, 0, now)  # type: ignore[arg-type]
            finally:
                if defer:
                    self._drain_edges()

    def _drain_edges(self) -> None:
        """Assert ``PORT_READABLE`` on the ports waiting for it (newest
        first; edges they raise join the list), then clear the busy flag."""
        try:
            while self._edges:
                port = self._edges.pop()
                if port.queue:              # still readable
                    self._change_signals(port, 0, PORT_READABLE)
        finally:
            self._edges_busy = False

    def _link(self, obj: ModelObject, w: AnyWaiter) -> None:
        w.obj = obj
        if obj.waiters is None:
            obj.waiters = [w]
        else:
            obj.waiters.append(w)

    def _unlink(self, w: AnyWaiter) -> None:
        obj = w.obj
        if obj is not None:
            obj.waiters.remove(w)           # type: ignore[union-attr]
            w.obj = None

    def _finish_waiter(self, w: _Waiter, status: int, observed: int) -> None:
        """A blocked wait is over: unlink it and wake its thread."""
        self._unlink(w)
        w.status = int(status)
        w.observed = observed
        self._cond.notify_all()

    def _cancel(self, obj: ModelObject, proc: "ModelProcess",
                value: Optional[int]) -> None:
        """The handle ``value`` of ``proc`` to ``obj`` went (closed,
        replaced, moved; None: every handle of ``proc``, which died): its
        calls and blocked waits end with ``ERR_CANCELED``, its async waits
        end (their queued packets stay)."""
        if type(obj) is ModelChannel and obj.calls:
            self._finish_calls(obj, ERR_CANCELED, proc, value)
        if not obj.waiters:
            return
        for w in obj.waiters[:]:
            if w.proc is proc and (value is None or w.value == value):
                if w.is_async:
                    self._async_end(w)                   # type: ignore
                else:
                    self._finish_waiter(w, ERR_CANCELED, 0)  # type: ignore

    def _async_end(self, w: _AsyncWait) -> None:
        """An async wait ends; a packet of it already queued stays."""
        self._unlink(w)
        w.detached = True

    def _fire(self, w: _AsyncWait, observed: int) -> None:
        """An async wait's signals came: queue its packet (unless its port
        is gone or its previous packet is still queued); a once-wait ends
        here."""
        port = w.port
        if port.destroyed or w.queued:
            return
        w.queued = True
        if not w.repeating:
            self._async_end(w)
        packet = Packet(w.key, PKT_TYPE_SIGNAL_REP if w.repeating
                        else PKT_TYPE_SIGNAL_ONE, 0,
                        SignalInfo(w.want, observed, 1), None)
        self._port_push(port, packet, w)

    # -- ports ------------------------------------------------------------------

    def _port_push(self, port: ModelPort, packet: Packet,
                   wait: Optional[_AsyncWait]) -> None:
        port.queue.append((packet, wait))
        if wait is None:
            port.user_count += 1
        if len(port.queue) == 1:
            self._port_readable(port)

    def _port_readable(self, port: ModelPort) -> None:
        """Assert ``PORT_READABLE`` on a port that just got its first
        packet.  That may fire async waits on it into other ports, which
        become readable in turn: those edges wait on a stack (newest
        first) while the outermost one runs, instead of recursing."""
        self._edges.append(port)
        if self._edges_busy:
            return
        self._edges_busy = True
        self._drain_edges()

    def _port_pop(self, port: ModelPort) -> Packet:
        packet, wait = port.queue.popleft()
        if wait is None:
            port.user_count -= 1
        else:
            wait.queued = False         # a repeating wait may fire again
        if not port.queue:
            self._change_signals(port, PORT_READABLE, 0)
        return packet

    def _port_remove(self, port: ModelPort, entry: Tuple[Packet, Any]) -> None:
        port.queue.remove(entry)
        if entry[1] is None:
            port.user_count -= 1
        else:
            entry[1].queued = False
        if not port.queue:
            self._change_signals(port, PORT_READABLE, 0)

    # -- channels ---------------------------------------------------------------

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

    def _finish_calls(self, endpoint: ModelChannel, status: int,
                      proc: Optional["ModelProcess"] = None,
                      value: Optional[int] = None) -> None:
        """Finish with ``status`` the calls waiting on ``endpoint``: all of
        them, or (``proc`` given) those of ``proc`` made through ``value``
        (any value if None)."""
        keep = []
        for call in endpoint.calls:
            if proc is None or (call.proc is proc and
                                (value is None or call.value == value)):
                call.status = int(status)
            else:
                keep.append(call)
        endpoint.calls = keep
        self._cond.notify_all()

    # -- tasks --------------------------------------------------------------------

    def _link_job(self, job: ModelJob) -> None:
        parent = job.parent
        assert parent is not None
        parent.refs += 1
        parent.children.append(job)
        job.related_koid = parent.koid

    def _link_process(self, proc: "ModelProcess") -> None:
        proc.job.refs += 1
        proc.job.processes.append(proc)

    def _link_thread(self, thread: ModelThread) -> None:
        proc = thread.process
        proc.refs += 1
        proc.threads.append(thread)
        proc.live_threads += 1

    def _kill_process(self, proc: "ModelProcess", code: int) -> None:
        """``proc`` dies with ``code`` (unless it called
        ``mx_process_exit``, whose code stands), SPEC §5 rule 4.

        First every wait and call of it ends -- blocked ones with
        ``ERR_CANCELED`` (SPEC §4 Tasks), async ones quietly -- before
        anything its death sets off could satisfy them: on itself, then
        through each handle of its table.  Then its threads die (newest
        first) and assert ``TASK_TERMINATED``, so does the process, and its
        table is closed (by the reaper)."""
        if proc.state == DEAD:
            return
        proc.state = DEAD
        proc.exited = True
        if not proc.exit_called:
            proc.return_code = code
        items = list(proc._table.items())
        proc._table = {}
        self._live_handles -= len(items)
        if proc.waiters:
            self._cancel(proc, proc, None)
        for _, (obj, _) in items:
            if obj.waiters or (type(obj) is ModelChannel and obj.calls):
                self._cancel(obj, proc, None)
        for thread in proc.threads:
            thread.state = DEAD
        proc.live_threads = 0
        for thread in reversed(proc.threads):
            self._change_signals(thread, 0, TASK_TERMINATED)
        self._change_signals(proc, 0, TASK_TERMINATED)
        self._reap_table(proc, items)

    def _kill_thread(self, thread: ModelThread) -> None:
        """``thread`` dies; if it was the last live thread of a running
        process, the process exits with 0."""
        if thread.state == DEAD:
            return
        thread.state = DEAD
        proc = thread.process
        proc.live_threads -= 1
        last = proc.live_threads == 0 and proc.state == RUNNING
        self._change_signals(thread, 0, TASK_TERMINATED)
        if last:
            self._kill_process(proc, 0)

    def _kill_job(self, root: ModelJob) -> None:
        """Kill ``root`` and every job and process below it: depth first,
        newest child first, each job's processes newest first, holding a
        reference on the job it stands in (no recursion)."""
        root.refs += 1
        job = root
        while True:
            job.killed = True
            for proc in reversed(job.processes[:]):
                if not proc.destroyed:
                    proc.refs += 1
                    self._kill_process(proc, -1)
                    self._release(proc)
            if job.children:                # down to the newest child
                child = job.children[-1]
                child.refs += 1
                self._release(job)
                job = child
                continue
            while True:                     # up to an older sibling
                if job is root:
                    self._release(job)
                    return
                parent = job.parent
                assert parent is not None
                parent.refs += 1
                i = parent.children.index(job)
                sibling = parent.children[i - 1] if i > 0 else None
                if sibling is not None:
                    sibling.refs += 1
                self._release(job)
                if sibling is not None:
                    self._release(parent)
                    job = sibling
                    break
                job = parent

    # -- misc -------------------------------------------------------------------

    def _sleep(self, deadline: int, done: Callable[[], bool]) -> None:
        """Block on the kernel condition (lock held) until ``done()`` or
        the deadline (ns on ``time.monotonic_ns()``) passes."""
        cond = self._cond
        while not done():
            if deadline == TIME_INFINITE:
                cond.wait()
                continue
            left = deadline - time.monotonic_ns()
            if left <= 0:
                return
            cond.wait(min(left / 1e9, threading.TIMEOUT_MAX))

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
    return [t.koid for t in reversed(obj.threads) if t.state != DEAD]


def _job_children(proc: "ModelProcess", obj: Any, rights: int) -> List[int]:
    return [j.koid for j in reversed(obj.children)]


def _job_processes(proc: "ModelProcess", obj: Any, rights: int) -> List[int]:
    return [p.koid for p in reversed(obj.processes) if p.state != DEAD]


def _process_handles(proc: "ModelProcess", obj: Any,
                     rights: int) -> List[HandleEntry]:
    return [HandleEntry(v, o.koid, o.type, r)
            for v, (o, r) in obj._table.items()]


#: mx_object_get_info topics: topic -> (object type or None for any,
#: right needed, function(caller, object, rights) -> result).  The task
#: lists are newest first, as the C core's.
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
    ``name`` (cut to 31 UTF-8 bytes), ``kernel``, ``start_info`` (None
    until started, always None for init; then a ``StartInfo``), ``state``
    (``"new"``, ``"running"`` or ``"exited"``), ``job``, ``threads``
    (oldest first, not yet destroyed), ``live_threads``, ``started``,
    ``exited``, ``return_code`` (-1 once killed, 0 when its last thread
    ended, or what it gave ``mx_process_exit``).

    A process dies when it exits, is killed (directly, through a job, or
    when its last handle goes) or its last thread ends after it started;
    from then on every syscall of it raises ``ERR_BAD_STATE``.

    Handle values: the n-th value a process hands out is
    ``(c + n * m) mod P`` with ``P = 2**31 - 1`` (prime), skipping the one n
    that gives 0, and a per-process key ``(m, c)``, ``m != 0``, drawn from
    the kernel's (seeded) random stream.  Since P is prime this is a
    bijection of n mod P, so a process hands out P - 1 = 2**31 - 2 distinct
    values (every one of 1 .. 2**31 - 2) before any repeats, and two
    processes' values are unrelated.  It is computed incrementally (one add,
    one compare), which keeps the hot paths cheap.
    """

    __slots__ = ("kernel", "name", "job", "threads", "live_threads",
                 "start_info", "started", "exited", "exit_called",
                 "return_code", "state", "_lock", "_table", "_step",
                 "_last", "_job_default")
    type = ObjType.PROCESS
    stats_key = STATS_KEYS[ObjType.PROCESS]

    def __init__(self, kernel: ModelKernel, name: str, job: ModelJob,
                 refs: int = 0) -> None:
        super().__init__(refs)
        self.kernel = kernel
        self.name = name
        self.job = job
        self.threads: List[ModelThread] = []
        self.live_threads = 0
        self.start_info: Optional[StartInfo] = None
        self.state = NEW
        self.started = False
        self.exited = False
        self.exit_called = False
        self.return_code = 0
        self.related_koid = job.koid
        self._lock = kernel.lock
        self._table: Dict[int, Handle] = {}
        # Key of the value sequence: step m and last value (starts at c).
        self._step, self._last = kernel._new_process_keys()
        self._job_default = HANDLE_INVALID

    # -- object hooks (kernel lock held) ----------------------------------

    def on_zero_handles(self, kernel: ModelKernel) -> None:
        kernel._kill_process(self, -1)

    def on_destroy(self, kernel: ModelKernel) -> Optional[ModelObject]:
        kernel._kill_process(self, -1)      # (always dead by now)
        self.job.processes.remove(self)
        return self.job

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

    def _get(self, h: int, want_type: Optional[int], want_rights: int,
             syscall: str) -> Handle:
        """The handle ``h`` of this table, checked in SPEC order:
        ``BAD_HANDLE``, ``WRONG_TYPE`` (unless ``want_type`` is None),
        ``ACCESS_DENIED`` (without every bit of ``want_rights``)."""
        entry = self._table.get(h)
        if entry is None:
            raise MxError(ERR_BAD_HANDLE, syscall)
        if want_type is not None and entry[0].type != want_type:
            raise MxError(ERR_WRONG_TYPE, syscall)
        if entry[1] & want_rights != want_rights:
            raise MxError(ERR_ACCESS_DENIED, syscall)
        return entry

    def _alive(self, syscall: str) -> None:
        """``ERR_BAD_STATE`` once this process is dead (the first check of
        every syscall)."""
        if self.exited:
            raise MxError(ERR_BAD_STATE, syscall)

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
            if obj.waiters or (type(obj) is ModelChannel and obj.calls):
                kernel._cancel(obj, self, h)
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
                if obj.waiters or (type(obj) is ModelChannel and obj.calls):
                    kernel._cancel(obj, self, v)
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
        ``NO_RESOURCES`` (the live count does not change).  Waits and calls
        made through ``h`` end as if it was closed.

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
            if obj.waiters or (type(obj) is ModelChannel and obj.calls):
                self.kernel._cancel(obj, self, h)
            return value

    # -- events, event pairs and ports --------------------------------------------

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

    def mx_port_create(self, options: int = 0) -> int:
        """A new port and a handle to it (default rights).
        ``INVALID_ARGS`` if options != 0; ``NO_RESOURCES``."""
        if type(options) is not int:
            options = _int(options)
        with self._lock:
            if self.exited:
                raise MxError(ERR_BAD_STATE, "mx_port_create")
            if options != 0:
                raise MxError(ERR_INVALID_ARGS, "mx_port_create")
            kernel = self.kernel
            kernel._room(1, "mx_port_create")
            port = ModelPort()
            kernel._publish(port)
            return self._bind(port, _PORT_RIGHTS)

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
        for (obj, _), v in zip(moved, values):   # moved away: waits end
            if obj.waiters or (type(obj) is ModelChannel and obj.calls):
                kernel._cancel(obj, self, v)
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
            kernel._sleep(deadline, lambda: call.status is not None)
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

    # -- waiting --------------------------------------------------------------------

    def mx_object_wait_one(self, h: int, signals: int, deadline: int) -> int:
        """Wait until any of ``signals`` is asserted on ``h``'s object and
        return the signal word seen then.  A deadline in the past polls.

        Errors, in order: ``TypeError``; ``BAD_STATE`` (dead caller);
        ``INVALID_ARGS`` (signals outside u32, deadline outside u64);
        ``BAD_HANDLE``; ``ACCESS_DENIED`` (no ``RIGHT_READ``);
        ``TIMED_OUT`` at the deadline (``.observed``: the signals then);
        ``CANCELED`` if ``h`` is closed, replaced or moved away, or this
        process dies, meanwhile."""
        syscall = "mx_object_wait_one"
        h, signals, deadline = _int(h), _int(signals), _int(deadline)
        kernel = self.kernel
        with self._lock:
            self._alive(syscall)
            if not (0 <= signals <= U32_MAX and 0 <= deadline <= U64_MAX):
                raise MxError(ERR_INVALID_ARGS, syscall)
            obj, _ = self._get(h, None, _READ, syscall)
            now = obj.signals
            if now & signals:
                return now
            if _past(deadline):
                raise MxError(ERR_TIMED_OUT, syscall, observed=now)
            w = _Waiter(self, h, signals)
            kernel._link(obj, w)
            obj.refs += 1               # the wait's: obj outlives its handle
            kernel._sleep(deadline, lambda: w.status is not None)
            if w.status is None:
                kernel._unlink(w)
                w.status = int(ERR_TIMED_OUT)
            now = obj.signals
            kernel._release(obj)
            if w.status == 0:
                return w.observed
            if w.status == ERR_TIMED_OUT:
                raise MxError(ERR_TIMED_OUT, syscall, observed=now)
            raise MxError(w.status, syscall)

    def mx_object_wait_many(self, items: Any, deadline: int) -> List[int]:
        """Wait until any item's signals are asserted: ``items`` is a
        sequence of ``(handle, signals)`` pairs; returns the signal words
        of every item's object.  An empty list waits until the deadline.

        Errors as :meth:`mx_object_wait_one`, checked item by item (all
        items' signals and the deadline for range first); ``.observed`` of
        ``TIMED_OUT`` is a list.  ``CANCELED`` wins over a satisfied item
        when both happened."""
        syscall = "mx_object_wait_many"
        pairs = []
        for item in _seq_arg(items, syscall):
            try:
                h, sig = item
            except (TypeError, ValueError):
                raise TypeError("%s: items are (handle, signals) pairs"
                                % syscall) from None
            pairs.append((_int(h), _int(sig)))
        deadline = _int(deadline)
        kernel = self.kernel
        with self._lock:
            self._alive(syscall)
            for _, sig in pairs:
                if not 0 <= sig <= U32_MAX:
                    raise MxError(ERR_INVALID_ARGS, syscall)
            if not 0 <= deadline <= U64_MAX:
                raise MxError(ERR_INVALID_ARGS, syscall)
            objs = [self._get(h, None, _READ, syscall)[0] for h, _ in pairs]
            observed = [o.signals for o in objs]
            if any(s & sig for s, (_, sig) in zip(observed, pairs)):
                return observed
            if _past(deadline):
                raise MxError(ERR_TIMED_OUT, syscall, observed=observed)
            # One waiter per item, and one on this process itself (wanting
            # nothing), so that its death ends an empty wait too.
            waiters = [(obj, _Waiter(self, h, sig))
                       for obj, (h, sig) in zip(objs, pairs)]
            waiters.append((self, _Waiter(self, 0, 0)))
            for obj, w in waiters:
                kernel._link(obj, w)
                obj.refs += 1
            kernel._sleep(deadline, lambda: any(w.status is not None
                                                for _, w in waiters))
            canceled = satisfied = False
            observed = []
            for i, (obj, w) in enumerate(waiters):
                if w.status is None:
                    kernel._unlink(w)
                    w.status = int(ERR_TIMED_OUT)
                if i < len(pairs):
                    observed.append(obj.signals)
                    satisfied |= w.status == 0
                canceled |= w.status == ERR_CANCELED
            for obj, _ in waiters:
                kernel._release(obj)
            if canceled:
                raise MxError(ERR_CANCELED, syscall)
            if satisfied:
                return observed
            raise MxError(ERR_TIMED_OUT, syscall, observed=observed)

    # -- ports ------------------------------------------------------------------------

    def mx_object_wait_async(self, h: int, port: int, key: int,
                             signals: int, options: int) -> None:
        """Ask for a signal packet with ``key`` on ``port`` when any of
        ``signals`` is asserted on ``h``'s object (at once if one already
        is): once (``WAIT_ASYNC_ONCE``) or again on every later assertion
        after the previous packet was dequeued (``WAIT_ASYNC_REPEATING``).
        The wait ends when ``h`` is closed, replaced or moved away, or this
        process dies; it holds no reference on the port.

        Errors, in order: ``TypeError``; ``BAD_STATE``; ``INVALID_ARGS``
        (key outside u64, signals or options outside u32); for ``port``:
        ``BAD_HANDLE``, ``WRONG_TYPE``, ``ACCESS_DENIED`` (no WRITE); for
        ``h``: ``BAD_HANDLE``, ``ACCESS_DENIED`` (no READ); ``INVALID_ARGS``
        (options neither ONCE nor REPEATING)."""
        syscall = "mx_object_wait_async"
        h, port, key = _int(h), _int(port), _int(key)
        signals, options = _int(signals), _int(options)
        kernel = self.kernel
        with self._lock:
            self._alive(syscall)
            if not (0 <= key <= U64_MAX and 0 <= signals <= U32_MAX
                    and 0 <= options <= U32_MAX):
                raise MxError(ERR_INVALID_ARGS, syscall)
            p, _ = self._get(port, ObjType.PORT, _WRITE, syscall)
            obj, _ = self._get(h, None, _READ, syscall)
            if options not in (WAIT_ASYNC_ONCE, WAIT_ASYNC_REPEATING):
                raise MxError(ERR_INVALID_ARGS, syscall)
            w = _AsyncWait(self, h, obj, p, key, signals,  # type: ignore
                           options == WAIT_ASYNC_REPEATING)
            kernel._link(obj, w)
            if obj.signals & signals:
                kernel._fire(w, obj.signals)

    def mx_port_queue(self, port: int, packet: Any) -> None:
        """Queue a user packet: any object with ``key``, ``status`` and
        ``user`` (bytes-like, at most 32 bytes, zero-padded) attributes,
        e.g. ``mx.PortPacket``.

        Errors, in order: ``TypeError``; ``BAD_STATE``; ``INVALID_ARGS``
        (key outside u64); ``BAD_HANDLE``, ``WRONG_TYPE``,
        ``ACCESS_DENIED`` (no WRITE); ``INVALID_ARGS`` (status outside
        int32, payload over 32 bytes); ``SHOULD_WAIT`` (the port holds
        ``PORT_MAX_PACKETS`` user packets)."""
        syscall = "mx_port_queue"
        port = _int(port)
        try:
            key, status, user = packet.key, packet.status, packet.user
        except AttributeError:
            raise TypeError("%s: a packet needs key, status and user"
                            % syscall) from None
        key, status = _int(key), _int(status)
        if user is None:
            user = b""
        try:
            payload = bytes(memoryview(user))
        except TypeError:
            raise TypeError("%s: packet.user must be bytes-like"
                            % syscall) from None
        with self._lock:
            self._alive(syscall)
            if not 0 <= key <= U64_MAX:
                raise MxError(ERR_INVALID_ARGS, syscall)
            p, _ = self._get(port, ObjType.PORT, _WRITE, syscall)
            if not -_INT32 <= status < _INT32 or len(payload) > _PAYLOAD:
                raise MxError(ERR_INVALID_ARGS, syscall)
            if p.user_count >= _MAX_PACKETS:      # type: ignore[attr-defined]
                raise MxError(ERR_SHOULD_WAIT, syscall)
            self.kernel._port_push(
                p, Packet(key, PKT_TYPE_USER, status, None,  # type: ignore
                          payload.ljust(_PAYLOAD, b"\0")), None)

    def mx_port_wait(self, port: int, deadline: int) -> Packet:
        """The oldest packet on ``port``, waiting until the deadline for one.

        Errors, in order: ``TypeError``; ``BAD_STATE``; ``INVALID_ARGS``
        (deadline outside u64); ``BAD_HANDLE``, ``WRONG_TYPE``,
        ``ACCESS_DENIED`` (no READ); ``TIMED_OUT``; ``CANCELED`` if the
        port handle goes or this process dies meanwhile."""
        syscall = "mx_port_wait"
        port, deadline = _int(port), _int(deadline)
        kernel = self.kernel
        with self._lock:
            self._alive(syscall)
            if not 0 <= deadline <= U64_MAX:
                raise MxError(ERR_INVALID_ARGS, syscall)
            p, _ = self._get(port, ObjType.PORT, _READ, syscall)
            p.refs += 1
            try:
                while True:
                    if p.queue:                   # type: ignore[attr-defined]
                        return kernel._port_pop(p)  # type: ignore[arg-type]
                    if _past(deadline):
                        raise MxError(ERR_TIMED_OUT, syscall)
                    w = _Waiter(self, port, PORT_READABLE)
                    kernel._link(p, w)
                    kernel._sleep(deadline,
                                  lambda: w.status is not None)  # noqa: B023
                    kernel._unlink(w)
                    if w.status == ERR_CANCELED or self.exited:
                        raise MxError(ERR_CANCELED, syscall)
            finally:
                kernel._release(p)

    def mx_port_cancel(self, port: int, h: int, key: int) -> None:
        """End the async waits made through ``h`` of this process for
        ``port`` with ``key``, and drop their packets not yet dequeued.

        Errors, in order: ``TypeError``; ``BAD_STATE``; ``INVALID_ARGS``
        (key outside u64); for ``port``: ``BAD_HANDLE``, ``WRONG_TYPE``,
        ``ACCESS_DENIED`` (no WRITE); for ``h``: ``BAD_HANDLE``,
        ``ACCESS_DENIED`` (no READ); ``NOT_FOUND`` if there was neither a
        wait nor a packet."""
        syscall = "mx_port_cancel"
        port, h, key = _int(port), _int(h), _int(key)
        kernel = self.kernel
        with self._lock:
            self._alive(syscall)
            if not 0 <= key <= U64_MAX:
                raise MxError(ERR_INVALID_ARGS, syscall)
            p, _ = self._get(port, ObjType.PORT, _WRITE, syscall)
            obj, _ = self._get(h, None, _READ, syscall)

            def mine(w: Any) -> bool:
                return (w.is_async and w.port is p and w.key == key
                        and w.proc is self and w.value == h)
            found = False
            w: Any                                  # an _AsyncWait once mine()
            for w in (obj.waiters or [])[:]:        # waits still linked
                if mine(w):
                    found = True
                    if w.queued:
                        kernel._port_remove(p, next(  # type: ignore[arg-type]
                            e for e in p.queue if e[1] is w))  # type: ignore[attr-defined]
                    kernel._async_end(w)
            for entry in list(p.queue):             # type: ignore[attr-defined]
                w = entry[1]
                if w is not None and w.detached and mine(w) \
                        and w.target is obj:
                    found = True
                    kernel._port_remove(p, entry)   # type: ignore[arg-type]
            if not found:
                raise MxError(ERR_NOT_FOUND, syscall)

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
            self._alive("mx_job_default")
            return self._job_default

    def _parent_job(self, h: int, options: int, syscall: str) -> ModelJob:
        """The checks job_create and process_create share: ``BAD_STATE``
        (dead caller), ``INVALID_ARGS`` (options outside u32), the job's
        ``BAD_HANDLE``, ``WRONG_TYPE``, ``ACCESS_DENIED`` (no WRITE),
        ``INVALID_ARGS`` (options != 0), ``BAD_STATE`` (job killed),
        ``NO_RESOURCES``."""
        self._alive(syscall)
        if not 0 <= options <= U32_MAX:
            raise MxError(ERR_INVALID_ARGS, syscall)
        job, _ = self._get(h, ObjType.JOB, _WRITE, syscall)
        if options != 0:
            raise MxError(ERR_INVALID_ARGS, syscall)
        if job.killed:                          # type: ignore[attr-defined]
            raise MxError(ERR_BAD_STATE, syscall)
        self.kernel._room(1, syscall)
        return job                              # type: ignore[return-value]

    def mx_job_create(self, parent_job: int, options: int = 0) -> int:
        """A new job under ``parent_job``: a handle to it (default rights).

        Errors, in order: ``TypeError``; ``BAD_STATE`` (dead caller);
        ``INVALID_ARGS`` (options outside u32); ``BAD_HANDLE``,
        ``WRONG_TYPE``, ``ACCESS_DENIED`` (no WRITE); ``INVALID_ARGS``
        (options != 0); ``BAD_STATE`` (parent killed); ``NO_RESOURCES``."""
        parent_job, options = _int(parent_job), _int(options)
        kernel = self.kernel
        with self._lock:
            parent = self._parent_job(parent_job, options, "mx_job_create")
            job = ModelJob("", parent)
            kernel._publish(job)
            kernel._link_job(job)
            return self._bind(job, _JOB_RIGHTS)

    def mx_process_create(self, job: int, name: str, options: int = 0) -> int:
        """A new process (``"new"``, not started) in ``job``: a handle to
        it (default rights).  ``name`` (a str) is cut to the longest prefix
        whose UTF-8 form fits 31 bytes.  Errors as ``mx_job_create``."""
        syscall = "mx_process_create"
        job = _int(job)
        short = _name_arg(name, syscall)
        options = _int(options)
        kernel = self.kernel
        with self._lock:
            parent = self._parent_job(job, options, syscall)
            proc = ModelProcess(kernel, short, parent)
            kernel._publish(proc)
            kernel._link_process(proc)
            return self._bind(proc, _PROCESS_RIGHTS)

    def mx_thread_create(self, process: int, name: str,
                         options: int = 0) -> int:
        """A new thread (not started) of ``process``: a handle to it.

        Errors, in order: ``TypeError``; ``BAD_STATE`` (dead caller);
        ``INVALID_ARGS`` (options outside u32); ``BAD_HANDLE``,
        ``WRONG_TYPE``, ``ACCESS_DENIED`` (no WRITE); ``INVALID_ARGS``
        (options != 0); ``BAD_STATE`` (process dead); ``NO_RESOURCES``."""
        syscall = "mx_thread_create"
        process = _int(process)
        short = _name_arg(name, syscall)
        options = _int(options)
        kernel = self.kernel
        with self._lock:
            self._alive(syscall)
            if not 0 <= options <= U32_MAX:
                raise MxError(ERR_INVALID_ARGS, syscall)
            proc, _ = self._get(process, ObjType.PROCESS, _WRITE, syscall)
            if options != 0:
                raise MxError(ERR_INVALID_ARGS, syscall)
            if proc.state == DEAD:              # type: ignore[attr-defined]
                raise MxError(ERR_BAD_STATE, syscall)
            kernel._room(1, syscall)
            thread = ModelThread(short, proc)   # type: ignore[arg-type]
            kernel._publish(thread)
            kernel._link_thread(thread)
            return self._bind(thread, _THREAD_RIGHTS)

    def mx_process_start(self, process: int, thread: int, entry: Any,
                         stack: Any, arg1: int, arg2: Any) -> None:
        """Start ``process`` (new) with ``thread`` (new, one of its own):
        both become running, and ``arg1`` -- a handle of this process with
        ``RIGHT_TRANSFER`` -- moves into it as its bootstrap handle (waits
        through it here end).  The process's ``start_info`` records
        ``entry``, ``stack``, ``arg1`` (its value there) and ``arg2``; then
        the kernel's ``on_process_start(process, start_info)`` runs in this
        thread.

        Errors, in order: ``TypeError`` (process, thread or arg1 not an
        int); ``BAD_STATE`` (dead caller); for ``process``: ``BAD_HANDLE``,
        ``WRONG_TYPE``, ``ACCESS_DENIED`` (no WRITE); for ``thread``:
        ``BAD_HANDLE``, ``WRONG_TYPE``, ``ACCESS_DENIED`` (no WRITE, or a
        thread of another process); ``INVALID_ARGS`` (``arg1`` not a handle
        of this process with TRANSFER); ``BAD_STATE`` (process or thread
        not new)."""
        syscall = "mx_process_start"
        process, thread, arg1 = _int(process), _int(thread), _int(arg1)
        kernel = self.kernel
        with self._lock:
            self._alive(syscall)
            proc, _ = self._get(process, ObjType.PROCESS, _WRITE, syscall)
            th, _ = self._get(thread, ObjType.THREAD, _WRITE, syscall)
            if th.process is not proc:          # type: ignore[attr-defined]
                raise MxError(ERR_ACCESS_DENIED, syscall)
            boot = self._table.get(arg1)
            if boot is None or not boot[1] & _TRANSFER:
                raise MxError(ERR_INVALID_ARGS, syscall)
            if proc.state != NEW or th.state != NEW:  # type: ignore
                raise MxError(ERR_BAD_STATE, syscall)
            assert isinstance(proc, ModelProcess)
            del self._table[arg1]
            value = proc._new_value()
            proc._table[value] = boot
            obj = boot[0]
            if obj.waiters or (type(obj) is ModelChannel and obj.calls):
                kernel._cancel(obj, self, arg1)
            proc.state = th.state = RUNNING     # type: ignore[attr-defined]
            proc.started = True
            info = StartInfo(entry, stack, value, arg2)
            proc.start_info = info
            callback = kernel.on_process_start
        if callback is not None:
            callback(proc, info)

    def mx_thread_start(self, thread: int, entry: Any, stack: Any,
                        arg1: int, arg2: int) -> None:
        """Start an extra thread of a running process (``arg1`` and
        ``arg2`` are plain ints here).

        Errors, in order: ``TypeError``; ``BAD_STATE`` (dead caller);
        ``BAD_HANDLE``, ``WRONG_TYPE``, ``ACCESS_DENIED`` (no WRITE);
        ``BAD_STATE`` (its process not running, or the thread not new)."""
        syscall = "mx_thread_start"
        thread = _int(thread)
        _int(arg1)
        _int(arg2)
        with self._lock:
            self._alive(syscall)
            th, _ = self._get(thread, ObjType.THREAD, _WRITE, syscall)
            if th.process.state != RUNNING or th.state != NEW:  # type: ignore
                raise MxError(ERR_BAD_STATE, syscall)
            th.state = RUNNING                  # type: ignore[attr-defined]

    def mx_process_exit(self, retcode: int) -> None:
        """This process exits with ``retcode`` (an int64): its threads
        die, its handles are closed, ``TASK_TERMINATED`` is asserted.

        Errors: ``TypeError``; ``BAD_STATE`` (already dead);
        ``INVALID_ARGS`` (retcode outside int64)."""
        syscall = "mx_process_exit"
        retcode = _int(retcode)
        with self._lock:
            self._alive(syscall)
            if not -_INT64 <= retcode < _INT64:
                raise MxError(ERR_INVALID_ARGS, syscall)
            self.exit_called = True
            self.return_code = retcode
            self.kernel._kill_process(self, retcode)

    def mx_task_kill(self, task: int) -> None:
        """Kill a job (and every job and process below it), a process
        (return code -1) or a thread (if it was the last thread of its
        running process, that process exits with 0).  Killing what is
        already dead does nothing.

        Errors, in order: ``TypeError``; ``BAD_STATE`` (dead caller);
        ``BAD_HANDLE``; ``WRONG_TYPE`` (not a task); ``ACCESS_DENIED`` (no
        WRITE)."""
        syscall = "mx_task_kill"
        task = _int(task)
        kernel = self.kernel
        with self._lock:
            self._alive(syscall)
            obj, rights = self._get(task, None, 0, syscall)
            if type(obj) not in (ModelJob, ModelProcess, ModelThread):
                raise MxError(ERR_WRONG_TYPE, syscall)
            if not rights & _WRITE:
                raise MxError(ERR_ACCESS_DENIED, syscall)
            obj.refs += 1           # the call's, while the task dies
            if type(obj) is ModelJob:
                kernel._kill_job(obj)
            elif type(obj) is ModelProcess:
                kernel._kill_process(obj, -1)
            else:
                kernel._kill_thread(obj)        # type: ignore[arg-type]
            kernel._release(obj)

    def __repr__(self) -> str:
        return "<ModelProcess koid=%d name=%r %s handles=%d>" % (
            self.koid, self.name, self.state, len(self._table))
