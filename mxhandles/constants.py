"""Constants of the Magenta handle model (SPEC section 6).

Statuses live in :mod:`mxhandles.errors`.  Everything here is an ``int`` or
an ``int``-compatible enum member, so values pass straight to the C core and
still print with their names.
"""
from __future__ import annotations

import enum
from typing import Final as _Final  # private: "import *" must not export it


class Rights(enum.IntFlag):
    """Rights bits carried by a handle."""

    NONE = 0
    DUPLICATE = 1 << 0
    TRANSFER = 1 << 1
    READ = 1 << 2
    WRITE = 1 << 3
    EXECUTE = 1 << 4
    MAP = 1 << 5
    GET_PROPERTY = 1 << 6
    SET_PROPERTY = 1 << 7
    ENUMERATE = 1 << 8
    DESTROY = 1 << 9
    SET_POLICY = 1 << 10
    GET_POLICY = 1 << 11
    SAME_RIGHTS = 1 << 31


class ObjType(enum.IntEnum):
    """Kernel object types (``OBJ_TYPE_*``)."""

    NONE = 0
    PROCESS = 1
    THREAD = 2
    CHANNEL = 4
    EVENT = 5
    EVENT_PAIR = 16
    JOB = 17
    PORT = 20


class Topic(enum.IntEnum):
    """``mx_object_get_info`` topics."""

    HANDLE_VALID = 1
    HANDLE_BASIC = 2
    PROCESS = 3
    PROCESS_THREADS = 4
    JOB_CHILDREN = 8
    JOB_PROCESSES = 9
    PROCESS_HANDLES = 0x100


RIGHT_NONE = Rights.NONE
RIGHT_DUPLICATE = Rights.DUPLICATE
RIGHT_TRANSFER = Rights.TRANSFER
RIGHT_READ = Rights.READ
RIGHT_WRITE = Rights.WRITE
RIGHT_EXECUTE = Rights.EXECUTE
RIGHT_MAP = Rights.MAP
RIGHT_GET_PROPERTY = Rights.GET_PROPERTY
RIGHT_SET_PROPERTY = Rights.SET_PROPERTY
RIGHT_ENUMERATE = Rights.ENUMERATE
RIGHT_DESTROY = Rights.DESTROY
RIGHT_SET_POLICY = Rights.SET_POLICY
RIGHT_GET_POLICY = Rights.GET_POLICY
RIGHT_SAME_RIGHTS = Rights.SAME_RIGHTS

_BASIC = Rights.DUPLICATE | Rights.TRANSFER | Rights.READ | Rights.WRITE
DEFAULT_EVENT_RIGHTS = _BASIC
DEFAULT_EVENTPAIR_RIGHTS = _BASIC
DEFAULT_CHANNEL_RIGHTS = Rights.TRANSFER | Rights.READ | Rights.WRITE
DEFAULT_PORT_RIGHTS = _BASIC
DEFAULT_JOB_RIGHTS = (_BASIC | Rights.ENUMERATE | Rights.GET_PROPERTY
                      | Rights.SET_PROPERTY | Rights.GET_POLICY
                      | Rights.SET_POLICY)
DEFAULT_PROCESS_RIGHTS = (_BASIC | Rights.ENUMERATE | Rights.GET_PROPERTY
                          | Rights.SET_PROPERTY)
DEFAULT_THREAD_RIGHTS = _BASIC | Rights.GET_PROPERTY | Rights.SET_PROPERTY

# Signals.  Several names share a bit on different object types, so these
# are plain ints.
CHANNEL_READABLE = 1 << 0
CHANNEL_WRITABLE = 1 << 1
CHANNEL_PEER_CLOSED = 1 << 2
EPAIR_PEER_CLOSED = 1 << 2
EVENT_SIGNALED = 1 << 3
EPAIR_SIGNALED = 1 << 3
TASK_TERMINATED = 1 << 3
PORT_READABLE = 1 << 0
USER_SIGNAL_0 = 1 << 24
USER_SIGNAL_1 = 1 << 25
USER_SIGNAL_2 = 1 << 26
USER_SIGNAL_3 = 1 << 27
USER_SIGNAL_4 = 1 << 28
USER_SIGNAL_5 = 1 << 29
USER_SIGNAL_6 = 1 << 30
USER_SIGNAL_7 = 1 << 31
USER_SIGNAL_ALL = 0xFF000000

OBJ_TYPE_NONE = ObjType.NONE
OBJ_TYPE_PROCESS = ObjType.PROCESS
OBJ_TYPE_THREAD = ObjType.THREAD
OBJ_TYPE_CHANNEL = ObjType.CHANNEL
OBJ_TYPE_EVENT = ObjType.EVENT
OBJ_TYPE_EVENT_PAIR = ObjType.EVENT_PAIR
OBJ_TYPE_JOB = ObjType.JOB
OBJ_TYPE_PORT = ObjType.PORT
OBJ_PROP_WAITABLE = 1

# Final: type checkers see each topic as its literal member, which picks the
# result type of Process.mx_object_get_info (see its overloads).
INFO_HANDLE_VALID: _Final = Topic.HANDLE_VALID
INFO_HANDLE_BASIC: _Final = Topic.HANDLE_BASIC
INFO_PROCESS: _Final = Topic.PROCESS
INFO_PROCESS_THREADS: _Final = Topic.PROCESS_THREADS
INFO_JOB_CHILDREN: _Final = Topic.JOB_CHILDREN
INFO_JOB_PROCESSES: _Final = Topic.JOB_PROCESSES
INFO_PROCESS_HANDLES: _Final = Topic.PROCESS_HANDLES

HANDLE_INVALID = 0
KOID_INVALID = 0
TIME_INFINITE = 2**64 - 1
CHANNEL_READ_MAY_DISCARD = 1
CHANNEL_MAX_MSG_BYTES = 65536
CHANNEL_MAX_MSG_HANDLES = 1024
MAX_NAME_LEN = 32
WAIT_ASYNC_ONCE = 0
WAIT_ASYNC_REPEATING = 1
PKT_TYPE_USER = 0
PKT_TYPE_SIGNAL_ONE = 1
PKT_TYPE_SIGNAL_REP = 2
PORT_MAX_PACKETS = 4096

# Limits of the argument encodings (SPEC section 3).
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
HANDLE_VALUE_MAX = 2**31 - 1

#: Bits a process may set with mx_object_signal, by object type.
USER_SETTABLE = {
    ObjType.EVENT: USER_SIGNAL_ALL | EVENT_SIGNALED,
    ObjType.EVENT_PAIR: USER_SIGNAL_ALL | EPAIR_SIGNALED,
}

#: Default rights by object type.
DEFAULT_RIGHTS = {
    ObjType.EVENT: DEFAULT_EVENT_RIGHTS,
    ObjType.EVENT_PAIR: DEFAULT_EVENTPAIR_RIGHTS,
    ObjType.CHANNEL: DEFAULT_CHANNEL_RIGHTS,
    ObjType.PORT: DEFAULT_PORT_RIGHTS,
    ObjType.JOB: DEFAULT_JOB_RIGHTS,
    ObjType.PROCESS: DEFAULT_PROCESS_RIGHTS,
    ObjType.THREAD: DEFAULT_THREAD_RIGHTS,
}

#: Keys of Kernel.stats().live_objects, by object type.
STATS_KEYS = {
    ObjType.EVENT: "event",
    ObjType.EVENT_PAIR: "eventpair",
    ObjType.CHANNEL: "channel",
    ObjType.PORT: "port",
    ObjType.JOB: "job",
    ObjType.PROCESS: "process",
    ObjType.THREAD: "thread",
}
