"""Immutable records returned by syscalls and inspection calls (SPEC §2)."""
from __future__ import annotations

from typing import Any, Dict, NamedTuple


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
