"""The package's public surface: what ``from mxhandles import *`` gives."""
from __future__ import annotations

import types

import mxhandles as mx


def test_star_import_gives_the_api_and_nothing_else():
    ns: dict = {}
    exec("from mxhandles import *", ns)
    names = {n for n in ns if n != "__builtins__"}
    assert names == set(mx.__all__)
    # No submodule, typing helper or __future__ feature leaks out.
    for name in names:
        assert not isinstance(ns[name], types.ModuleType), name
    assert not names & {"annotations", "enum", "Any", "Dict", "Type",
                        "constants", "errors", "kernel", "process"}
    # What SPEC names is there.
    for name in ("Kernel", "Process", "MxError", "Status", "deadline_after",
                 "RIGHT_SAME_RIGHTS", "ERR_BAD_HANDLE", "INFO_HANDLE_BASIC",
                 "HandleBasic", "Packet", "PortPacket", "Stats",
                 "BadHandleError", "TIME_INFINITE", "USER_SIGNAL_0"):
        assert name in names, name


def test_version_is_the_one_in_version_py():
    from mxhandles import _version
    assert mx.__version__ == _version.__version__
    assert mx.__version__.count(".") >= 2
