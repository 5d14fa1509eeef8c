"""mxhandles: a fast, faithful simulation of the Magenta kernel's handle model.

    import mxhandles as mx
    k = mx.Kernel()
    init = k.init
    ev = init.mx_event_create()
    dup = init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
    init.mx_handle_close(ev)

The handle tables, reference counts, rights and signals live in a C core
(``csrc/``); this package adds the object types and the syscall API.
"""
from __future__ import annotations

import time as _time
import types as _types

# "X as X": an explicit re-export, so type checkers in strict mode (no
# implicit re-exports) see these names as the package's own.
from ._version import __version__ as __version__
from .constants import *  # noqa: F403
from .constants import TIME_INFINITE
from .errors import *  # noqa: F403
from .errors import MxError as MxError
from .errors import Status as Status
from .kernel import Kernel as Kernel
from .process import Process as Process
from .records import HandleBasic as HandleBasic
from .records import HandleEntry as HandleEntry
from .records import Packet as Packet
from .records import PortPacket as PortPacket
from .records import ProcessInfo as ProcessInfo
from .records import SignalInfo as SignalInfo
from .records import StartInfo as StartInfo
from .records import Stats as Stats


def deadline_after(ns: int) -> int:
    """The absolute deadline ``ns`` nanoseconds from now on the kernels'
    monotonic clock (``time.monotonic_ns``), capped at ``TIME_INFINITE``."""
    if ns >= TIME_INFINITE:
        return TIME_INFINITE
    return min(_time.monotonic_ns() + ns, TIME_INFINITE)


def _exported(name: str, value: object) -> bool:
    """The package's own public names: constants (upper case) and the
    classes and functions of mxhandles' modules, not what the star imports
    dragged in with them (``enum``, ``typing`` names, submodules)."""
    if name.startswith("_") or isinstance(value, _types.ModuleType):
        return False
    return name.isupper() or getattr(value, "__module__", "").startswith("mxhandles")


__all__ = sorted(name for name, value in list(globals().items())
                 if _exported(name, value))
