"""Memory per live handle, all layers counted: the report's memory section.

Each case runs in a fresh interpreter (a subprocess), so that its resident
set holds nothing of the rest of the run (the rows' kernels, freed memory
that malloc kept).  The child boots a :class:`~mxhandles.Kernel`, creates a
process (``holder``) through init's ``mx_process_create``, warms up the
syscall path, reads its memory figures, then makes the case's handles in
``holder`` and reads them again:

``duplicates``
    one event and ``n - 1`` duplicates of its handle: ``n`` live handles of
    one object, the cost of a handle alone;
``events``
    ``n`` events, each with its one handle: the cost of an object and its
    handle together (minus the duplicates' figure: an object's own cost).

The figures, each a difference after - before over the live handles made
(``Kernel.stats().live_handles``, which the child checks grew by exactly
``n`` plus init's handle to ``holder``):

``rss``
    the resident set (``/proc/self/statm``): every layer, the C table's
    slots, the objects, malloc's own overhead and anything Python kept;
    this is the figure the target judges;
``malloc``
    glibc's bytes handed out (``mallinfo2``: in-use chunks + mmapped
    blocks): the C core's allocations (tables, objects), as malloc sees
    them, capacity included (a table grows by doubling; only the pages
    touched count in ``rss``);
``python blocks``
    the growth of ``sys.getallocatedblocks()``: objects the Python layer
    allocated and kept.  There is no per-handle Python object, so this stays
    a few dozen whatever ``n`` is.

No Python list of the handle values is kept (it would cost ~36 B a handle
itself): the loops discard each value, and closing is left to the child's
exit.  ``peak_rss`` is the child's high-water mark (``VmHWM``), the most it
ever needed, to compare with the machine's memory.

Targets (issue: "at most 48 bytes per live handle, all layers, at 1M
handles; 16M live handles in one kernel"): ``rss`` of the 1M duplicates at
most 48 B a handle; the 16M case met when all 16,000,000 handles were made
and counted live (full runs only; ``--quick`` measures 1M).
"""
from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

#: The name ``--rows`` patterns are matched against to select the section.
SECTION = "memory"

#: How long one case may take before it counts as failed.
CASE_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class MemoryCase:
    """``n`` live handles of ``kind`` (``duplicates`` or ``events``),
    measured in full runs and, if ``quick``, in quick runs too.
    ``max_bytes``: the target on RSS bytes per live handle, if any;
    ``must_fit``: the case's target is only that all ``n`` handles could be
    made (the 16M case)."""

    kind: str
    n: int
    quick: bool = True
    max_bytes: Optional[float] = None
    must_fit: bool = False

    @property
    def name(self) -> str:
        """``1M duplicates``, ``16M duplicates``, ``1M events``."""
        return "%s %s" % (_size(self.n), self.kind)

    @property
    def judged(self) -> bool:
        """Whether the case has a target."""
        return self.max_bytes is not None or self.must_fit


#: The cases of the section, in report order.
CASES: List[MemoryCase] = [
    MemoryCase("duplicates", 1_000_000, max_bytes=48.0),
    MemoryCase("events", 1_000_000),
    MemoryCase("duplicates", 16_000_000, quick=False, must_fit=True),
]

KINDS = ("duplicates", "events")


