"""``Kernel``: one simulated kernel: its objects, processes and inspection.

A Kernel owns one C kernel (``mxh_kernel_t``).  Kernels share nothing, so any
number can live in one Python process.  At boot it has a root job, the init
process (``Kernel.init``) with one thread, and init's handle to the root job.
"""
from __future__ import annotations

import os
import random
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional

from . import _core
from ._args import as_int
from ._core import ffi
from .constants import DEFAULT_JOB_RIGHTS, ObjType
from .errors import ERR_NO_MEMORY, ERR_NOT_FOUND, MxError
from .objects import Job, Managed, Thread
from .process import Process
from .records import Stats

_STATS_KEYS = ("event", "eventpair", "channel", "port", "job", "process",
               "thread")


class Kernel:
    """One simulated Magenta kernel.

    ``Kernel(*, seed=None, max_handles=None, on_process_start=None)``

    - ``seed``: makes handle values (and koids) a pure function of the seed
      and of the order of syscalls; without it each process's value secret
      comes from ``os.urandom``.
    - ``max_handles``: the most live handles (owned or in transit) at once;
      calls that would exceed it fail with ``ERR_NO_RESOURCES``.  Default
      ``2**26``.
    - ``on_process_start``: ``fn(process, start_info)``, called after each
      successful ``mx_process_start`` in the caller's thread.
    """

    def __init__(self, *, seed: Optional[int] = None,
                 max_handles: Optional[int] = None,
                 on_process_start: Optional[Callable[..., Any]] = None) -> None:
        if seed is not None:
            seed = as_int(seed, "seed")
        if max_handles is not None:
            max_handles = as_int(max_handles, "max_handles")
            if not 1 <= max_handles <= 2**63:
                raise ValueError("max_handles must be in 1 .. 2**63")
        if on_process_start is not None and not callable(on_process_start):
            raise TypeError("on_process_start must be callable")
        self.seed = seed
        self.on_process_start = on_process_start
        self._rng = random.Random(seed) if seed is not None else None
        self._lock = threading.RLock()
        self._managed: Dict[int, Managed] = {}
        self._processes: Dict[int, Process] = {}
        k = _core.kernel_create(max_handles or 0)
        if k == ffi.NULL:
            raise MemoryError("mxh_kernel_create")
        self._k = ffi.gc(k, _core.kernel_release)
        self._stats_buf = ffi.new("mxh_stats_t *")

        # Boot: root job, init and its thread, init's root-job handle.
        self.root_job = self._add(Job(self, self._new_object(ObjType.JOB, 0),
                                      None))
        init = self._new_process("init", self.root_job.koid)
        init.state = "running"
        self._init = init
        self._add(Thread(self, self._new_object(ObjType.THREAD, init.koid),
                         init.koid, "init"))
        h = _core.handle_create(init._p, self.root_job.obj,
                                int(DEFAULT_JOB_RIGHTS))
        if h < 0:
            raise MxError(h, "Kernel")
        init._root_job_handle = h

    def __repr__(self) -> str:
        st = self.stats()
        return "<Kernel processes=%d live_handles=%d>" % (
            st.live_objects["process"], st.live_handles)

    # -- construction helpers ------------------------------------------------

    def _secret(self) -> int:
        if self._rng is not None:
            return self._rng.getrandbits(64)
        return int.from_bytes(os.urandom(8), "little")

    def _new_object(self, type_: int, related_koid: int) -> Any:
        o = _core.object_create(self._k, int(type_), _core.MANAGED,
                                related_koid)
        if o == ffi.NULL:
            raise MxError(ERR_NO_MEMORY, "object_create")
        return o

    def _add(self, rec: Any) -> Any:
        self._managed[rec.koid] = rec
        return rec

    def _new_process(self, name: str, job_koid: int) -> Process:
        p = _core.proc_create(self._k, self._secret(), job_koid)
        if p == ffi.NULL:
            raise MxError(ERR_NO_MEMORY, "mx_process_create")
        proc = Process(self, p, name, job_koid)
        self._add(proc)
        self._processes[proc.koid] = proc
        return proc

    def _run_notes(self, koids: Iterable[int]) -> None:
        """Runs zero-handles actions, iteratively: an action may close more
        handles and so produce more notes."""
        work: List[int] = list(koids)
        while work:
            rec = self._managed.get(work.pop())
            if rec is not None:
                more = rec.on_zero_handles()
                if more:
                    work.extend(more)

    # -- public surface -----------------------------------------------------------

    @property
    def init(self) -> Process:
        """The first process, already running; holds the root-job handle."""
        return self._init

    def process(self, koid: int) -> Process:
        """The ``Process`` of any process object not yet destroyed (a
        debugger's view).  ``MxError(ERR_NOT_FOUND)`` otherwise."""
        k = as_int(koid, "koid")
        proc = self._processes.get(k)
        if proc is None:
            raise MxError(ERR_NOT_FOUND, "Kernel.process")
        return proc

    def stats(self) -> Stats:
        """Live handles (owned and in transit), live objects by type, and the
        number of objects destroyed so far."""
        st = ffi.new("mxh_stats_t *")
        _core.kernel_stats(self._k, st)
        lo = st.live_objects
        return Stats(int(st.live_handles), int(st.in_transit_handles),
                     {key: int(lo[i]) for i, key in enumerate(_STATS_KEYS)},
                     int(st.destroyed_objects))
