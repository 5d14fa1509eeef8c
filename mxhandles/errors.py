"""Statuses and the one exception every syscall raises: :class:`MxError`.

Each status has a subclass of ``MxError`` (``BadHandleError`` for
``ERR_BAD_HANDLE`` and so on), so callers can catch the codes they act on;
``except MxError`` catches them all and ``.status`` always holds the int.
"""
from __future__ import annotations

import enum
from typing import Any, Dict, Type


class Status(enum.IntEnum):
    """Magenta status codes (negative ints; ``NO_ERROR`` is 0)."""

    NO_ERROR = 0
    ERR_INTERNAL = -1
    ERR_NOT_SUPPORTED = -2
    ERR_NO_RESOURCES = -3
    ERR_NO_MEMORY = -4
    ERR_CALL_FAILED = -5
    ERR_INVALID_ARGS = -10
    ERR_BAD_HANDLE = -11
    ERR_WRONG_TYPE = -12
    ERR_BAD_SYSCALL = -13
    ERR_OUT_OF_RANGE = -14
    ERR_BUFFER_TOO_SMALL = -15
    ERR_BAD_STATE = -20
    ERR_TIMED_OUT = -21
    ERR_SHOULD_WAIT = -22
    ERR_CANCELED = -23
    ERR_PEER_CLOSED = -24
    ERR_NOT_FOUND = -25
    ERR_ALREADY_EXISTS = -26
    ERR_ALREADY_BOUND = -27
    ERR_UNAVAILABLE = -28
    ERR_ACCESS_DENIED = -30


NO_ERROR = Status.NO_ERROR
ERR_INTERNAL = Status.ERR_INTERNAL
ERR_NOT_SUPPORTED = Status.ERR_NOT_SUPPORTED
ERR_NO_RESOURCES = Status.ERR_NO_RESOURCES
ERR_NO_MEMORY = Status.ERR_NO_MEMORY
ERR_CALL_FAILED = Status.ERR_CALL_FAILED
ERR_INVALID_ARGS = Status.ERR_INVALID_ARGS
ERR_BAD_HANDLE = Status.ERR_BAD_HANDLE
ERR_WRONG_TYPE = Status.ERR_WRONG_TYPE
ERR_BAD_SYSCALL = Status.ERR_BAD_SYSCALL
ERR_OUT_OF_RANGE = Status.ERR_OUT_OF_RANGE
ERR_BUFFER_TOO_SMALL = Status.ERR_BUFFER_TOO_SMALL
ERR_BAD_STATE = Status.ERR_BAD_STATE
ERR_TIMED_OUT = Status.ERR_TIMED_OUT
ERR_SHOULD_WAIT = Status.ERR_SHOULD_WAIT
ERR_CANCELED = Status.ERR_CANCELED
ERR_PEER_CLOSED = Status.ERR_PEER_CLOSED
ERR_NOT_FOUND = Status.ERR_NOT_FOUND
ERR_ALREADY_EXISTS = Status.ERR_ALREADY_EXISTS
ERR_ALREADY_BOUND = Status.ERR_ALREADY_BOUND
ERR_UNAVAILABLE = Status.ERR_UNAVAILABLE
ERR_ACCESS_DENIED = Status.ERR_ACCESS_DENIED

_MEANING = {
    Status.ERR_INTERNAL: "internal error",
    Status.ERR_NOT_SUPPORTED: "operation not supported",
    Status.ERR_NO_RESOURCES: "out of handles or other resources",
    Status.ERR_NO_MEMORY: "out of memory",
    Status.ERR_CALL_FAILED: "channel call failed",
    Status.ERR_INVALID_ARGS: "invalid arguments",
    Status.ERR_BAD_HANDLE: "not a valid handle of this process",
    Status.ERR_WRONG_TYPE: "handle is of the wrong object type",
    Status.ERR_BAD_SYSCALL: "bad syscall",
    Status.ERR_OUT_OF_RANGE: "argument out of range",
    Status.ERR_BUFFER_TOO_SMALL: "buffer too small",
    Status.ERR_BAD_STATE: "object is in the wrong state",
    Status.ERR_TIMED_OUT: "deadline passed",
    Status.ERR_SHOULD_WAIT: "not ready; wait and retry",
    Status.ERR_CANCELED: "wait canceled",
    Status.ERR_PEER_CLOSED: "peer closed",
    Status.ERR_NOT_FOUND: "not found",
    Status.ERR_ALREADY_EXISTS: "already exists",
    Status.ERR_ALREADY_BOUND: "already bound",
    Status.ERR_UNAVAILABLE: "unavailable",
    Status.ERR_ACCESS_DENIED: "handle lacks the rights",
}


