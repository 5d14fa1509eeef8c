"""References the Python kernel holds on C objects.

The C core runs every object's life (counts, zero-handles actions,
destruction).  The Python ``Kernel`` holds one reference on each of its own
objects (the root job, init and init's thread) through a :class:`Record`,
which the garbage collector drops with the ``Kernel``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
