"""The registry of benchmark rows: one row per operation.

A :class:`Row` names an operation and gives, as timeit-style statements, the
four ways to perform it that the report compares:

``mx``
    the syscalls of :class:`mxhandles.Kernel` (the C core);
``model``
    the same calls on the pure-Python :class:`mxhandles.model.ModelKernel`
    (by default the same statement as ``mx``);
``floor``
    empty cffi functions with the syscalls' argument types, called as often
    as the syscalls cross into C: the least any cffi binding could cost;
``os``
    the real kernel's nearest equivalent (file descriptors), where one
    exists.

The names a statement uses come from the row's *fixture*: ``setup()`` builds
a fresh kernel, a fresh model kernel and the file descriptors, and returns
one dict of locals per variant.  :func:`standard_fixture` binds, for both
kernels, every syscall of the init process under a short name, so that most
rows need no setup of their own::

    close  dup  replace  close_many  event_create  eventpair_create
    get_info  signal                       (bound methods of init)
    h        an event handle of init (default rights)
    R        RIGHT_SAME_RIGHTS as a plain int
    BASIC    INFO_HANDLE_BASIC as a plain int
    U0       USER_SIGNAL_0
    r64      range(64)

The floor's locals are ``p`` (init's C process pointer), ``h``, ``r`` and
``ph`` / ``phr`` / ``p_`` (the empty functions taking a process pointer and
a handle and rights / a handle / nothing).  The real kernel's are ``fd`` (an
fd of /dev/null), ``efd`` (an eventfd, where the platform has one), ``r64``
and the ``os`` functions ``dup``, ``close``, ``closerange``, ``pipe``,
``fstat``, ``eventfd``, ``eventfd_write``, ``open``.

To add a row, append a ``Row`` to :data:`ROWS` (give it a ``setup`` of its
own if the standard fixture lacks something) and declare its targets.

Channel rows build their own fixtures: :func:`channel_fixture` (a channel
of init, ``n`` handles to carry and a Unix socket pair with ``n`` fds for
the real kernel), :func:`nest_fixture` and :func:`cycle_fixture`.  The last
two are *one-shot*: the operation (closing a nest of channels, collecting a
cycle) consumes the state it acts on, so their fixtures give a ``prepare``
per variant that rebuilds it, untimed, before every sample, and the row's
``per`` turns the time into ns per level or per destroyed object.

Task rows: :func:`teardown_fixture` (one-shot: a process of init's root
job holding ``n`` handles, rebuilt before every sample, killed by the
statement) and :func:`task_cycle_fixture` (a process created, given a
thread, started and killed, over and over).  The model's variants run only
where the model has the task calls (``—`` otherwise).

A :class:`Scaling` in :data:`SCALING` is a target across rows: how the
cost of one operation grows with the size the rows measure it at.  A
:class:`Target` is on a ratio of two variants (:data:`METRICS`) or on one
variant's own ns per unit (:data:`NS_METRICS`: ``Target("mx ns", "<=",
100)`` reads "at most 100 ns per unit").
"""
from __future__ import annotations

import fnmatch
import functools
import math
import operator
import os
import signal
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .. import _core
from ..constants import INFO_HANDLE_BASIC, RIGHT_SAME_RIGHTS, USER_SIGNAL_0
from ..kernel import Kernel
from .harness import Variant

#: The variants every row measures, in table order.
VARIANTS = ("mx", "model", "floor", "os")

#: The ratios a target may constrain: numerator variant / denominator.
METRICS: Dict[str, Tuple[str, str]] = {
    "model/mx": ("model", "mx"),
    "os/mx": ("os", "mx"),
    "mx/floor": ("mx", "floor"),
}

#: Targets on one variant's own ns per operation (per unit), by name.
NS_METRICS: Dict[str, str] = {"mx ns": "mx"}

_OPS: Dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
}
_OP_SIGNS = {">=": "\u2265", "<=": "\u2264"}


