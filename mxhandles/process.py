"""``Process``: one process's view of the syscall surface.

Each syscall is a method that acts *as this process*: handles it creates are
bound to it and handle values it takes are looked up in its table.  The fast
path of every syscall is one call into the C core plus one ``rc < 0`` test;
when cffi refuses an argument (wrong type, out of the C type's range) the
call is retried on a slow path that raises exactly the error SPEC section 3
names.
"""
from __future__ import annotations

import struct
from typing import (TYPE_CHECKING, Any, Dict, Iterable, List, Optional,
                    Tuple, overload)

from . import _core
from ._args import as_int, handle_arg, u32_arg, u64_arg
from ._core import ffi
from .constants import (
    DEFAULT_CHANNEL_RIGHTS,
    DEFAULT_PORT_RIGHTS,
    DEFAULT_EVENT_RIGHTS,
    DEFAULT_EVENTPAIR_RIGHTS,
    HANDLE_INVALID,
    INFO_HANDLE_BASIC,
    INFO_HANDLE_VALID,
    INFO_JOB_CHILDREN,
    INFO_JOB_PROCESSES,
    INFO_PROCESS,
    INFO_PROCESS_HANDLES,
    INFO_PROCESS_THREADS,
    MAX_NAME_LEN,
    OBJ_PROP_WAITABLE,
    RIGHT_WRITE,
    TIME_INFINITE,
    ObjType,
)
from .errors import (
    ERR_BAD_STATE,
    ERR_BUFFER_TOO_SMALL,
    ERR_CALL_FAILED,
    ERR_INVALID_ARGS,
    ERR_NOT_SUPPORTED,
    ERR_TIMED_OUT,
    MxError,
)
from .records import (HandleBasic, HandleEntry, Packet, ProcessInfo,
                      SignalInfo, StartInfo)

if TYPE_CHECKING:
    from typing import Literal, Protocol, Sequence, Union

    from .constants import Topic
    from .kernel import Kernel

    #: A message's ``data``: any bytes-like object.
    BytesLike = Union[bytes, bytearray, memoryview]

    class UserPacketLike(Protocol):
        """What ``mx_port_queue`` reads from its packet (``PortPacket`` is
        one)."""

        @property
        def key(self) -> int: ...
        @property
        def status(self) -> int: ...
        @property
        def user(self) -> Optional[BytesLike]: ...

_close = _core.handle_close
_close_many = _core.handle_close_many
_dup = _core.handle_duplicate
_replace = _core.handle_replace
_create = _core.object_create_handle
_signal = _core.object_signal
_write = _core.channel_write
_read = _core.channel_read
_read_bufs = _core.channel_read_bufs
_call = _core.channel_call

_ZERO = 0
_MAX_BYTES = _core.CHANNEL_MAX_BYTES
_MAX_HANDLES = _core.TRANSIT_MAX
_MAX_TRANSIT_VALUES = int(_core.TRANSIT_MAX)


def _new_packer(n: int) -> Any:
    pack = struct.Struct("=%dQ" % n).pack
    if n < len(_PACK):
        _PACK[n] = pack
    return pack


#: ``_PACK[n](*values)``: ``n`` handle values as the C array of uint64_t
#: that close_many, write and call take (cffi passes bytes to ``const void
#: *`` without a copy).  struct is also the type check: it takes ints and
#: ``__index__`` objects only, where cffi's own list conversion would take
#: anything with ``__int__`` (a Fraction, a Decimal); and it snapshots a
#: list (``*values``) before any ``__index__`` runs.  Filled on first use.
_PACK: List[Any] = [None] * (_MAX_TRANSIT_VALUES + 1)


def _pack(values: Sequence[int]) -> bytes:
    """``values`` as a C array (struct.error for an item that is not an
    int in 0 .. 2**64-1)."""
    n = len(values)
    pack = _PACK[n] if n < len(_PACK) else None
    return (pack or _new_packer(n))(*values)  # type: ignore[no-any-return]


PORT_PAYLOAD = _core.PORT_PAYLOAD
_U64 = 2**64 - 1
_BUFFER_TOO_SMALL = int(ERR_BUFFER_TOO_SMALL)
_CALL_FAILED = int(ERR_CALL_FAILED)
_CHANNEL = int(ObjType.CHANNEL)
_CHANNEL_RIGHTS = int(DEFAULT_CHANNEL_RIGHTS)
_STATES = ("new", "running", "exited")
_BASIC = int(INFO_HANDLE_BASIC)
_VALUE_MAX = 2**31 - 1
_handle_basic = _core.handle_basic
_port_wait = _core.port_wait
_port_queue = _core.port_queue
_JOB = int(ObjType.JOB)
_EVENT = int(ObjType.EVENT)
_PORT = int(ObjType.PORT)
_PORT_RIGHTS = int(DEFAULT_PORT_RIGHTS)
_RIGHT_WRITE = int(RIGHT_WRITE)
_TIMED_OUT = int(ERR_TIMED_OUT)
_EVENT_PAIR = int(ObjType.EVENT_PAIR)
_EVENT_RIGHTS = int(DEFAULT_EVENT_RIGHTS)
_EVENTPAIR_RIGHTS = int(DEFAULT_EVENTPAIR_RIGHTS)


