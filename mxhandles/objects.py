"""Kernel-side records of *managed* objects.

The C core keeps every object's counts, rights and signals.  Objects that
also have state in Python (jobs, threads, channel queues, processes) are
created with the MANAGED flag; the core then reports the moment their last
handle goes away (a *note* carrying the koid) and the kernel calls the
record's :meth:`Managed.on_zero_handles`.  A record owns the kernel's own
reference to its C object and drops it in :meth:`Managed.destroy`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

from . import _core
from ._core import ffi

if TYPE_CHECKING:
    from .kernel import Kernel


class Managed:
    """An object whose lifetime the kernel follows from Python."""

    __slots__ = ("kernel", "koid", "type", "obj", "__weakref__")

    def __init__(self, kernel: "Kernel", obj: Any) -> None:
        self.kernel = kernel
        # The kernel's reference: dropped by destroy(), or by the garbage
        # collector if the whole Kernel goes away first.
        self.obj = ffi.gc(obj, _core.object_release)
        self.koid: int = _core.object_koid(obj)
        self.type: int = _core.object_type(obj)

    def on_zero_handles(self) -> Optional[List[int]]:
        """Runs when the last handle goes; returns further notes, if any."""
        return None

    def destroy(self) -> None:
        """Drops the kernel's reference (the object dies with its last one)."""
        obj = self.obj
        if obj is not None:
            self.obj = None
            ffi.release(obj)  # runs object_release now, exactly once


class Job(Managed):
    """A job: a node of the process tree."""

    __slots__ = ("parent", "children", "processes", "killed")

    def __init__(self, kernel: "Kernel", obj: Any,
                 parent: Optional["Job"]) -> None:
        super().__init__(kernel, obj)
        self.parent = parent
        self.children: List[int] = []
        self.processes: List[int] = []
        self.killed = False


class Thread(Managed):
    """A thread of a process."""

    __slots__ = ("process_koid", "name", "state")

    def __init__(self, kernel: "Kernel", obj: Any, process_koid: int,
                 name: str) -> None:
        super().__init__(kernel, obj)
        self.process_koid = process_koid
        self.name = name
        self.state = "new"
