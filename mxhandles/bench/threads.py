"""Python threads calling syscalls in parallel: the report's threads section.

Throughput (operations per second, all threads together) of one workload
run by 1 thread, by 2 threads each acting as its own process of the same
kernel (two handle tables), and by 2 threads acting as the same process
(one table), over the same wall-clock window; each figure is the median of
``repeats`` windows, and the section reports the two-thread figures as
ratios to one thread.

Workloads:

``duplicate+close``
    a short call: ~20 ns of C inside ~0.4 µs of Python and cffi;
``write+read 64 KiB``
    a long call: a 64 KiB message written to a channel and read back
    (two copies of 64 KiB in C, several µs, with the GIL released by
    cffi around each call).

With the GIL (CPython's default build), only one thread runs Python at a
time; cffi releases the GIL around every C call, so the threads' C work can
overlap, but each call must take the GIL back afterwards.  Short calls
serialise on that hand-over (two threads get no more done than one, often
less); long calls overlap their C part.  A free-threaded CPython (3.13t,
3.14t; cffi 2 supports it) has no GIL to hand over; the C core takes no
global lock (per-table locks, atomics), so threads of distinct processes
should then scale.  :func:`gil_state` says which build runs.
"""
from __future__ import annotations

import statistics
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..constants import INFO_HANDLE_BASIC, RIGHT_SAME_RIGHTS
from ..kernel import Kernel

#: Bytes of the long workload's message.
BIG = 64 * 1024

#: Operations a thread runs between two looks at the clock.
CHUNK = {"duplicate+close": 2000, "write+read 64 KiB": 50}

WORKLOADS = tuple(CHUNK)

#: The thread layouts measured: (name, threads, same process).
LAYOUTS: Tuple[Tuple[str, int, bool], ...] = (
    ("1 thread", 1, False),
    ("2 threads, own processes", 2, False),
    ("2 threads, same process", 2, True),
)


def gil_state() -> str:
    """``"GIL"``, ``"free-threaded"`` or ``"free-threaded build, GIL
    enabled"`` for the running interpreter."""
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "GIL"
    is_enabled: Optional[Callable[[], bool]] = getattr(
        sys, "_is_gil_enabled", None)
    if is_enabled is not None and is_enabled():
        return "free-threaded build, GIL enabled"
    return "free-threaded"


def _child(kernel: Kernel, name: str) -> Any:
    init = kernel.init
    ph = init.mx_process_create(init.mx_job_default(), name)
    return kernel.process(init.mx_object_get_info(
        ph, int(INFO_HANDLE_BASIC)).koid)


def _op(proc: Any, workload: str) -> Callable[[int], None]:
    """``run(n)``: ``n`` operations of ``workload`` by ``proc`` (its own
    event or channel: threads share a table, never a handle)."""
    if workload == "duplicate+close":
        dup, close = proc.mx_handle_duplicate, proc.mx_handle_close
        h, r = proc.mx_event_create(), int(RIGHT_SAME_RIGHTS)

        def run(n: int) -> None:
            for _ in range(n):
                close(dup(h, r))
        return run
    if workload == "write+read 64 KiB":
        write, read = proc.mx_channel_write, proc.mx_channel_read
        c0, c1 = proc.mx_channel_create()
        data = b"x" * BIG

        def run(n: int) -> None:
            for _ in range(n):
                write(c0, data)
                read(c1)
        return run
    raise ValueError("no workload %r" % workload)