_TASK_TOPICS = frozenset((int(INFO_PROCESS), int(INFO_PROCESS_THREADS),
                          int(INFO_JOB_CHILDREN), int(INFO_JOB_PROCESSES)))


# Records are NamedTuples; tuple.__new__ builds one without the Python-level
# __new__ the class generates (a frame saved per record on hot paths).
_tuple_new = tuple.__new__


def _layout(ctype: str, fields: Tuple[Tuple[str, str], ...]) -> Any:
    """``unpack_from`` of a ``struct.Struct`` that reads C struct ``ctype``
    (``fields``: name and struct code, in order) in one call (one cffi
    field read costs about as much as the whole unpack); checked against
    the offsets and size cffi got from the compiler."""
    codes = [code for _, code in fields]
    layout = struct.Struct("=" + "".join(codes))
    for i, (name, _) in enumerate(fields):
        if ffi.offsetof(ctype, name) != struct.calcsize("=" + "".join(codes[:i])):
            raise ImportError("mxhandles: %s.%s is not where %r puts it"
                              % (ctype, name, layout.format))
    if ffi.sizeof(ctype) != layout.size:
        raise ImportError("mxhandles: %s is not %d bytes" % (ctype, layout.size))
    return layout.unpack_from


_unpack_packet = _layout("mxh_packet_t", (
    ("key", "Q"), ("type", "I"), ("status", "i"), ("trigger", "I"),
    ("observed", "I"), ("count", "Q"), ("user", "32s")))
_unpack_info = _layout("mxh_handle_info_t", (
    ("value", "I"), ("type", "I"), ("rights", "I"), ("signals", "I"),
    ("koid", "Q"), ("related_koid", "Q")))


def new_out(ctype: str) -> Tuple[Any, Any]:
    """A pooled out-struct: the cdata C writes and a buffer over it."""
    out = ffi.new(ctype)
    return out, ffi.buffer(out)


def packet_from_c(buf: Any) -> Packet:
    """A :class:`Packet` from the bytes of an ``mxh_packet_t``."""
    key, type_, status, trigger, observed, count, user = _unpack_packet(buf)
    if type_ == 0:
        return _tuple_new(Packet, (key, 0, status, None, user))
    return _tuple_new(Packet, (key, type_, status,
                               _tuple_new(SignalInfo, (trigger, observed,
                                                       count)),
                               None))


def _cut_name(name: str) -> str:
    """The longest prefix of name whose UTF-8 form fits MAX_NAME_LEN - 1."""
    raw = name.encode("utf-8", "surrogatepass")[:MAX_NAME_LEN - 1]
    return raw.decode("utf-8", "ignore")


def _seq(values: Any) -> List[Any]:
    """A snapshot of a sequence argument (TypeError for str and bytes)."""
    if isinstance(values, (str, bytes, bytearray, memoryview)):
        raise TypeError("expected a sequence of handle values, not %s"
                        % type(values).__name__)
    try:
        # iter() first: list() would size itself by a (hostile) __len__.
        return list(iter(values))
    except TypeError:
        raise TypeError("expected a sequence of handle values, not %s"
                        % type(values).__name__) from None


