"""``Kernel``: one simulated kernel: its objects, processes and inspection.

A Kernel owns one C kernel (``mxh_kernel_t``).  Kernels share nothing, so any
number can live in one Python process.  At boot it has a root job, the init
process (``Kernel.init``) with one thread, and init's handle to the root job.
"""
from __future__ import annotations

import os
import random
import threading
from typing import Any, Callable, Dict, List, Optional

from . import _core
from ._args import as_int
from ._core import ffi
from .constants import DEFAULT_JOB_RIGHTS, ObjType
from .errors import ERR_NOT_FOUND, MxError
from .objects import Record
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
        self._prune_at = 64
        self._processes: Dict[int, Process] = {}
        k = _core.kernel_create(max_handles or 0)
        if k == ffi.NULL:
            raise MemoryError("mxh_kernel_create")
        self._k = ffi.gc(k, _core.kernel_release)
        # Pooled out-buffers for channel reads (see _core.ReadBuffers).
        self._buffers: List[_core.ReadBuffers] = []
        self._infos: List[Any] = []     # pooled (mxh_handle_info_t, buffer)
        self._packets: List[Any] = []   # pooled (mxh_packet_t, buffer)

        # Boot: root job, init and its thread (the kernel's references),
        # and init's handle to the root job.
        job, init_p, thread = (ffi.new("mxh_obj_t **"), ffi.new("mxh_proc_t **"),
                               ffi.new("mxh_obj_t **"))
        rc = _core.kernel_boot(self._k, self._secret(), job, init_p, thread)
        if rc < 0:
            raise MemoryError("mxh_kernel_boot")
        self.root_job = Record(self, job[0])
        self._init_ref = Record(self, _core.proc_object(init_p[0]))
        self._init_thread = Record(self, thread[0])
        init = Process(self, init_p[0], "init")
        self._init = self._register(init)
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

    def _register(self, proc: Process) -> Process:
        """Remembers a process's view for Kernel.process(koid)."""
        with self._lock:
            self._processes[proc.koid] = proc
            if len(self._processes) > self._prune_at:
                self._live_processes()
                self._prune_at = 2 * len(self._processes) + 64
        return proc

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
        if proc is None or _core.object_destroyed(_core.proc_object(proc._p)):
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

    # -- inspection (SPEC §7) --------------------------------------------------------

    def _live_processes(self) -> List[Process]:
        """Processes not yet destroyed; forgets the destroyed ones."""
        alive = []
        for koid, proc in list(self._processes.items()):
            if _core.object_destroyed(_core.proc_object(proc._p)):
                self._processes.pop(koid, None)
            else:
                alive.append(proc)
        return alive

    def _objects(self) -> List[Any]:
        n = 256
        while True:
            buf = ffi.new("mxh_object_info_t[]", n)
            total = _core.kernel_objects(self._k, buf, n)
            if total <= n:
                return [buf[i] for i in range(total)]
            n = total + total // 4

    def _messages(self) -> List[Dict[str, Any]]:
        n, nk = 64, 256
        total_koids = ffi.new("uint64_t *")
        while True:
            buf = ffi.new("mxh_message_info_t[]", n)
            koids = ffi.new("uint64_t[]", nk)
            total = _core.kernel_messages(self._k, buf, n, koids, nk,
                                          total_koids)
            if total <= n and total_koids[0] <= nk:
                break
            n = max(n, total + total // 4)
            nk = max(nk, int(total_koids[0]) + int(total_koids[0]) // 4)
        out, at = [], 0
        for i in range(total):
            m = buf[i]
            count = int(m.handle_count)
            out.append({"endpoint_koid": int(m.endpoint_koid),
                        "bytes": int(m.nbytes),
                        "handle_koids": [int(x) for x in koids[at:at + count]]})
            at += count
        return out

    def snapshot(self) -> Dict[str, Any]:
        """The kernel as plain data (JSON-serializable): every process not
        yet destroyed with its handle table, every live object, and every
        queued message with the endpoint that will read it."""
        processes = []
        for proc in sorted(self._live_processes(), key=lambda p: p.koid):
            processes.append({
                "koid": proc.koid,
                "name": proc.name,
                "state": proc.state,
                "handles": [{"value": v, "koid": koid, "type": t, "rights": r}
                            for v, koid, t, r in proc.handles()],
            })
        objects = sorted(({"koid": int(o.koid), "type": int(o.type),
                           "handle_count": int(o.handle_count),
                           "signals": int(o.signals),
                           "related_koid": int(o.related_koid)}
                          for o in self._objects()), key=lambda o: o["koid"])
        return {"processes": processes, "objects": objects,
                "messages": self._messages()}

    def to_dot(self) -> str:
        """The snapshot's graph as Graphviz DOT: processes (boxes) point at
        the objects their handles name; channel endpoints are linked to their
        peers (dashed) and to what their queued messages carry (dotted)."""
        snap = self.snapshot()
        names = {ObjType.JOB: "job", ObjType.PROCESS: "process",
                 ObjType.THREAD: "thread", ObjType.CHANNEL: "channel",
                 ObjType.EVENT: "event", ObjType.EVENT_PAIR: "eventpair",
                 ObjType.PORT: "port"}
        lines = ["digraph mxhandles {", "  rankdir=LR;",
                 '  node [fontname="Helvetica", fontsize=10];',
                 '  edge [fontname="Helvetica", fontsize=9];']
        procs = {p["koid"]: p for p in snap["processes"]}
        queued: Dict[int, int] = {}
        for m in snap["messages"]:
            queued[m["endpoint_koid"]] = queued.get(m["endpoint_koid"], 0) + 1
        for o in snap["objects"]:
            koid = o["koid"]
            if koid in procs:
                p = procs[koid]
                lines.append('  k%d [shape=box, style=rounded, label="process %s\\nkoid %d\\n%s"];'
                             % (koid, _dot_escape(p["name"]), koid, p["state"]))
                continue
            label = "%s\\nkoid %d" % (names.get(o["type"], "object"), koid)
            if queued.get(koid):
                label += "\\n%d queued" % queued[koid]
            lines.append('  k%d [shape=ellipse, label="%s"];' % (koid, label))
        for p in snap["processes"]:
            for h in p["handles"]:
                lines.append('  k%d -> k%d [label="%d"];'
                             % (p["koid"], h["koid"], h["value"]))
        seen = set()
        for o in snap["objects"]:
            if o["type"] in (ObjType.CHANNEL, ObjType.EVENT_PAIR):
                pair = tuple(sorted((o["koid"], o["related_koid"])))
                alive = o["related_koid"] in {x["koid"] for x in snap["objects"]}
                if alive and pair not in seen:
                    seen.add(pair)
                    lines.append('  k%d -> k%d [dir=none, style=dashed, label="peer"];'
                                 % pair)
        for m in snap["messages"]:
            for koid in m["handle_koids"]:
                lines.append('  k%d -> k%d [style=dotted, label="in transit"];'
                             % (m["endpoint_koid"], koid))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def collect(self) -> int:
        """Reclaims what no process can reach any more (channels cycling
        through each other's queues) and returns how many objects were
        destroyed in all (SPEC §5 rule 5)."""
        rc = _core.kernel_collect(self._k)
        if rc < 0:
            raise MxError(rc, "Kernel.collect")
        return int(rc)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