def throughput(workload: str, nthreads: int, same: bool,
               seconds: float) -> float:
    """Operations per second of ``nthreads`` threads running ``workload``
    together for about ``seconds`` (a fresh kernel; each thread its own
    process unless ``same``)."""
    kernel = Kernel(seed=1)
    shared = _child(kernel, "shared") if same else None
    runs = [_op(shared if shared is not None
                else _child(kernel, "t%d" % i), workload)
            for i in range(nthreads)]
    chunk = CHUNK[workload]
    for run in runs:
        run(chunk // 10 or 1)  # warm up each path
    counts = [0] * nthreads
    errors: List[BaseException] = []
    barrier = threading.Barrier(nthreads + 1)
    window: Dict[str, float] = {}

    def worker(i: int) -> None:
        run = runs[i]
        try:
            barrier.wait()
            end = window["end"]
            n = 0
            while time.perf_counter() < end:
                run(chunk)
                n += chunk
            counts[i] = n
        except BaseException as exc:  # reported below, not lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(nthreads)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    window["end"] = start + seconds
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


@dataclass
class ThreadsReport:
    """Ops/s per (workload, layout): every window's figure."""

    seconds: float
    repeats: int
    samples: Dict[str, Dict[str, List[float]]] = field(default_factory=dict)
    gil: str = field(default_factory=gil_state)
    elapsed: float = 0.0

    def median(self, workload: str, layout: str) -> float:
        """The median ops/s of one workload and layout."""
        return statistics.median(self.samples[workload][layout])

    def ratio(self, workload: str, layout: str) -> float:
        """``layout``'s median ops/s over one thread's."""
        return (self.median(workload, layout)
                / self.median(workload, LAYOUTS[0][0]))

    def as_dict(self) -> Dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "python_build": self.gil,
            "window_s": self.seconds,
            "repeats": self.repeats,
            "workloads": {
                w: {layout: {"ops_per_s": self.median(w, layout),
                             "ratio_to_1_thread": self.ratio(w, layout),
                             "samples_ops_per_s": s}
                    for layout, s in by.items()}
                for w, by in self.samples.items()},
        }

    def format_lines(self) -> List[str]:
        """The section of the printed report."""
        out = ["Python threads calling syscalls in parallel (%s build; "
               "ops/s of all threads together, median of %d x %g s)"
               % (self.gil, self.repeats, self.seconds)]
        names = [name for name, _, _ in LAYOUTS]
        rows = []
        for w in self.samples:
            cells = [w]
            for name in names:
                cell = "{:,.0f}".format(self.median(w, name))
                if name != names[0]:
                    cell += " (x%.2f)" % self.ratio(w, name)
                cells.append(cell)
            rows.append(cells)
        header = ["workload", *names]
        widths = [max(len(r[i]) for r in [header, *rows])
                  for i in range(len(header))]
        fmt = "  ".join("{:<%d}" % w if i == 0 else "{:>%d}" % w
                        for i, w in enumerate(widths))
        out += ["  " + fmt.format(*header),
                "  " + "  ".join("-" * w for w in widths)]
        out += ["  " + fmt.format(*r) for r in rows]
        if self.gil == "GIL":
            out.append("  with the GIL, short calls serialise on the cffi "
                       "crossing; only the C part of long calls overlaps "
                       "(docs/performance.md)")
        return out


def run_threads(quick: bool,
                progress: Optional[Callable[[int, int, str], None]] = None
                ) -> ThreadsReport:
    """Measures every workload and layout, interleaved: each repeat takes
    one window of each."""
    seconds, repeats = (0.2, 3) if quick else (0.5, 7)
    report = ThreadsReport(seconds, repeats)
    start = time.perf_counter()
    total, step = len(WORKLOADS) * repeats, 0
    for w in WORKLOADS:
        report.samples[w] = {name: [] for name, _, _ in LAYOUTS}
        for _ in range(repeats):
            step += 1
            if progress is not None:
                progress(step, total, "threads: " + w)
            for name, n, same in LAYOUTS:
                report.samples[w][name].append(
                    throughput(w, n, same, seconds))
    report.elapsed = time.perf_counter() - start
    return report


def main() -> int:
    """``python -m mxhandles.bench.threads [--quick]``: the section
    alone."""
    report = run_threads("--quick" in sys.argv[1:])
    print("\n".join(report.format_lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