class Process:
    """A process: its handle table and the syscalls it makes.

    Obtain one from :attr:`Kernel.init`, :meth:`Kernel.process` or the
    ``process`` argument of ``on_process_start``; do not construct it.
    Attributes: ``koid``, ``name``, ``kernel``, ``start_info`` (``None``
    until started, always ``None`` for init) and ``state`` (``"new"``,
    ``"running"`` or ``"exited"``).  A view holds no reference to the
    process: it never keeps it alive, and once the process is gone its
    syscalls raise ``ERR_BAD_STATE``.
    """

    __slots__ = ("kernel", "koid", "_p", "_pin", "name", "start_info",
                 "_root_job_handle", "__weakref__")

    def __init__(self, kernel: "Kernel", p: Any, name: str,
                 pinned: bool = False) -> None:
        self.kernel = kernel
        self._p = p
        obj = _core.proc_object(p)
        # The pin keeps the C struct's memory (not the process) while this
        # view exists, so a destroyed process answers BAD_STATE instead of
        # touching freed memory.  `pinned`: the core pinned it for us.
        if not pinned:
            _core.object_pin(obj)
        self._pin = ffi.gc(obj, _core.object_unpin)
        self.koid: int = _core.object_koid(obj)
        self.name = name
        self.start_info: Optional[StartInfo] = None
        self._root_job_handle = HANDLE_INVALID

    def __repr__(self) -> str:
        return "<Process koid=%d name=%r %s>" % (self.koid, self.name,
                                                self.state)

    @property
    def state(self) -> str:
        """``"new"``, ``"running"`` or ``"exited"``."""
        return _STATES[_core.proc_state(self._p, ffi.NULL)]

    # -- slow paths ---------------------------------------------------------

    def _check_alive(self, syscall: str) -> None:
        if _core.proc_is_dead(self._p):
            raise MxError(ERR_BAD_STATE, syscall)

    def _slow_handle_rights(self, fn: Any, syscall: str, h: Any,
                            rights: Any) -> int:
        hv = handle_arg(h)
        as_int(rights, "rights")
        self._check_alive(syscall)
        r = u32_arg(rights, "rights", syscall)
        rc: int = fn(self._p, hv, r)
        return rc

    # -- handles --------------------------------------------------------------

    def mx_handle_close(self, h: int) -> None:
        """Closes handle ``h``.  ``BAD_HANDLE`` (also for ``HANDLE_INVALID``)."""
        try:
            if not isinstance(h, int):
                raise TypeError  # cffi would take any __int__ (a Fraction)
            rc = _close(self._p, h)
        except Exception:
            rc = _close(self._p, handle_arg(h))
        if rc:
            raise MxError(rc, "mx_handle_close")

    def mx_handle_close_many(self, hs: Iterable[int]) -> None:
        """Closes every valid handle in ``hs``.

        ``TypeError`` (nothing closed) if an item is not an int;
        ``BAD_HANDLE`` if any item was invalid (0, out of range, stale, or
        given a second time), after closing all the valid ones.
        """
        t = type(hs)
        values: Sequence[int]
        values = (hs if t is tuple or t is list  # type: ignore[assignment]
                  else _seq(hs))
        try:
            packed = _pack(values)      # an item's __index__ may resize a list
            rc = _close_many(self._p, packed, len(packed) // 8)
        except Exception:
            # An item that is not an int (TypeError, nothing closed) or out
            # of range (0: never valid).  ``values`` is the snapshot: ``hs``
            # may be a one-shot iterator.
            values = [handle_arg(x, "handle") for x in list(values)]
            rc = _close_many(self._p, _pack(values), len(values))
        if rc:
            raise MxError(rc, "mx_handle_close_many")

    def mx_handle_duplicate(self, h: int, rights: int) -> int:
        """A new handle to ``h``'s object with ``rights`` (a subset, or
        ``RIGHT_SAME_RIGHTS``).  Needs ``RIGHT_DUPLICATE``."""
        try:
            if not (isinstance(h, int) and isinstance(rights, int)):
                raise TypeError  # cffi would take any __int__ (a Fraction)
            rc = _dup(self._p, h, rights)
        except Exception:
            rc = self._slow_handle_rights(_dup, "mx_handle_duplicate", h,
                                          rights)
        if rc < 0:
            raise MxError(rc, "mx_handle_duplicate")
        return rc  # type: ignore[no-any-return]

    def mx_handle_replace(self, h: int, rights: int) -> int:
        """A new handle with ``rights`` replacing ``h`` (closed on success,
        untouched on failure)."""
        try:
            if not (isinstance(h, int) and isinstance(rights, int)):
                raise TypeError  # cffi would take any __int__ (a Fraction)
            rc = _replace(self._p, h, rights)
        except Exception:
            rc = self._slow_handle_rights(_replace, "mx_handle_replace", h,
                                          rights)
        if rc < 0:
            raise MxError(rc, "mx_handle_replace")
        return rc  # type: ignore[no-any-return]

    # -- events -----------------------------------------------------------------

    def _options(self, options: Any, syscall: str) -> int:
        as_int(options, "options")
        self._check_alive(syscall)
        return u32_arg(options, "options", syscall)

    def mx_event_create(self, options: int = 0) -> int:
        """A new event and its first handle.  ``INVALID_ARGS`` if options."""
        if (type(options) is not int or options) and self._options(
                options, "mx_event_create"):
            raise MxError(ERR_INVALID_ARGS, "mx_event_create")
        rc = _create(self._p, _EVENT, _EVENT_RIGHTS)
        if rc < 0:
            raise MxError(rc, "mx_event_create")
        return rc  # type: ignore[no-any-return]

    def mx_eventpair_create(self, options: int = 0) -> Tuple[int, int]:
        """A new event pair: ``(h0, h1)``.  ``NOT_SUPPORTED`` if options."""
        if (type(options) is not int or options) and self._options(
                options, "mx_eventpair_create"):
            raise MxError(ERR_NOT_SUPPORTED, "mx_eventpair_create")
        out = ffi.new("uint32_t[2]")
        rc = _core.pair_create_handles(self._p, _EVENT_PAIR,
                                       _EVENTPAIR_RIGHTS, out, ffi.NULL)
        if rc < 0:
            raise MxError(rc, "mx_eventpair_create")
        return out[0], out[1]

    # -- channels ---------------------------------------------------------------

    def mx_channel_create(self, options: int = 0) -> Tuple[int, int]:
        """A new channel: ``(h0, h1)``, one handle to each endpoint."""
        if (type(options) is not int or options) and self._options(
                options, "mx_channel_create"):
            raise MxError(ERR_INVALID_ARGS, "mx_channel_create")
        out = ffi.new("uint32_t[2]")
        rc = _core.pair_create_handles(self._p, _CHANNEL, _CHANNEL_RIGHTS,
                                       out, ffi.NULL)
        if rc < 0:
            raise MxError(rc, "mx_channel_create")
        return out[0], out[1]

    def _message_args(self, data: Any, handles: Any, options: Any,
                      syscall: str, more_ints: Tuple[Tuple[Any, str], ...] = ()
                      ) -> Tuple[Any, int, List[int]]:
        """Slow path of write and call: every argument checked in SPEC
        order (every type first, then a dead caller, then options); returns
        what C takes.  ``more_ints`` are further int arguments (value,
        name) whose types are checked with the rest."""
        if type(data) is bytes:
            buf, nbytes = data, len(data)
        else:
            try:
                view = memoryview(data)
            except TypeError:
                raise TypeError("%s: data must be a bytes-like object, not %s"
                                % (syscall, type(data).__name__)) from None
            if not view.c_contiguous:
                view = memoryview(view.tobytes())
            # from_buffer pins the buffer: it cannot be resized meanwhile.
            buf, nbytes = ffi.from_buffer(view), view.nbytes
        values = [handle_arg(x) for x in _seq(handles)]
        as_int(options, "options")
        for value, what in more_ints:
            if value is not None:
                as_int(value, what)
        self._check_alive(syscall)
        if u32_arg(options, "options", syscall):
            raise MxError(ERR_INVALID_ARGS, syscall)
        return buf, nbytes, values

    def mx_channel_write(self, h: int, data: BytesLike = b"",
                         handles: Sequence[int] = (),
                         options: int = 0) -> None:
        """Writes a message: ``data`` (any bytes-like object, at most 65,536
        bytes) and ``handles`` (at most 1,024 values of this process), which
        all leave this process or, on any error, all stay."""
        try:
            if type(data) is not bytes or options is not _ZERO:
                raise TypeError
            # An exact list or tuple only (a subclass's __len__ may lie);
            # _PACK snapshots and type-checks the items.  More than 1,024
            # take the slow path (IndexError), which reports OUT_OF_RANGE.
            t = type(handles)
            if (t is not tuple and t is not list) or not isinstance(h, int):
                raise TypeError
            n = len(handles)
            pack = _PACK[n] or _new_packer(n)
            rc = _write(self._p, h, data, len(data), pack(*handles), n)
        except Exception:
            hv = handle_arg(h)
            buf, nbytes, values = self._message_args(
                data, handles, options, "mx_channel_write")
            rc = _write(self._p, hv, buf, nbytes, _pack(values), len(values))
        if rc:
            raise MxError(rc, "mx_channel_write")

    def _read_limits(self, max_bytes: Any, max_handles: Any,
                     syscall: str) -> Tuple[int, int]:
        mb = _MAX_BYTES if max_bytes is None else as_int(max_bytes, "max_bytes")
        mh = _MAX_HANDLES if max_handles is None else as_int(max_handles,
                                                             "max_handles")
        if mb < 0 or mh < 0:
            self._check_alive(syscall)
            raise MxError(ERR_INVALID_ARGS, syscall)
        return min(mb, _U64), min(mh, _U64)

    def mx_channel_read(self, h: int, options: int = 0,
                        max_bytes: Optional[int] = None,
                        max_handles: Optional[int] = None
                        ) -> Tuple[bytes, List[int]]:
        """Reads the first message: ``(bytes, [handle, ...])``; its handles
        are now this process's.  ``SHOULD_WAIT`` while the queue is empty
        and the peer open, ``PEER_CLOSED`` after; ``BUFFER_TOO_SMALL`` (with
        ``actual_bytes``, ``actual_handles``) if it exceeds the limits."""
        pool = self.kernel._buffers
        b = pool.pop() if pool else _core.ReadBuffers()
        try:
            if (max_bytes is None and max_handles is None
                    and isinstance(h, int) and isinstance(options, int)):
                rc = _read_bufs(self._p, h, options, b.bufs)
            else:
                raise TypeError
        except Exception:
            hv = handle_arg(h)
            as_int(options, "options")
            mb, mh = self._read_limits(max_bytes, max_handles,
                                       "mx_channel_read")
            self._check_alive("mx_channel_read")
            opts = u32_arg(options, "options", "mx_channel_read")
            rc = _read(self._p, hv, opts, mb, mh, b.data, b.handles, b.actual)
        if rc < 0:
            pool.append(b)
            if rc == _BUFFER_TOO_SMALL:
                raise MxError(rc, "mx_channel_read",
                              actual_bytes=int(b.actual[0]),
                              actual_handles=int(b.actual[1]))
            raise MxError(rc, "mx_channel_read")
        nh = rc >> 32
        nb = rc & 0xFFFFFFFF
        result = (b.data_view[:nb].tobytes() if nb else b"",
                  b.handle_view[:nh].tolist() if nh else [])
        pool.append(b)
        return result

    def mx_channel_call(self, h: int, data: BytesLike,
                        handles: Sequence[int] = (),
                        deadline: int = TIME_INFINITE,
                        max_bytes: Optional[int] = None,
                        max_handles: Optional[int] = None,
                        options: int = 0) -> Tuple[bytes, List[int]]:
        """Writes a request and waits for the reply that carries the same
        first four bytes (the txid): ``(bytes, [handle, ...])``.

        ``TIMED_OUT`` at the deadline; ``CALL_FAILED`` with ``read_status``
        ``PEER_CLOSED``, ``CANCELED`` or ``BUFFER_TOO_SMALL``."""
        syscall = "mx_channel_call"
        pool = self.kernel._buffers
        b = pool.pop() if pool else _core.ReadBuffers()
        try:
            # Fast path: plain arguments, one C call (as mx_channel_write).
            t = type(handles)
            if (type(data) is not bytes or options is not _ZERO
                    or max_bytes is not None or max_handles is not None
                    or (t is not tuple and t is not list)
                    or not isinstance(h, int)
                    or not isinstance(deadline, int)):
                raise TypeError
            n = len(handles)
            pack = _PACK[n] or _new_packer(n)
            rc = _call(self._p, h, data, len(data), pack(*handles), n,
                       deadline, _MAX_BYTES, _MAX_HANDLES, b.data, b.handles,
                       b.actual)
        except Exception:
            try:
                rc = self._slow_call(b, h, data, handles, deadline,
                                     max_bytes, max_handles, options)
            except BaseException:
                pool.append(b)
                raise
        if rc < 0:
            pool.append(b)
            if rc == _CALL_FAILED:
                read_status = ffi.cast("int64_t", b.actual[2])
                extra: Dict[str, Any] = {"read_status": int(read_status)}
                if extra["read_status"] == _BUFFER_TOO_SMALL:
                    extra["actual_bytes"] = int(b.actual[0])
                    extra["actual_handles"] = int(b.actual[1])
                raise MxError(rc, syscall, **extra)
            raise MxError(rc, syscall)
        nh = rc >> 32
        nb = rc & 0xFFFFFFFF
        result = (b.data_view[:nb].tobytes() if nb else b"",
                  b.handle_view[:nh].tolist() if nh else [])
        pool.append(b)
        return result

    def _slow_call(self, b: Any, h: Any, data: Any, handles: Any,
                   deadline: Any, max_bytes: Any, max_handles: Any,
                   options: Any) -> int:
        """mx_channel_call with every argument checked in SPEC order; the
        C call's result (its out-buffers are ``b``'s)."""
        syscall = "mx_channel_call"
        handle_arg(h)
        as_int(deadline, "deadline")
        buf, nbytes, values = self._message_args(
            data, handles, options, syscall,
            ((deadline, "deadline"), (max_bytes, "max_bytes"),
             (max_handles, "max_handles")))
        dl = u64_arg(deadline, "deadline", syscall)
        mb, mh = self._read_limits(max_bytes, max_handles, syscall)
        return _call(self._p, handle_arg(h), buf,  # type: ignore[no-any-return]
                     nbytes, _pack(values), len(values), dl, mb, mh, b.data,
                     b.handles, b.actual)

    # -- waiting and ports --------------------------------------------------------

    def mx_object_wait_one(self, h: int, signals: int, deadline: int) -> int:
        """Blocks until any of ``signals`` is asserted on ``h``'s object and
        returns the signals observed.  ``TIMED_OUT`` (with ``.observed``) at
        the deadline; ``CANCELED`` if ``h`` is closed or transferred away, or
        this process dies, meanwhile.  The GIL is released while blocked."""
        syscall = "mx_object_wait_one"
        hv = handle_arg(h)
        as_int(signals, "signals")
        as_int(deadline, "deadline")
        self._check_alive(syscall)
        sig = u32_arg(signals, "signals", syscall)
        dl = u64_arg(deadline, "deadline", syscall)
        out = ffi.new("uint32_t *")
        rc = _core.object_wait_one(self._p, hv, sig, dl, out)
        if rc < 0:
            if rc == _TIMED_OUT:
                raise MxError(rc, syscall, observed=int(out[0]))
            raise MxError(rc, syscall)
        return rc  # type: ignore[no-any-return]

    def mx_object_wait_many(self, items: Sequence[Tuple[int, int]],
                            deadline: int) -> List[int]:
        """Blocks until any item's signals are asserted: ``items`` is a
        sequence of ``(handle, signals)``; returns the observed signals of
        every item.  An empty list waits until the deadline.  Errors as
        :meth:`mx_object_wait_one` (``.observed`` is then a list)."""
        syscall = "mx_object_wait_many"
        pairs = []
        for item in _seq(items):
            try:
                h, sig = item
            except (TypeError, ValueError):
                raise TypeError("%s: items are (handle, signals) pairs"
                                % syscall) from None
            pairs.append((handle_arg(h), as_int(sig, "signals")))
        as_int(deadline, "deadline")
        self._check_alive(syscall)
        for _h, sig in pairs:
            u32_arg(sig, "signals", syscall)
        dl = u64_arg(deadline, "deadline", syscall)
        n = len(pairs)
        out = ffi.new("uint32_t[]", max(n, 1))
        rc = _core.object_wait_many(self._p, [h for h, _ in pairs],
                                    [s for _, s in pairs], n, dl, out)
        observed = ffi.unpack(out, n) if n else []
        if rc < 0:
            if rc == _TIMED_OUT:
                raise MxError(rc, syscall, observed=observed)
            raise MxError(rc, syscall)
        return observed

    def mx_port_create(self, options: int = 0) -> int:
        """A new port and its first handle.  ``INVALID_ARGS`` if options."""
        if (type(options) is not int or options) and self._options(
                options, "mx_port_create"):
            raise MxError(ERR_INVALID_ARGS, "mx_port_create")
        rc = _create(self._p, _PORT, _PORT_RIGHTS)
        if rc < 0:
            raise MxError(rc, "mx_port_create")
        return rc  # type: ignore[no-any-return]

    def mx_object_wait_async(self, h: int, port: int, key: int,
                             signals: int, options: int) -> None:
        """Asks for a packet on ``port`` (with ``key``) when any of
        ``signals`` is asserted on ``h``'s object: once
        (``WAIT_ASYNC_ONCE``), or again and again (``WAIT_ASYNC_REPEATING``):
        after its packet has been taken off the port, the next assertion of
        a watched signal queues a new one (one packet at a time, none for a
        signal that merely stays asserted)."""
        syscall = "mx_object_wait_async"
        hv, pv = handle_arg(h), handle_arg(port)
        for value, what in ((key, "key"), (signals, "signals"),
                            (options, "options")):
            as_int(value, what)
        self._check_alive(syscall)
        k = u64_arg(key, "key", syscall)
        sig = u32_arg(signals, "signals", syscall)
        opts = u32_arg(options, "options", syscall)
        rc = _core.object_wait_async(self._p, hv, pv, k, sig, opts, 0)
        if rc < 0:
            raise MxError(rc, syscall)

    def mx_port_queue(self, port: int, packet: UserPacketLike) -> None:
        """Queues a user packet: any object with ``key``, ``status`` and
        ``user`` (at most 32 bytes) attributes, e.g. ``mx.PortPacket``."""
        try:
            user = packet.user
            key = packet.key
            status = packet.status
            if (type(user) is not bytes or not isinstance(port, int)
                    or not isinstance(key, int) or not isinstance(status, int)):
                raise TypeError
            rc = _port_queue(self._p, port, key, status, user, len(user))
        except Exception:
            rc = self._slow_port_queue(port, packet)
        if rc < 0:
            raise MxError(rc, "mx_port_queue")

    def _slow_port_queue(self, port: Any, packet: Any) -> int:
        """Every argument checked in SPEC order; the C call's result."""
        syscall = "mx_port_queue"
        pv = handle_arg(port)
        try:
            key, status, user = packet.key, packet.status, packet.user
        except AttributeError:
            raise TypeError("%s: a packet needs key, status and user"
                            % syscall) from None
        as_int(key, "key")
        as_int(status, "status")
        if user is None:
            user = b""
        try:
            payload = bytes(memoryview(user))
        except TypeError:
            raise TypeError("%s: packet.user must be bytes-like" % syscall) from None
        self._check_alive(syscall)
        k = u64_arg(key, "key", syscall)
        st = as_int(status, "status")
        if not -2**31 <= st < 2**31:
            # The port's own checks come first (SPEC's column order).
            rc = _core.handle_get(self._p, pv, _PORT, _RIGHT_WRITE, ffi.NULL)
            raise MxError(rc if rc < 0 else ERR_INVALID_ARGS, syscall)
        # The core checks the port, then the payload's length.
        return _port_queue(self._p, pv, k, st, payload,  # type: ignore[no-any-return]
                           len(payload))

    def mx_port_wait(self, port: int, deadline: int) -> Packet:
        """The next packet on ``port``, waiting until the deadline for one
        (``TIMED_OUT``).  The GIL is released while blocked."""
        syscall = "mx_port_wait"
        pool = self.kernel._packets
        out, buf = pool.pop() if pool else new_out("mxh_packet_t *")
        try:
            if not (isinstance(port, int) and isinstance(deadline, int)):
                raise TypeError  # cffi would take any __int__ (a Fraction)
            rc = _port_wait(self._p, port, deadline, out)
        except Exception:
            pv = handle_arg(port)
            as_int(deadline, "deadline")
            self._check_alive(syscall)
            dl = u64_arg(deadline, "deadline", syscall)
            rc = _port_wait(self._p, pv, dl, out)
        if rc < 0:
            pool.append((out, buf))
            raise MxError(rc, syscall)
        packet = packet_from_c(buf)
        pool.append((out, buf))
        return packet

    def mx_port_cancel(self, port: int, h: int, key: int) -> None:
        """Ends the async waits on ``h`` for ``port`` with ``key`` and drops
        their packets not yet dequeued (``NOT_FOUND`` if neither)."""
        syscall = "mx_port_cancel"
        pv, hv = handle_arg(port), handle_arg(h)
        as_int(key, "key")
        self._check_alive(syscall)
        k = u64_arg(key, "key", syscall)
        rc = _core.port_cancel(self._p, pv, hv, k)
        if rc < 0:
            raise MxError(rc, syscall)

    # -- signals --------------------------------------------------------------------

    def _slow_signal(self, h: Any, clear_mask: Any, set_mask: Any, peer: int,
                     syscall: str) -> int:
        hv = handle_arg(h)
        as_int(clear_mask, "clear_mask")
        as_int(set_mask, "set_mask")
        self._check_alive(syscall)
        c = u32_arg(clear_mask, "clear_mask", syscall)
        s = u32_arg(set_mask, "set_mask", syscall)
        rc: int = _signal(self._p, hv, c, s, peer)
        return rc

    def mx_object_signal(self, h: int, clear_mask: int, set_mask: int) -> None:
        """Clears then sets user-settable signal bits on ``h``'s object."""
        try:
            if not (isinstance(h, int) and isinstance(clear_mask, int)
                    and isinstance(set_mask, int)):
                raise TypeError  # cffi would take any __int__ (a Fraction)
            rc = _signal(self._p, h, clear_mask, set_mask, 0)
        except Exception:
            rc = self._slow_signal(h, clear_mask, set_mask, 0,
                                   "mx_object_signal")
        if rc:
            raise MxError(rc, "mx_object_signal")

    def mx_object_signal_peer(self, h: int, clear_mask: int,
                              set_mask: int) -> None:
        """As :meth:`mx_object_signal`, on the object's peer."""
        try:
            if not (isinstance(h, int) and isinstance(clear_mask, int)
                    and isinstance(set_mask, int)):
                raise TypeError  # cffi would take any __int__ (a Fraction)
            rc = _signal(self._p, h, clear_mask, set_mask, 1)
        except Exception:
            rc = self._slow_signal(h, clear_mask, set_mask, 1,
                                   "mx_object_signal_peer")
        if rc:
            raise MxError(rc, "mx_object_signal_peer")

    # -- information --------------------------------------------------------------

    # The result's type follows the topic (INFO_* are Final, so a type
    # checker sees which); any other int gives Any.
    @overload
    def mx_object_get_info(self, h: int,
                           topic: Literal[Topic.HANDLE_BASIC]) -> HandleBasic:
        ...
    @overload
    def mx_object_get_info(self, h: int,
                           topic: Literal[Topic.HANDLE_VALID]) -> None: ...
    @overload
    def mx_object_get_info(self, h: int,
                           topic: Literal[Topic.PROCESS]) -> ProcessInfo: ...
    @overload
    def mx_object_get_info(self, h: int, topic: Literal[
            Topic.PROCESS_HANDLES]) -> List[HandleEntry]: ...
    @overload
    def mx_object_get_info(self, h: int, topic: Literal[
            Topic.PROCESS_THREADS, Topic.JOB_CHILDREN,
            Topic.JOB_PROCESSES]) -> List[int]: ...
    @overload
    def mx_object_get_info(self, h: int, topic: int) -> Any: ...

    def mx_object_get_info(self, h: int, topic: int) -> Any:
        """Information about ``h`` by ``topic`` (``INFO_*``; checked first:
        ``NOT_SUPPORTED`` for an unknown one)."""
        syscall = "mx_object_get_info"
        if (type(h) is int and 0 < h <= _VALUE_MAX and isinstance(topic, int)
                and topic == _BASIC):
            # Fast path: a pooled out-struct, one C call, one record.
            pool = self.kernel._infos
            info, buf = pool.pop() if pool else new_out("mxh_handle_info_t *")
            rc = _handle_basic(self._p, h, info)
            if rc < 0:
                pool.append((info, buf))
                raise MxError(rc, syscall)
            _, type_, rights, _, koid, related = _unpack_info(buf)
            pool.append((info, buf))
            return _tuple_new(HandleBasic, (koid, rights, type_, related,
                                            OBJ_PROP_WAITABLE))
        hv = handle_arg(h)
        t = as_int(topic, "topic")
        if t == INFO_HANDLE_BASIC or t == INFO_HANDLE_VALID:
            info = ffi.new("mxh_handle_info_t *")
            rc = _handle_basic(self._p, hv, info)
            if rc < 0:
                raise MxError(rc, syscall)
            if t == INFO_HANDLE_VALID:
                return None
            return HandleBasic(info.koid, info.rights, info.type,
                               info.related_koid, OBJ_PROP_WAITABLE)
        if t == INFO_PROCESS_HANDLES:
            n = 64
            while True:
                buf = ffi.new("mxh_handle_info_t[]", n)
                rc = _core.process_handles_of(self._p, hv, buf, n)
                if rc < 0:
                    raise MxError(rc, syscall)
                if rc <= n:
                    return [HandleEntry(buf[i].value, buf[i].koid, buf[i].type,
                                        buf[i].rights) for i in range(rc)]
                n = rc + rc // 4
        if t in _TASK_TOPICS:
            pinfo = ffi.new("mxh_process_info_t *")
            n = 64
            while True:
                koids = ffi.new("uint64_t[]", n)
                rc = _core.task_info(self._p, hv, t, pinfo, koids, n)
                if rc < 0:
                    raise MxError(rc, syscall)
                if t == INFO_PROCESS:
                    return ProcessInfo(int(pinfo.return_code),
                                       bool(pinfo.started), bool(pinfo.exited),
                                       False)
                if rc <= n:
                    return [int(k) for k in koids[0:rc]]
                n = rc + rc // 4
        self._check_alive(syscall)
        raise MxError(ERR_NOT_SUPPORTED, syscall)

    # -- tasks ------------------------------------------------------------------------

    def mx_job_default(self) -> int:
        """init: its handle to the root job (the same value on every call);
        any other process: ``HANDLE_INVALID``."""
        self._check_alive("mx_job_default")
        return self._root_job_handle

    def _task_options(self, handle: Any, options: Any, syscall: str,
                      name: Any = "") -> Tuple[int, int]:
        hv = handle_arg(handle)
        if not isinstance(name, str):
            raise TypeError("%s: name must be a str, not %s"
                            % (syscall, type(name).__name__))
        as_int(options, "options")
        self._check_alive(syscall)
        return hv, u32_arg(options, "options", syscall)

    def mx_job_create(self, parent_job: int, options: int = 0) -> int:
        """A new job under ``parent_job``: its handle."""
        hv, opts = self._task_options(parent_job, options, "mx_job_create")
        rc = _core.job_create(self._p, hv, opts)
        if rc < 0:
            raise MxError(rc, "mx_job_create")
        return rc  # type: ignore[no-any-return]

    def mx_process_create(self, job: int, name: str, options: int = 0) -> int:
        """A new process in ``job`` (not started): its handle.  ``name`` is
        cut to the longest prefix whose UTF-8 form fits 31 bytes."""
        syscall = "mx_process_create"
        hv, opts = self._task_options(job, options, syscall, name)
        short = _cut_name(name)
        out = ffi.new("mxh_proc_t **")
        kernel = self.kernel
        rc = _core.process_create(self._p, hv, kernel._secret(), opts, out)
        if rc < 0:
            raise MxError(rc, syscall)
        kernel._register(Process(kernel, out[0], short, pinned=True))
        return rc  # type: ignore[no-any-return]

    def mx_thread_create(self, process: int, name: str, options: int = 0) -> int:
        """A new thread of ``process`` (not started): its handle."""
        syscall = "mx_thread_create"
        hv, opts = self._task_options(process, options, syscall, name)
        rc = _core.thread_create(self._p, hv, opts)
        if rc < 0:
            raise MxError(rc, syscall)
        return rc  # type: ignore[no-any-return]

    def mx_process_start(self, process: int, thread: int, entry: Any,
                         stack: Any, arg1: int, arg2: Any) -> None:
        """Starts ``process`` with ``thread``; ``arg1`` (a handle of this
        process with ``RIGHT_TRANSFER``) moves into it as its bootstrap
        handle.  The new process's ``start_info`` records ``entry``,
        ``stack``, ``arg1`` (its value there) and ``arg2``; then the
        kernel's ``on_process_start`` runs in this thread."""
        syscall = "mx_process_start"
        pv, tv = handle_arg(process), handle_arg(thread)
        a1 = handle_arg(arg1, "arg1")
        self._check_alive(syscall)
        koid = ffi.new("uint64_t *")
        rc = _core.process_start(self._p, pv, tv, a1, koid)
        if rc < 0:
            raise MxError(rc, syscall)
        kernel = self.kernel
        child = kernel._processes.get(int(koid[0]))
        if child is None:               # started, then gone at once
            return
        info = StartInfo(entry, stack, int(rc), arg2)
        child.start_info = info
        if kernel.on_process_start is not None:
            kernel.on_process_start(child, info)

    def mx_thread_start(self, thread: int, entry: Any, stack: Any,
                        arg1: int, arg2: int) -> None:
        """Starts an extra thread of a started process."""
        syscall = "mx_thread_start"
        tv = handle_arg(thread)
        as_int(arg1, "arg1")
        as_int(arg2, "arg2")
        self._check_alive(syscall)
        rc = _core.thread_start(self._p, tv)
        if rc < 0:
            raise MxError(rc, syscall)

    def mx_process_exit(self, retcode: int) -> None:
        """This process exits with ``retcode``: its threads die, its handles
        are closed and ``TASK_TERMINATED`` is asserted."""
        syscall = "mx_process_exit"
        code = as_int(retcode, "retcode")
        self._check_alive(syscall)
        if not -2**63 <= code < 2**63:
            raise MxError(ERR_INVALID_ARGS, syscall)
        rc = _core.process_exit(self._p, code)
        if rc < 0:
            raise MxError(rc, syscall)

    def mx_task_kill(self, task: int) -> None:
        """Kills a job (and everything below it), a process (return code
        -1) or a thread."""
        rc = _core.task_kill(self._p, handle_arg(task))
        if rc < 0:
            raise MxError(rc, "mx_task_kill")

    # -- inspection helpers -------------------------------------------------------------

    def handle_count(self) -> int:
        """Live handles in this process's table (0 once it is dead)."""
        return int(_core.proc_handle_count(self._p))

    def handles(self) -> List[Tuple[int, int, int, int]]:
        """``(value, koid, type, rights)`` of every handle in the table."""
        n = int(_core.proc_handle_count(self._p))
        while True:
            buf = ffi.new("mxh_handle_info_t[]", max(n, 1))
            total = _core.proc_handles(self._p, buf, n)
            if total <= n:
                return [(buf[i].value, buf[i].koid, buf[i].type,
                         buf[i].rights) for i in range(total)]
            n = total
