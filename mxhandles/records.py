"""Immutable records returned by syscalls and inspection calls (SPEC §2)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, NamedTuple, Optional


class Stats(NamedTuple):
    """``Kernel.stats()``: live handles and objects of one kernel."""

    live_handles: int
    in_transit_handles: int
    live_objects: Dict[str, int]
    destroyed_objects: int


class HandleBasic(NamedTuple):
    """``mx_object_get_info(h, INFO_HANDLE_BASIC)``."""

    koid: int
    rights: int
    type: int
    related_koid: int
    props: int


class ProcessInfo(NamedTuple):
    """``mx_object_get_info(h, INFO_PROCESS)``."""

    return_code: int
    started: bool
    exited: bool
    debugger_attached: bool


class HandleEntry(NamedTuple):
    """One row of ``INFO_PROCESS_HANDLES``: a handle in another table."""

    value: int
    koid: int
    type: int
    rights: int


class StartInfo(NamedTuple):
    """``Process.start_info``: what ``mx_process_start`` was given.

    ``arg1`` is the bootstrap handle's value in the started process.
    """

    entry: Any
    stack: Any
    arg1: int
    arg2: Any


class SignalInfo(NamedTuple):
    """The signal part of a signal packet."""

    trigger: int
    observed: int
    count: int  # type: ignore[assignment]  # SPEC's name; hides tuple.count


class Packet(NamedTuple):
    """A packet taken from a port by ``mx_port_wait``.

    ``type`` is ``PKT_TYPE_USER`` (``user`` holds the 32-byte payload,
    ``signal`` is ``None``) or ``PKT_TYPE_SIGNAL_ONE`` / ``_REP``
    (``signal`` holds trigger, observed and count, ``user`` is ``None``).
    """

    key: int
    type: int
    status: int
    signal: Optional[SignalInfo]
    user: Optional[bytes]


@dataclass(frozen=True)
class PortPacket:
    """A user packet for ``mx_port_queue``: ``PortPacket(key, status=0,
    user=b"")``.  ``user`` is at most 32 bytes (``ValueError`` otherwise)
    and is zero-padded to 32."""

    key: int
    status: int = 0
    user: bytes = b""
    type: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        payload = bytes(memoryview(self.user)) if self.user is not None else b""
        if len(payload) > 32:
            raise ValueError("a user packet carries at most 32 bytes, not %d"
                             % len(payload))
        object.__setattr__(self, "user", payload.ljust(32, b"\0"))
