"""Python-side records of task objects (jobs, threads).

The C core runs every object's life (counts, zero-handles actions,
destruction).  A record here holds what the core has no use for (names,
the job tree as Python sees it) and one reference on its C object, which the
kernel drops when the record's object must go (:meth:`Record.release`), or
the garbage collector drops if the whole ``Kernel`` goes first.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

from . import _core
from ._core import ffi

if TYPE_CHECKING:
    from .kernel import Kernel


class Record:
    """An object of the kernel's that Python keeps a reference to."""

    __slots__ = ("kernel", "koid", "type", "obj", "__weakref__")

    def __init__(self, kernel: "Kernel", obj: Any) -> None:
        self.kernel = kernel
        self.obj = ffi.gc(obj, _core.object_release)
        self.koid: int = _core.object_koid(obj)
        self.type: int = _core.object_type(obj)

    def release(self) -> None:
        """Drops the kernel's reference now (exactly once)."""
        obj = self.obj
        if obj is not None:
            self.obj = None
            ffi.release(obj)


class Job(Record):
    """A job: a node of the process tree."""

    __slots__ = ("parent", "children", "processes", "killed")

    def __init__(self, kernel: "Kernel", obj: Any,
                 parent: Optional["Job"]) -> None:
        super().__init__(kernel, obj)
        self.parent = parent
        self.children: List[int] = []
        self.processes: List[int] = []
        self.killed = False


class Thread(Record):
    """A thread of a process."""

    __slots__ = ("process_koid", "name", "state")

    def __init__(self, kernel: "Kernel", obj: Any, process_koid: int,
                 name: str) -> None:
        super().__init__(kernel, obj)
        self.process_koid = process_koid
        self.name = name
        self.state = "new"
