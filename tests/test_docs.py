"""The docs cannot rot: every ```python block in docs/*.md runs, and every
public name has its entry in docs/reference.md.

The blocks of one page run in order in one namespace (a page is one
session).  A block with ``>>>`` prompts is a doctest: its printed results
are compared (ELLIPSIS on); a block without prompts is executed as a script.
"""
from __future__ import annotations

import contextlib
import doctest
import io
import re
import types
from pathlib import Path

import pytest

import mxhandles as mx
from mxhandles import aio

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
REFERENCE = DOCS / "reference.md"

_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.*)$", re.M)


def python_blocks(text):
    """``(line number, code)`` of every ```python block of a page."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1))
            for m in _BLOCK.finditer(text)]


def run_page(path):
    """Runs a page's blocks in order; returns the failures as text."""
    text = path.read_text()
    globs = {"__name__": "docs_" + path.stem}
    parser = doctest.DocTestParser()
    failures = []
    for lineno, code in python_blocks(text):
        where = "%s:%d" % (path.name, lineno)
        if re.search(r"^\s*>>> ", code, re.M):
            test = parser.get_doctest(code, globs, where, str(path), lineno)
            out = io.StringIO()
            runner = doctest.DocTestRunner(
                optionflags=doctest.ELLIPSIS, verbose=False)
            runner.run(test, out=out.write, clear_globs=False)
            globs.update(test.globs)    # DocTest works on a copy
            if runner.failures:
                failures.append(out.getvalue())
        else:
            sink = io.StringIO()
            try:
                with contextlib.redirect_stdout(sink):
                    exec(compile(code, where, "exec"), globs)
            except Exception as exc:   # reported with the block's place
                failures.append("%s: %s: %s" % (where, type(exc).__name__,
                                                exc))
    return failures


def test_the_pages_exist():
    names = {p.name for p in PAGES}
    for page in ("index.md", "design.md", "reference.md", "simulators.md",
                 "bench.md"):
        assert page in names, page
    for page in ("reference.md", "simulators.md"):
        assert python_blocks((DOCS / page).read_text()), page


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(path):
    failures = run_page(path)
    assert not failures, "\n".join(failures)


def test_index_links_every_page():
    index = (DOCS / "index.md").read_text()
    for page in PAGES:
        if page.name != "index.md":
            assert "(%s)" % page.name in index, page.name
    for target in re.findall(r"\]\(([^)#:]+)\)", index):
        assert (DOCS / target).exists(), target


def _headings():
    return _HEADING.findall(REFERENCE.read_text())


def _documented_in_a_heading(qualified):
    """True if some heading names ``qualified`` as a whole word."""
    pattern = re.compile(r"(?<![\w.])%s(?![\w])" % re.escape(qualified))
    return any(pattern.search(h) for h in _headings())


def _public(cls):
    return sorted(n for n in dir(cls) if not n.startswith("_"))


def test_every_syscall_has_a_heading():
    syscalls = [n for n in _public(mx.Process) if n.startswith("mx_")]
    assert len(syscalls) >= 28
    missing = [n for n in syscalls if not _documented_in_a_heading(n)]
    assert not missing, "syscalls without a heading in reference.md: %s" % (
        missing,)


def test_every_kernel_process_and_aio_name_has_a_heading():
    names = ["Kernel.%s" % n for n in _public(mx.Kernel)]
    names += ["Process.%s" % n for n in _public(mx.Process)
              if not n.startswith("mx_")]
    names += ["aio.%s" % n for n in aio.__all__]
    names += ["Kernel", "Process", "MxError", "deadline_after", "PortPacket",
              "Packet", "StartInfo", "Stats", "HandleBasic", "HandleEntry",
              "ProcessInfo", "SignalInfo"]
    missing = [n for n in names if not _documented_in_a_heading(n)]
    assert not missing, "no heading in reference.md for: %s" % (missing,)


def _package_names():
    """mxhandles' own public names: its constants, classes and functions
    (not the modules and typing names that ``import *`` drags in)."""
    out = []
    for name in mx.__all__:
        value = getattr(mx, name)
        if isinstance(value, types.ModuleType):
            continue
        if isinstance(value, (type, types.FunctionType)):
            if value.__module__.startswith("mxhandles"):
                out.append(name)
        elif name.isupper():
            out.append(name)
    return out


def test_every_public_name_is_in_the_reference():
    text = REFERENCE.read_text()
    names = _package_names()
    assert "ERR_BAD_HANDLE" in names and "Kernel" in names
    missing = [n for n in names
               if not re.search(r"(?<![\w])%s(?![\w])" % re.escape(n), text)]
    assert not missing, "not mentioned in reference.md: %s" % (missing,)


def test_the_runner_catches_a_wrong_example(tmp_path):
    """The harness itself: a doctest with a wrong result fails, a failing
    script block fails, a correct page passes."""
    bad = tmp_path / "bad.md"
    bad.write_text("```python\n>>> 1 + 1\n3\n```\n\n"
                   "```python\nraise ValueError('boom')\n```\n")
    failures = run_page(bad)
    assert len(failures) == 2, failures
    assert "boom" in failures[1]
    good = tmp_path / "good.md"
    good.write_text("```python\nx = 41\n```\n\n```python\n>>> x + 1\n42\n```\n")
    assert run_page(good) == []
