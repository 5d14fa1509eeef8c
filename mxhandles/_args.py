"""Argument checks shared by every syscall (SPEC section 3).

Syscalls first try the C call with the arguments as given; cffi rejects
anything that is not an int in the C type's range, and only then do these
helpers sort out which error SPEC wants.  So they sit on the slow path.
"""
from __future__ import annotations

import operator
from typing import Any

from .constants import HANDLE_VALUE_MAX, U32_MAX, U64_MAX
from .errors import ERR_INVALID_ARGS, MxError


def as_int(value: Any, what: str) -> int:
    """``value`` as an int, or TypeError (bool and ``__index__`` accepted)."""
    if type(value) is int:
        return value
    try:
        return int(operator.index(value))
    except TypeError:
        raise TypeError("%s must be an int, not %s"
                        % (what, type(value).__name__)) from None
    except Exception as exc:  # an __index__ that raises something else
        raise TypeError("%s: %s.__index__ failed: %r"
                        % (what, type(value).__name__, exc)) from exc


def handle_arg(value: Any, what: str = "handle") -> int:
    """A handle argument: an int, or 0 (never valid) if out of range."""
    v = as_int(value, what)
    return v if 0 < v <= HANDLE_VALUE_MAX else 0


def u32_arg(value: Any, what: str, syscall: str) -> int:
    """Rights, signal masks and options: 0 .. 2**32-1 or ERR_INVALID_ARGS."""
    v = as_int(value, what)
    if not 0 <= v <= U32_MAX:
        raise MxError(ERR_INVALID_ARGS, syscall)
    return v


def u64_arg(value: Any, what: str, syscall: str) -> int:
    """Deadlines and port keys: 0 .. 2**64-1 or ERR_INVALID_ARGS."""
    v = as_int(value, what)
    if not 0 <= v <= U64_MAX:
        raise MxError(ERR_INVALID_ARGS, syscall)
    return v
