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
    (``_bind``, ``_drop_handle``, ``_release``, ``_destroy``).
``ModelObject`` and one subclass per object type
    An object is its koid, its signal word, its handle count and its
    reference count (handles plus references the kernel holds).  Per-type
    behaviour is in class attributes (``type``, ``stats_key``,
    ``user_signals``) and two hooks: ``on_zero_handles`` (SPEC §5 rule 2)
    and ``on_destroy`` (rule 3).  Event pair ends share ``ModelPeered``
    with the channel endpoints to come.
``ModelProcess``
    Both the process *object* and its syscall surface (the methods named
    ``mx_*``).  Its handle table is a plain dict ``value -> (object,
    rights)``: a handle is that 2-tuple, owned by the table that holds it.

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
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .constants import (
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
    RIGHT_WRITE,
    STATS_KEYS,
    U32_MAX,
    USER_SIGNAL_ALL,
    DEFAULT_JOB_RIGHTS,
    ObjType,
)
from .errors import (
    ERR_ACCESS_DENIED,
    ERR_BAD_HANDLE,
    ERR_BAD_STATE,
    ERR_INVALID_ARGS,
    ERR_NO_RESOURCES,
    ERR_NOT_FOUND,
    ERR_NOT_SUPPORTED,
    ERR_PEER_CLOSED,
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
_EVENT_RIGHTS = int(DEFAULT_EVENT_RIGHTS)
_EPAIR_RIGHTS = int(DEFAULT_EVENTPAIR_RIGHTS)

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
            kernel._drop_handle(entry[0])

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
                    closed.append(entry[0])
            kernel = self.kernel
            kernel._live_handles -= len(closed)
            for obj in closed:
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
