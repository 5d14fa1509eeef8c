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
"""
from __future__ import annotations

import fnmatch
import operator
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

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

_OPS: Dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
}
_OP_SIGNS = {">=": "\u2265", "<=": "\u2264"}


@dataclass(frozen=True)
class Target:
    """A goal for one ratio of a row, judged on the median paired ratio:
    ``Target("os/mx", ">=", 1.7)`` reads "mx is at least 1.7 times faster
    than the real kernel"."""

    metric: str
    op: str
    value: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError("unknown metric %r (one of %s)"
                             % (self.metric, ", ".join(METRICS)))
        if self.op not in _OPS:
            raise ValueError("unknown comparison %r (>= or <=)" % self.op)

    def met(self, actual: float) -> bool:
        """Whether ``actual`` (the measured ratio) meets the target."""
        return _OPS[self.op](actual, self.value)

    def __str__(self) -> str:
        return "%s%g" % (_OP_SIGNS[self.op], self.value)


@dataclass
class Fixture:
    """What a row's ``setup()`` builds: the locals of each variant's
    statement (``None`` for a variant the row does not measure) and the
    clean-up to run afterwards (closing file descriptors)."""

    envs: Dict[str, Optional[Dict[str, Any]]]
    cleanups: List[Callable[[], None]] = field(default_factory=list)

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
    statement stand for.
    """

    name: str
    doc: str
    mx: str
    floor: str
    floor_doc: str
    model: Optional[str] = None
    os: Optional[str] = None
    os_doc: Optional[str] = None
    keep: Tuple[str, ...] = ()
    targets: Tuple[Target, ...] = ()
    setup: Callable[[], Fixture] = field(
        default_factory=lambda: standard_fixture)

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
            keep = self.keep if name in ("mx", "model") else ()
            out[name] = Variant(stmt, env, keep)
        return out


# -- fixtures ---------------------------------------------------------------

#: Linux (Python 3.10+): eventfd is the real kernel's event.
HAVE_EVENTFD = hasattr(os, "eventfd")

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