@dataclass(frozen=True)
class Target:
    """A goal for one ratio of a row, judged on the median paired ratio:
    ``Target("os/mx", ">=", 1.7)`` reads "mx is at least 1.7 times faster
    than the real kernel"; or for one variant's median ns per operation
    (per unit): ``Target("mx ns", "<=", 100)``."""

    metric: str
    op: str
    value: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS and self.metric not in NS_METRICS:
            raise ValueError("unknown metric %r (one of %s)"
                             % (self.metric,
                                ", ".join([*METRICS, *NS_METRICS])))
        if self.op not in _OPS:
            raise ValueError("unknown comparison %r (>= or <=)" % self.op)

    def met(self, actual: float) -> bool:
        """Whether ``actual`` (the measured ratio) meets the target."""
        return _OPS[self.op](actual, self.value)

    @property
    def absolute(self) -> bool:
        """Whether the target is on ns per unit, not on a ratio."""
        return self.metric in NS_METRICS

    def __str__(self) -> str:
        return "%s%g%s" % (_OP_SIGNS[self.op], self.value,
                           " ns" if self.absolute else "")


@dataclass
class Fixture:
    """What a row's ``setup()`` builds: the locals of each variant's
    statement (``None`` for a variant the row does not measure), the
    clean-up to run afterwards (closing file descriptors) and, for a
    one-shot row, each variant's ``prepare(env)``, which rebuilds the state
    the operation consumes before every sample (untimed).  ``notes`` (text)
    and ``info`` (plain data) are what the setup measured besides time
    (memory per waiter, say): the report prints the notes under the row's
    name and puts both in the JSON."""

    envs: Dict[str, Optional[Dict[str, Any]]]
    cleanups: List[Callable[[], None]] = field(default_factory=list)
    prepare: Dict[str, Callable[[Dict[str, Any]], None]] = field(
        default_factory=dict)
    notes: List[str] = field(default_factory=list)
    info: Dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Runs the clean-ups, last registered first."""
        while self.cleanups:
            self.cleanups.pop()()


@dataclass(frozen=True)
class Row:
    """One operation of the report.

    ``mx``, ``model``, ``floor`` and ``os`` are statements over the
    fixture's locals (``model=None`` means the same statement as ``mx``;
    ``os=None`` means the real kernel has no equivalent).  ``keep`` names the
    locals the mx and model statements rebind (state carried from one run to
    the next).  The ``*_doc`` strings say what the floor and the os
    statement stand for (``floor=None``: no floor, as for an operation whose
    cost is all inside C).

    ``per`` and ``unit``: the mx and model samples are divided by ``per``
    (a number, or the name of a ``keep`` local the statement sets) and read
    "ns per ``unit``".  ``max_repeats`` (quick, full) caps the repeats of a
    slow row; ``quick=False`` leaves the row out of ``--quick`` runs.
    ``group`` names the pytest-benchmark suite of ``bench/`` that runs it
    (``handles`` or ``channels``).
    """

    name: str
    doc: str
    mx: str
    floor: Optional[str]
    floor_doc: str
    model: Optional[str] = None
    os: Optional[str] = None
    os_doc: Optional[str] = None
    keep: Tuple[str, ...] = ()
    targets: Tuple[Target, ...] = ()
    setup: Callable[[], Fixture] = field(
        default_factory=lambda: standard_fixture)
    per: Union[int, str] = 1
    unit: str = "op"
    max_repeats: Optional[Tuple[int, int]] = None
    quick: bool = True
    group: str = "handles"

    def repeats(self, repeats: int, quick: bool) -> int:
        """The repeats this row takes in a run asking for ``repeats``."""
        if self.max_repeats is None:
            return repeats
        return max(1, min(repeats, self.max_repeats[0 if quick else 1]))

    def statement(self, variant: str) -> Optional[str]:
        """The statement of ``variant`` (``None`` if not measured)."""
        if variant == "model":
            return self.model if self.model is not None else self.mx
        stmt: Optional[str] = getattr(self, variant)
        return stmt

    def variants(self, fixture: Fixture) -> Dict[str, Variant]:
        """The measurable variants of this row over ``fixture``."""
        out: Dict[str, Variant] = {}
        for name in VARIANTS:
            stmt = self.statement(name)
            env = fixture.envs.get(name)
            if stmt is None or env is None:
                continue
            if name in ("mx", "model"):
                keep, per = self.keep, self.per
            else:
                keep, per = (), self.per if isinstance(self.per, int) else 1
            out[name] = Variant(stmt, env, keep,
                                prepare=fixture.prepare.get(name), per=per)
        return out


@dataclass(frozen=True)
class Scaling:
    """A target across rows: the rows measure one operation (``variant``'s,
    in ns per unit) at the sizes ``sizes``; from one size to the next, the
    operation's whole cost (ns per unit x size) may grow at most
    ``max_per_decade`` times per tenfold size (10 is linear; so the cost per
    unit may grow at most ``max_per_decade / 10`` times per decade)."""

    name: str
    rows: Tuple[str, ...]
    sizes: Tuple[int, ...]
    max_per_decade: float
    variant: str = "mx"

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.sizes) or len(self.rows) < 2:
            raise ValueError("a scaling target needs a size for each of "
                             "at least two rows")

    def growth(self, size0: int, ns0: float, size1: int, ns1: float
               ) -> float:
        """Growth of the whole cost per tenfold size between two sizes."""
        return float(((ns1 * size1) / (ns0 * size0))
                     ** (1.0 / math.log10(size1 / size0)))

    def met(self, growth: float) -> bool:
        """Whether a measured growth per decade meets the target."""
        return growth <= self.max_per_decade

    def __str__(self) -> str:
        return "%s%g" % (_OP_SIGNS["<="], self.max_per_decade)


# -- fixtures ---------------------------------------------------------------

#: Linux (Python 3.10+): eventfd is the real kernel's event.
HAVE_EVENTFD = hasattr(os, "eventfd")
#: Unix (Python 3.9+): descriptors travel over AF_UNIX sockets.
HAVE_SEND_FDS = hasattr(socket, "send_fds") and hasattr(socket, "AF_UNIX")

_R = int(RIGHT_SAME_RIGHTS)
_BASIC = int(INFO_HANDLE_BASIC)
_U0 = int(USER_SIGNAL_0)


def syscall_env(proc: Any) -> Dict[str, Any]:
    """The syscalls of ``proc`` (a real or a model process) bound under
    short names, an event handle ``h`` and the constants rows use."""
    return {
        "close": proc.mx_handle_close,
        "dup": proc.mx_handle_duplicate,
        "replace": proc.mx_handle_replace,
        "close_many": proc.mx_handle_close_many,
        "event_create": proc.mx_event_create,
        "eventpair_create": proc.mx_eventpair_create,
        "get_info": proc.mx_object_get_info,
        "signal": proc.mx_object_signal,
        "h": proc.mx_event_create(),
        "R": _R,
        "BASIC": _BASIC,
        "U0": _U0,
        "r64": range(64),
    }


def floor_env(kernel: Kernel, h: int) -> Dict[str, Any]:
    """Locals for the floor statements: init's C process pointer, the empty
    functions, a handle value ``h`` (pass a real one: converting a larger int
    costs a little more) and rights."""
    return {
        "p": kernel.init._p,  # the same pointer the syscalls pass
        "h": h,
        "r": _R,
        "p_": _core.bench_empty_p,
        "ph": _core.bench_empty_ph,
        "phr": _core.bench_empty_phr,
        "r64": range(64),
    }


def os_env(fixture: Fixture) -> Dict[str, Any]:
    """Locals for the real-kernel statements; registers the closing of the
    descriptors it opens with ``fixture``."""
    fd = os.open(os.devnull, os.O_RDONLY)
    fixture.cleanups.append(lambda: os.close(fd))
    env: Dict[str, Any] = {
        "fd": fd,
        "dup": os.dup,
        "close": os.close,
        "closerange": os.closerange,
        "pipe": os.pipe,
        "fstat": os.fstat,
        "open": os.open,
        "devnull": os.devnull,
        "O_RDONLY": os.O_RDONLY,
        "r64": range(64),
    }
    if HAVE_EVENTFD:
        efd = os.eventfd(0)
        fixture.cleanups.append(lambda: os.close(efd))
        env.update(efd=efd, eventfd=os.eventfd,
                   eventfd_write=os.eventfd_write)
    return env


def standard_fixture() -> Fixture:
    """A fresh kernel and model kernel, floor locals and real-kernel fds."""
    from ..model import ModelKernel  # imported late: the model is optional

    kernel = Kernel(seed=1)
    model = ModelKernel(seed=1)
    fixture = Fixture({})
    mx_env = syscall_env(kernel.init)
    # The kernels stay alive through the bound methods in the envs.
    fixture.envs = {
        "mx": mx_env,
        "model": syscall_env(model.init),
        "floor": floor_env(kernel, mx_env["h"]),
    }
    fixture.envs["os"] = os_env(fixture)
    return fixture


# -- channel fixtures ------------------------------------------------------------

#: The bytes of every channel (and socket) message of the write+read rows.
DATA = b"x" * 8


def has_channels(proc: Any) -> bool:
    """Whether ``proc`` (a real or a model process) has the channel calls
    (the model grows them separately)."""
    return all(hasattr(proc, name) for name in (
        "mx_channel_create", "mx_channel_write", "mx_channel_read"))


def _message_env(proc: Any, nhandles: int) -> Dict[str, Any]:
    c0, c1 = proc.mx_channel_create()
    return {
        "write": proc.mx_channel_write,
        "read": proc.mx_channel_read,
        "c0": c0,
        "c1": c1,
        "DATA": DATA,
        "hs": [proc.mx_event_create() for _ in range(nhandles)],
    }


def _socket_env(fixture: Fixture, nfds: int) -> Dict[str, Any]:
    a, b = socket.socketpair(socket.AF_UNIX)
    fixture.cleanups.append(a.close)
    fixture.cleanups.append(b.close)
    fds = []
    for _ in range(nfds):
        fd = os.open(os.devnull, os.O_RDONLY)
        fixture.cleanups.append(functools.partial(os.close, fd))
        fds.append(fd)
    return {"send_fds": socket.send_fds, "recv_fds": socket.recv_fds,
            "close": os.close, "a": a, "b": b, "fds": fds, "N": nfds,
            "DATA": DATA, "BUF": len(DATA) * 8}


def channel_fixture(nhandles: int) -> Callable[[], Fixture]:
    """The setup of a write+read row with ``nhandles`` handles: a channel
    ``c0``/``c1`` of init, the events ``hs`` to carry and the message
    ``DATA``, on both kernels (the model's variant is left out while the
    model has no channels); a Unix socket pair ``a``/``b`` and ``N``
    descriptors ``fds`` of /dev/null for the real kernel."""

    def setup() -> Fixture:
        from ..model import ModelKernel

        kernel = Kernel(seed=1)
        model = ModelKernel(seed=1).init
        fixture = Fixture({})
        mx_env = _message_env(kernel.init, nhandles)
        fixture.envs = {
            "mx": mx_env,
            "model": (_message_env(model, nhandles)
                      if has_channels(model) else None),
            "floor": floor_env(kernel, mx_env["c0"]),
        }
        fixture.envs["os"] = (_socket_env(fixture, nhandles)
                              if HAVE_SEND_FDS else None)
        return fixture

    setup.__name__ = setup.__qualname__ = "channel_fixture_%d" % nhandles
    return setup


def build_nest(proc: Any, depth: int) -> int:
    """A nest of ``depth`` channels in ``proc``: each channel's other end
    closed, each one's remaining end written into the next one's queue;
    returns the handle of the outermost.  Closing it destroys the
    ``depth`` endpoints one inside the other (SPEC section 5 rule 3)."""
    create: Callable[[], Tuple[int, int]] = proc.mx_channel_create
    write = proc.mx_channel_write
    close = proc.mx_handle_close
    w, top = create()
    close(w)
    for _ in range(depth - 1):
        w, r = create()
        write(w, b"", [top])
        close(w)
        top = r
    return top


def build_cycle(proc: Any, size: int) -> None:
    """A cycle of ``size`` channels that no process can reach: the
    remaining end of channel ``i`` sits in the queue of channel ``i + 1``
    (the last in the first's), and every other end is closed.  A
    collection destroys the ``size`` endpoints."""
    create = proc.mx_channel_create
    write = proc.mx_channel_write
    close = proc.mx_handle_close
    pairs = [create() for _ in range(size)]
    for i, (_, r) in enumerate(pairs):
        write(pairs[(i + 1) % size][0], b"", [r])
    for w, _ in pairs:
        close(w)


def _renest(env: Dict[str, Any], proc: Any, depth: int) -> None:
    env.update(top=build_nest(proc, depth))


def _recycle(env: Dict[str, Any], proc: Any) -> None:
    build_cycle(proc, CYCLE_SIZE)


#: Deepest nest the model variant builds (a pure-Python build of 100,000
#: levels already takes seconds a sample).
MODEL_NEST_MAX = 10_000


def nest_fixture(depth: int) -> Callable[[], Fixture]:
    """The setup of a ``close nest`` row: ``close`` and the outermost
    handle ``top``, rebuilt by ``prepare`` (:func:`build_nest`) before
    every sample; the model's variant only up to :data:`MODEL_NEST_MAX`."""

    def setup() -> Fixture:
        from ..model import ModelKernel

        fixture = Fixture({"floor": None, "os": None})
        procs: Dict[str, Any] = {"mx": Kernel(seed=1).init,
                                 "model": ModelKernel(seed=1).init}
        for name, proc in procs.items():
            if not has_channels(proc) or (name == "model"
                                          and depth > MODEL_NEST_MAX):
                fixture.envs[name] = None
                continue
            fixture.envs[name] = {"close": proc.mx_handle_close, "top": 0}
            fixture.prepare[name] = functools.partial(_renest, proc=proc,
                                                      depth=depth)
        return fixture

    setup.__name__ = setup.__qualname__ = "nest_fixture_%d" % depth
    return setup


CYCLE_SIZE = 1000


def cycle_fixture() -> Fixture:
    """The setup of the ``collect`` row: the kernel's ``collect`` (and the
    model's, once it has one) and ``destroyed``, what it returned; a fresh
    :func:`build_cycle` of :data:`CYCLE_SIZE` channels before every
    sample."""
    from ..model import ModelKernel

    fixture = Fixture({"floor": None, "os": None})
    kernels: Dict[str, Any] = {"mx": Kernel(seed=1),
                               "model": ModelKernel(seed=1)}
    for name, kernel in kernels.items():
        if not (has_channels(kernel.init) and hasattr(kernel, "collect")):
            fixture.envs[name] = None
            continue
        fixture.envs[name] = {"collect": kernel.collect, "destroyed": 0}
        fixture.prepare[name] = functools.partial(_recycle,
                                                  proc=kernel.init)
    return fixture


# -- task fixtures ---------------------------------------------------------------

#: The task calls a row needs of a process (the model grows them
#: separately).
TASK_CALLS = ("mx_job_default", "mx_process_create", "mx_thread_create",
              "mx_process_start", "mx_task_kill")


def has_tasks(proc: Any) -> bool:
    """Whether ``proc`` (a real or a model process) has the task calls."""
    return all(hasattr(proc, name) for name in TASK_CALLS)


def build_process(kernel: Any, n: int) -> int:
    """A new process in init's root job holding ``n`` handles: an event of
    its own and ``n - 1`` duplicates of it, made by the process itself
    through ``kernel.process(koid)`` (a debugger's view: a process need not
    run to make calls here).  Returns init's handle to it; killing it closes
    the ``n`` handles (SPEC section 5 rule 4)."""
    init = kernel.init
    ph = init.mx_process_create(init.mx_job_default(), "victim")
    child = kernel.process(init.mx_object_get_info(ph, _BASIC).koid)
    dup = child.mx_handle_duplicate
    ev = child.mx_event_create()
    for _ in range(n - 1):
        dup(ev, _R)
    return ph  # type: ignore[no-any-return]


#: Largest process the model's teardown variant builds (its duplicates
#: and its teardown take microseconds a handle).
MODEL_TEARDOWN_MAX = 100_000


def teardown_fixture(n: int) -> Callable[[], Fixture]:
    """The setup of a ``process teardown`` row: ``kill`` (init's
    ``mx_task_kill``) and ``ph``, init's handle to a process holding ``n``
    handles (:func:`build_process`), rebuilt by ``prepare`` before every
    sample (which first closes the handle to the last sample's dead
    process); the model's variant only up to :data:`MODEL_TEARDOWN_MAX`
    and where it has tasks."""

    def setup() -> Fixture:
        from ..model import ModelKernel

        fixture = Fixture({"floor": None, "os": None})
        kernels: Dict[str, Any] = {"mx": Kernel(seed=1),
                                   "model": ModelKernel(seed=1)}
        for name, kernel in kernels.items():
            init = kernel.init
            if not (has_tasks(init) and hasattr(kernel, "process")) or (
                    name == "model" and n > MODEL_TEARDOWN_MAX):
                fixture.envs[name] = None
                continue
            fixture.envs[name] = {"kill": init.mx_task_kill, "ph": 0}

            def prepare(env: Dict[str, Any], kernel: Any = kernel,
                        close: Any = init.mx_handle_close) -> None:
                if env["ph"]:
                    close(env["ph"])
                env["ph"] = build_process(kernel, n)

            fixture.prepare[name] = prepare
        return fixture

    setup.__name__ = setup.__qualname__ = "teardown_fixture_%d" % n
    return setup


def _task_env(proc: Any) -> Dict[str, Any]:
    return {
        "pcreate": proc.mx_process_create,
        "tcreate": proc.mx_thread_create,
        "start": proc.mx_process_start,
        "kill": proc.mx_task_kill,
        "close": proc.mx_handle_close,
        "event_create": proc.mx_event_create,
        "job": proc.mx_job_default(),
    }


#: Linux and the BSDs: the real kernel's process create + kill.
HAVE_FORK = hasattr(os, "fork") and hasattr(os, "waitpid")


def task_cycle_fixture() -> Fixture:
    """The setup of the ``process create+start+kill`` row: init's task
    calls and ``job`` (its root-job handle) on both kernels (the model's
    variant left out while the model has no tasks); ``fork``, ``_exit``,
    ``kill``, ``waitpid`` and ``SIGKILL`` for the real kernel."""
    from ..model import ModelKernel

    kernel = Kernel(seed=1)
    model = ModelKernel(seed=1).init
    fixture = Fixture({})
    mx_env = _task_env(kernel.init)
    fixture.envs = {
        "mx": mx_env,
        "model": _task_env(model) if has_tasks(model) else None,
        "floor": floor_env(kernel, mx_env["job"]),
        "os": {"fork": os.fork, "_exit": os._exit, "kill": os.kill,
               "waitpid": os.waitpid, "SIGKILL": signal.SIGKILL}
        if HAVE_FORK else None,
    }
    return fixture


# -- the rows ------------------------------------------------------------------

_CLOSE_MANY_OS = """
[dup2(fd, t) for t in block]
closerange(block.start, block.stop)
"""


def _free_fd_block(n: int, start: int = 512) -> Optional[range]:
    """``n`` consecutive descriptor numbers from ``start`` up that are not in
    use and under the soft limit, or ``None``.  (The lowest-free rule means
    the process's own opens will not land there.)"""
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return None
    if limit != resource.RLIM_INFINITY and start + n > limit:
        return None
    block = range(start, start + n)
    for fd in block:
        try:
            os.fstat(fd)
        except OSError:
            continue
        return None  # in use: do not risk closing someone's descriptor
    return block


def close_many_fixture() -> Fixture:
    """The standard fixture plus ``block`` (64 free descriptor numbers) and
    ``dup2`` for the real kernel's batch: 64 ``dup2`` into the block and one
    ``closerange`` over it.  Without such a block the os variant is
    skipped."""
    fixture = standard_fixture()
    env = fixture.envs["os"]
    block = _free_fd_block(64)
    if env is None or block is None:
        fixture.envs["os"] = None
    else:
        env.update(block=block, dup2=os.dup2)
    return fixture


ROWS: List[Row] = [
    Row(
        name="duplicate+close",
        doc="duplicate an event handle (same rights), close the copy",
        mx="close(dup(h, R))",
        floor="ph(p, phr(p, h, r))",
        floor_doc="empty (p, h, rights) call + empty (p, h) call",
        os="close(dup(fd))",
        os_doc="os.dup + os.close on an fd of /dev/null",
        targets=(Target("os/mx", ">=", 1.7), Target("model/mx", ">=", 3),
                 Target("mx/floor", "<=", 1.6)),
    ),
    Row(
        name="event_create+close",
        doc="create an event, close its handle",
        mx="close(event_create())",
        floor="ph(p, phr(p, h, r))",
        floor_doc="empty (p, h, rights) call + empty (p, h) call",
        os="close(eventfd(0))" if HAVE_EVENTFD
        else "close(open(devnull, O_RDONLY))",
        os_doc="os.eventfd + os.close" if HAVE_EVENTFD
        else "os.open(/dev/null) + os.close",
        targets=(Target("os/mx", ">=", 1.0), Target("model/mx", ">=", 3),
                 Target("mx/floor", "<=", 1.6)),
    ),
    Row(
        name="replace",
        doc="replace a handle by one with the same rights",
        mx="h = replace(h, R)",
        keep=("h",),
        floor="phr(p, h, r)",
        floor_doc="one empty (p, h, rights) call",
        targets=(Target("model/mx", ">=", 3), Target("mx/floor", "<=", 1.8)),
    ),
    Row(
        name="close_many (64 handles)",
        doc="64 duplicates of an event handle, closed by one close_many",
        mx="close_many([dup(h, R) for _ in r64])",
        floor="[phr(p, h, r) for _ in r64]\nphr(p, h, r)",
        floor_doc="65 empty (p, h, rights) calls (the list is not converted)",
        os=_CLOSE_MANY_OS,
        os_doc="64 x os.dup2 into a free block, then one os.closerange",
        setup=close_many_fixture,
        targets=(Target("os/mx", ">=", 1.5), Target("model/mx", ">=", 3),
                 Target("mx/floor", "<=", 1.8)),
    ),
    Row(
        name="eventpair_create+close both",
        doc="create an event pair, close both ends",
        mx="a, b = eventpair_create()\nclose(a)\nclose(b)",
        floor="phr(p, h, r)\nph(p, h)\nph(p, h)",
        floor_doc="one empty (p, h, rights) call + two empty (p, h) calls",
        os="a, b = pipe()\nclose(a)\nclose(b)",
        os_doc="os.pipe + os.close of both ends",
        targets=(Target("os/mx", ">=", 1.5), Target("model/mx", ">=", 3),
                 Target("mx/floor", "<=", 1.8)),
    ),
    Row(
        name="get_info HANDLE_BASIC",
        doc="mx_object_get_info(h, INFO_HANDLE_BASIC) on an event",
        mx="get_info(h, BASIC)",
        floor="phr(p, h, r)",
        floor_doc="one empty (p, h, rights) call",
        os="fstat(fd)",
        os_doc="os.fstat on an fd of /dev/null",
        targets=(Target("os/mx", ">=", 1.0), Target("model/mx", ">=", 2),
                 Target("mx/floor", "<=", 3.0)),
    ),
    Row(
        name="object_signal",
        doc="mx_object_signal(h, USER_SIGNAL_0, USER_SIGNAL_0) on an event",
        mx="signal(h, U0, U0)",
        floor="phr(p, h, r)",
        floor_doc="one empty (p, h, rights) call (the C call takes 5)",
        os="eventfd_write(efd, 1)" if HAVE_EVENTFD else None,
        os_doc="os.eventfd_write(efd, 1)" if HAVE_EVENTFD else None,
        targets=(Target("os/mx", ">=", 1.0), Target("model/mx", ">=", 3),
                 Target("mx/floor", "<=", 2.0)),
    ),
]

_WRITE_READ = "write(c0, DATA, hs)\n_, hs = read(c1)"
_SEND_RECV = """
send_fds(a, [DATA], fds)
_, got, _, _ = recv_fds(b, BUF, N)
for f in got:
    close(f)
"""
_WRITE_READ_FLOOR_DOC = (
    "two empty (p, h, rights) calls, an approximation: the C write takes 6 "
    "arguments (bytes, handle array), the read 8 (out-buffers), and _core "
    "has no empty functions of those types")


def _write_read_row(nhandles: int, label: str,
                    targets: Tuple[Target, ...]) -> Row:
    return Row(
        name="channel write+read (%s)" % label,
        doc="write %d bytes and %s to a channel of init, read them from its "
        "other end (the handles read go out again in the next write)"
        % (len(DATA), label),
        mx=_WRITE_READ,
        keep=("hs",),
        floor="phr(p, h, r)\nphr(p, h, r)",
        floor_doc=_WRITE_READ_FLOOR_DOC,
        os=_SEND_RECV,
        os_doc="socket.send_fds of %d bytes and %s + socket.recv_fds over an "
        "AF_UNIX socketpair, os.close of every fd received"
        % (len(DATA), label.replace("handle", "fd")),
        setup=channel_fixture(nhandles),
        targets=targets,
        group="channels",
    )


# model/mx >= 3 on every write+read row is the project's usual bar for the
# model; the issue sets os/mx >= 10 (and model/mx >= 3) for 4 handles.
ROWS += [
    _write_read_row(0, "0 handles", (Target("model/mx", ">=", 3),)),
    _write_read_row(1, "1 handle", (Target("model/mx", ">=", 3),)),
    _write_read_row(4, "4 handles", (Target("os/mx", ">=", 10),
                                     Target("model/mx", ">=", 3))),
    _write_read_row(64, "64 handles", (Target("model/mx", ">=", 3),)),
]

#: (name suffix, depth, max repeats (quick, full), in --quick runs)
_NESTS = [("10k", 10_000, (15, 40), True),
          ("100k", 100_000, (8, 15), True),
          ("1M", 1_000_000, (3, 5), False)]

ROWS += [
    Row(
        name="close nest depth %s" % label,
        doc="close the outermost handle of a nest of %s channels (each "
        "written into the next one's queue, the other ends closed), built "
        "before every sample; ns per level" % "{:,}".format(depth),
        mx="close(top)",
        floor=None,
        floor_doc="none (one close; the cascade runs inside C)",
        setup=nest_fixture(depth),
        per=depth,
        unit="level",
        max_repeats=repeats,
        quick=quick,
        group="channels",
    )
    for label, depth, repeats, quick in _NESTS
]

ROWS.append(Row(
    name="collect (%d-channel cycle)" % CYCLE_SIZE,
    doc="Kernel.collect() of a cycle of %d channels unreachable from any "
    "process (each one's end in the next one's queue), built before every "
    "sample; ns per destroyed object" % CYCLE_SIZE,
    mx="destroyed = collect()",
    keep=("destroyed",),
    per="destroyed",
    unit="object",
    floor=None,
    floor_doc="none (one call; the collection runs inside C)",
    setup=cycle_fixture,
    max_repeats=(10, 40),
    targets=(Target("model/mx", ">=", 3),),
    group="channels",
))

#: (name suffix, handles, max repeats (quick, full), in --quick runs,
#: targets)
_TEARDOWNS = [("1k", 1_000, (30, 60), True, ()),
              ("100k", 100_000, (6, 15), True, ()),
              ("1M", 1_000_000, (3, 5), False,
               (Target("mx ns", "<=", 100),))]

ROWS += [
    Row(
        name="process teardown (%s handles)" % label,
        doc="mx_task_kill of a process holding %s handles (an event and its "
        "duplicates, made by the process itself), built before every "
        "sample; ns per handle" % "{:,}".format(n),
        mx="kill(ph)",
        floor=None,
        floor_doc="none (one kill; the teardown runs inside C)",
        setup=teardown_fixture(n),
        per=n,
        unit="handle",
        max_repeats=repeats,
        quick=quick,
        targets=targets,
        group="handles",
    )
    for label, n, repeats, quick, targets in _TEARDOWNS
]

_TASK_CYCLE = """
ph = pcreate(job, "p")
th = tcreate(ph, "t")
start(ph, th, 0, 0, event_create(), 0)
kill(ph)
close(th)
close(ph)
"""
_FORK_KILL = """
pid = fork()
if not pid:
    _exit(0)
kill(pid, SIGKILL)
waitpid(pid, 0)
"""

ROWS.append(Row(
    name="process create+start+kill",
    doc="create a process in the root job and a thread of it, start it "
    "with a new event as its bootstrap handle, kill it, close the thread "
    "and process handles (7 syscalls; everything made is destroyed)",
    mx=_TASK_CYCLE,
    floor="phr(p, h, r)\nphr(p, h, r)\nphr(p, h, r)\nphr(p, h, r)\n"
    "ph(p, h)\nph(p, h)\nph(p, h)",
    floor_doc="four empty (p, h, rights) calls + three empty (p, h) calls, "
    "an approximation (the creates and start pass more arguments)",
    os=_FORK_KILL,
    os_doc="os.fork (the child _exits at once) + os.kill(SIGKILL) + "
    "os.waitpid",
    setup=task_cycle_fixture,
    targets=(Target("model/mx", ">=", 3),),
    group="handles",
))

#: Targets across rows.  The issue: closing a nest of depth N is linear in
#: N, "10k -> 100k -> 1M within 12x per decade" (of the whole close; the
#: cost per level may grow at most 1.2x per decade).  A process's teardown
#: is linear in its handles likewise.
SCALING: List[Scaling] = [
    Scaling("close nest", tuple("close nest depth %s" % label
                                for label, _, _, _ in _NESTS),
            tuple(depth for _, depth, _, _ in _NESTS), 12.0),
    Scaling("process teardown", tuple("process teardown (%s handles)" % label
                                      for label, _, _, _, _ in _TEARDOWNS),
            tuple(n for _, n, _, _, _ in _TEARDOWNS), 12.0),
]


def select_rows(patterns: Optional[str],
                rows: Sequence[Row] = ROWS) -> List[Row]:
    """The rows matching ``patterns``: comma-separated, each a glob
    (``close*``) or else a substring, case-insensitive.  ``None`` or an
    empty string selects every row.  Keeps registry order."""
    if not patterns:
        return list(rows)
    pats = [p.strip().lower() for p in patterns.split(",") if p.strip()]

    def matches(name: str) -> bool:
        n = name.lower()
        return any(fnmatch.fnmatchcase(n, p) if any(c in p for c in "*?[")
                   else p in n for p in pats)

    return [row for row in rows if matches(row.name)]


# The waiting rows (wake-up latency, asyncio waiters, port round trips) live
# in .waits, which builds on this module: imported last, appended last.
from .waits import WAIT_ROWS  # noqa: E402

ROWS += WAIT_ROWS