class MxError(Exception):
    """A syscall failed.

    ``status`` is the negative Magenta status int, ``name`` its name
    (``"ERR_BAD_HANDLE"``) and ``syscall`` the call that failed.  Extra
    attributes (``observed``, ``actual_bytes``, ``actual_handles``,
    ``read_status``) are set where the syscall returns more than a status.
    Construct with ``MxError(status, syscall)``; the instance is of the
    status's subclass (``MxError(ERR_BAD_HANDLE, "x")`` is a
    ``BadHandleError``).
    """

    status: int = 0

    def __new__(cls, status: int = 0, syscall: str = "", **extra: Any) -> "MxError":
        sub = (_BY_STATUS.get(status if type(status) is int else int(status), cls)
               if cls is MxError else cls)
        return super().__new__(sub)

    def __init__(self, status: int = 0, syscall: str = "", **extra: Any) -> None:
        # Errors are ordinary results in a simulator (SHOULD_WAIT while
        # polling, TIMED_OUT): a dict lookup, not an enum construction.
        st = status if type(status) is int else int(status)
        text = _TEXT.get(st)
        if text is None:
            self.name = "ERR_%d" % st
            text = "%s (unknown status)" % self.name
        else:
            self.name = _NAME[st]
        self.status = st
        self.syscall = syscall
        if extra:
            for key, value in extra.items():
                setattr(self, key, value)
        super().__init__(syscall + ": " + text if syscall else text)

    def __reduce__(self) -> Any:
        extra = {k: v for k, v in self.__dict__.items()
                 if k not in ("status", "name", "syscall")}
        return (_rebuild, (self.status, self.syscall, extra))


def _rebuild(status: int, syscall: str, extra: Dict[str, Any]) -> MxError:
    return MxError(status, syscall, **extra)


def _class_name(status: Status) -> str:
    words = status.name[len("ERR_"):].split("_")
    return "".join(w.capitalize() for w in words) + "Error"


#: status -> its name, and the message's tail "NAME (meaning)".
_NAME: Dict[int, str] = {int(st): st.name for st in Status}
_TEXT: Dict[int, str] = {int(st): "%s (%s)" % (st.name, _MEANING.get(st, ""))
                         for st in Status}

_BY_STATUS: Dict[int, Type[MxError]] = {}
for _st in Status:
    if _st is Status.NO_ERROR:
        continue
    _cls = type(_class_name(_st), (MxError,), {
        "__doc__": "MxError with status %s: %s." % (_st.name, _MEANING[_st]),
        "__module__": __name__,
    })
    _BY_STATUS[int(_st)] = _cls
    globals()[_cls.__name__] = _cls
del _st, _cls

# Named for the type checker and for readers; the loop above made them.
InternalError: Type[MxError] = _BY_STATUS[-1]
NotSupportedError: Type[MxError] = _BY_STATUS[-2]
NoResourcesError: Type[MxError] = _BY_STATUS[-3]
NoMemoryError: Type[MxError] = _BY_STATUS[-4]
CallFailedError: Type[MxError] = _BY_STATUS[-5]
InvalidArgsError: Type[MxError] = _BY_STATUS[-10]
BadHandleError: Type[MxError] = _BY_STATUS[-11]
WrongTypeError: Type[MxError] = _BY_STATUS[-12]
BadSyscallError: Type[MxError] = _BY_STATUS[-13]
OutOfRangeError: Type[MxError] = _BY_STATUS[-14]
BufferTooSmallError: Type[MxError] = _BY_STATUS[-15]
BadStateError: Type[MxError] = _BY_STATUS[-20]
TimedOutError: Type[MxError] = _BY_STATUS[-21]
ShouldWaitError: Type[MxError] = _BY_STATUS[-22]
CanceledError: Type[MxError] = _BY_STATUS[-23]
PeerClosedError: Type[MxError] = _BY_STATUS[-24]
NotFoundError: Type[MxError] = _BY_STATUS[-25]
AlreadyExistsError: Type[MxError] = _BY_STATUS[-26]
AlreadyBoundError: Type[MxError] = _BY_STATUS[-27]
UnavailableError: Type[MxError] = _BY_STATUS[-28]
AccessDeniedError: Type[MxError] = _BY_STATUS[-30]