def _size(n: int) -> str:
    for div, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= div and n % div == 0:
            return "%d%s" % (n // div, suffix)
    return "{:,}".format(n)


def selected(patterns: Optional[str], section: str = SECTION) -> bool:
    """Whether ``--rows`` patterns select the section named ``section``
    (no patterns: yes), matched as :func:`.rows.select_rows` matches a row
    name."""
    if not patterns:
        return True
    pats = [p.strip().lower() for p in patterns.split(",") if p.strip()]
    return any(fnmatch.fnmatchcase(section, p) if any(c in p for c in "*?[")
               else p in section for p in pats)


# -- the child ---------------------------------------------------------------


def _rss_bytes() -> Optional[int]:
    """The resident set now, from /proc/self/statm (``None`` without it)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            resident = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> Optional[int]:
    """The high-water resident set: VmHWM, else ``ru_maxrss``."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        import resource
    except ImportError:
        return None
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def measure_here(kind: str, n: int) -> Dict[str, Any]:
    """Runs one case in this interpreter (meant to be a fresh one: see
    :func:`run_case`) and returns its raw figures.  Raises ``ValueError``
    for a bad kind or count, ``RuntimeError`` if the live-handle count did
    not grow by exactly what was made."""
    import gc
    import itertools

    from ..constants import INFO_HANDLE_BASIC, RIGHT_SAME_RIGHTS
    from ..kernel import Kernel
    from .waits import _malloc_in_use

    if kind not in KINDS:
        raise ValueError("kind must be one of %s" % ", ".join(KINDS))
    if n < 1:
        raise ValueError("n must be at least 1")
    malloc_in_use: Callable[[], Optional[int]] = (
        _malloc_in_use() or (lambda: None))
    kernel = Kernel(seed=1)
    init = kernel.init
    R = int(RIGHT_SAME_RIGHTS)
    # Warm up init's table and the syscall path (cffi's first calls).
    ev0 = init.mx_event_create()
    for _ in range(1000):
        init.mx_handle_close(init.mx_handle_duplicate(ev0, R))
        init.mx_handle_close(init.mx_event_create())
    gc.collect()

    def reading() -> Tuple[Optional[int], Optional[int], int, int, int]:
        st = kernel.stats()
        return (_rss_bytes(), malloc_in_use(), sys.getallocatedblocks(),
                st.live_handles, st.live_objects["event"])

    before = reading()
    t0 = time.perf_counter()
    ph = init.mx_process_create(init.mx_job_default(), "holder")
    holder = kernel.process(init.mx_object_get_info(
        ph, int(INFO_HANDLE_BASIC)).koid)
    if kind == "duplicates":
        dup = holder.mx_handle_duplicate
        ev = holder.mx_event_create()
        for _ in itertools.repeat(None, n - 1):
            dup(ev, R)
    else:
        create = holder.mx_event_create
        for _ in itertools.repeat(None, n):
            create()
    seconds = time.perf_counter() - t0
    gc.collect()
    after = reading()
    live = after[3] - before[3]
    if live != n + 1:  # the handles made and init's handle to holder
        raise RuntimeError("live handles grew by %d, expected %d"
                           % (live, n + 1))
    events = after[4] - before[4]
    if events != (1 if kind == "duplicates" else n):
        raise RuntimeError("live events grew by %d" % events)

    def delta(i: int) -> Optional[int]:
        a, b = after[i], before[i]
        return None if a is None or b is None else int(a) - int(b)

    return {
        "kind": kind,
        "n": n,
        "live_handles": live,
        "rss_before": before[0],
        "rss_delta": delta(0),
        "malloc_delta": delta(1),
        "python_blocks_delta": delta(2),
        "peak_rss": _peak_rss_bytes(),
        "seconds": seconds,
    }


def child_main(argv: Optional[Sequence[str]] = None) -> int:
    """The subprocess's entry: ``KIND N``; prints one JSON line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: KIND N", file=sys.stderr)
        return 2
    print(json.dumps(measure_here(args[0], int(args[1]))))
    return 0


_CHILD = ("import sys; from mxhandles.bench.memory import child_main; "
          "sys.exit(child_main())")


# -- the parent ---------------------------------------------------------------


@dataclass
class MemoryResult:
    """One case's figures (``raw``, as the child reported them) or the error
    that stopped it."""

    case: MemoryCase
    raw: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None

    def per_handle(self, key: str) -> Optional[float]:
        """``key``'s delta (``rss_delta``, ``malloc_delta``) over the live
        handles made, or ``None``."""
        value = self.raw.get(key)
        live = self.raw.get("live_handles")
        if value is None or not live:
            return None
        return float(value) / float(live)

    @property
    def bytes_per_handle(self) -> Optional[float]:
        """RSS bytes per live handle: the figure the target judges."""
        return self.per_handle("rss_delta")

    @property
    def met(self) -> Optional[bool]:
        """The verdict on the case's target; ``None`` for no target.  A
        case that failed misses its target."""
        if not self.case.judged:
            return None
        if self.error is not None:
            return False
        if self.case.max_bytes is not None:
            bph = self.bytes_per_handle
            if bph is None or bph > self.case.max_bytes:
                return False
        return True

    def target_text(self) -> str:
        """``<=48 B``, ``16M live``, or empty."""
        if self.case.max_bytes is not None:
            return "\u2264%g B" % self.case.max_bytes
        if self.case.must_fit:
            return "%s live" % _size(self.case.n)
        return ""

    def as_dict(self) -> Dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "name": self.case.name,
            "kind": self.case.kind,
            "n": self.case.n,
            **{k: v for k, v in self.raw.items() if k not in ("kind", "n")},
            "rss_bytes_per_handle": self.bytes_per_handle,
            "malloc_bytes_per_handle": self.per_handle("malloc_delta"),
            "target": self.target_text() or None,
            "met": self.met,
            "error": self.error,
        }


def _child_env() -> Dict[str, str]:
    """This environment with the directory holding this ``mxhandles``
    first on PYTHONPATH, so that the child imports the same package."""
    import mxhandles

    root = os.path.dirname(os.path.dirname(os.path.abspath(
        mxhandles.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                  if p])
    return env


def run_case(case: MemoryCase, timeout: float = CASE_TIMEOUT_S
             ) -> MemoryResult:
    """Measures ``case`` in a fresh interpreter."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, case.kind, str(case.n)],
            capture_output=True, text=True, timeout=timeout,
            env=_child_env())
    except subprocess.TimeoutExpired:
        return MemoryResult(case, error="timed out after %g s" % timeout)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return MemoryResult(case, error="child exited %d: %s"
                            % (proc.returncode, tail))
    try:
        raw = json.loads(lines[-1])
    except ValueError as exc:
        return MemoryResult(case, error="bad child output: %s" % exc)
    return MemoryResult(case, raw)


@dataclass
class MemoryReport:
    """The section: every case run, the cases a quick run left out."""

    results: List[MemoryResult]
    skipped: List[MemoryCase] = field(default_factory=list)
    seconds: float = 0.0

    def verdicts(self) -> List[bool]:
        """The verdicts of the cases with a target."""
        return [r.met for r in self.results if r.met is not None]

    def errors(self) -> List[MemoryResult]:
        """The cases that could not be measured."""
        return [r for r in self.results if r.error is not None]

    def object_bytes(self) -> Optional[float]:
        """An event object's own RSS bytes: events minus duplicates per
        handle, at the first size both were measured at."""
        by = {(r.case.kind, r.case.n): r.bytes_per_handle
              for r in self.results if r.error is None}
        for (kind, n), ev in by.items():
            dup = by.get(("duplicates", n))
            if kind == "events" and ev is not None and dup is not None:
                return ev - dup
        return None

    def as_dict(self) -> Dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "cases": [r.as_dict() for r in self.results],
            "skipped": [c.name for c in self.skipped],
            "event_object_bytes": self.object_bytes(),
            "phys_bytes": _phys_bytes(),
            "seconds": self.seconds,
        }

    def format_lines(self, marks: Tuple[str, str] = ("ok", "MISS")
                     ) -> List[str]:
        """The section of the printed report."""
        out = ["memory per live handle (each case in a fresh interpreter; "
               "bytes = growth / live handles made; rss counts every layer)"]
        body = []
        for r in self.results:
            if r.error is not None:
                body.append([r.case.name, "ERROR", "", "", "", "", "",
                             "%s %s" % (r.target_text(), marks[1])
                             if r.case.judged else ""])
                continue
            raw = r.raw
            verdict = ("%s %s" % (r.target_text(),
                                  marks[0] if r.met else marks[1])
                       if r.met is not None else "")
            body.append([
                r.case.name,
                "{:,}".format(raw["live_handles"]),
                _opt(r.bytes_per_handle),
                _opt(r.per_handle("malloc_delta")),
                "%+d" % raw["python_blocks_delta"],
                _mib(raw.get("peak_rss")),
                "%.1f s" % raw["seconds"],
                verdict,
            ])
        header = ["case", "live handles", "rss B/handle", "malloc B/handle",
                  "py blocks", "peak rss", "time", "target"]
        out += _table(header, body)
        obj = self.object_bytes()
        if obj is not None:
            out.append("  an event object's own cost (events - duplicates "
                       "per handle): %.1f B" % obj)
        out.append("  rss: resident set (C table slots, objects, malloc "
                   "overhead, Python); malloc: C heap in use (mallinfo2, "
                   "table capacity included); py blocks: Python objects "
                   "kept (no per-handle object)")
        for r in self.errors():
            out.append("  ERROR %s: %s" % (r.case.name, r.error))
        if self.skipped:
            out.append("  quick run: left out %s (full run only)"
                       % ", ".join(c.name for c in self.skipped))
        return out


def _opt(x: Optional[float]) -> str:
    return "\u2014" if x is None else "%.1f" % x


def _mib(x: Optional[int]) -> str:
    return "\u2014" if x is None else "{:,.0f} MiB".format(x / 2**20)


def _phys_bytes() -> Optional[int]:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> List[str]:
    widths = [max(len(line[i]) for line in [header, *body])
              for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w if i == 0 else "{:>%d}" % w
                    for i, w in enumerate(widths))
    return ["  " + fmt.format(*header).rstrip(),
            "  " + "  ".join("-" * w for w in widths)] + [
        "  " + fmt.format(*line).rstrip() for line in body]


def run_memory(quick: bool,
               progress: Optional[Callable[[int, int, str], None]] = None,
               cases: Optional[Sequence[MemoryCase]] = None) -> MemoryReport:
    """Measures the cases (:data:`CASES` by default; a quick run only those
    marked ``quick``), one subprocess each; ``progress(i, total, name)`` is
    called as each starts."""
    cases = list(CASES if cases is None else cases)
    start = time.perf_counter()
    report = MemoryReport([])
    if quick:
        report.skipped = [c for c in cases if not c.quick]
        cases = [c for c in cases if c.quick]
    for i, case in enumerate(cases, 1):
        if progress is not None:
            progress(i, len(cases), "memory: " + case.name)
        report.results.append(run_case(case))
    report.seconds = time.perf_counter() - start
    return report
