"""Every examples/*.py runs as a script: exit status 0 and its key line."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# The line each example must print (an example not listed here must at
# least print something).
KEY_LINES = {
    "simulated_system.py": "kernel back at baseline",
    "asyncio_echo.py": "kernel back at baseline",
    "des_scheduler.py": "kernel back at baseline",
}


def test_there_are_examples():
    assert EXAMPLES, "no examples/*.py found"
    for name in KEY_LINES:
        assert (ROOT / "examples" / name).exists(), name


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    r = subprocess.run([sys.executable, str(path.relative_to(ROOT))],
                       cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, (r.returncode, r.stdout[-2000:],
                               r.stderr[-4000:])
    assert r.stderr == "", r.stderr[-4000:]
    key = KEY_LINES.get(path.name)
    if key is None:
        assert r.stdout.strip(), "%s printed nothing" % path.name
    else:
        assert key in r.stdout, r.stdout[-2000:]


def test_simulated_system_narrative():
    """The story in order: the call, the exit, the notices, the baseline."""
    r = subprocess.run([sys.executable, "examples/simulated_system.py"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr[-4000:]
    lines = r.stdout.splitlines()
    wanted = ["started service", "started client", "got 'here you are'",
              "exiting with return code 7", "PEER_CLOSED",
              "still valid and signaled: True",
              "service: TASK_TERMINATED, exited=True return_code=7",
              "client: TASK_TERMINATED, exited=True return_code=0",
              "kernel back at baseline"]
    at = 0
    for want in wanted:
        while at < len(lines) and want not in lines[at]:
            at += 1
        assert at < len(lines), "%r missing or out of order in:\n%s" % (
            want, r.stdout)


def _run(*args):
    r = subprocess.run([sys.executable] + list(args), cwd=ROOT,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr[-4000:]
    return r.stdout


def test_des_scheduler_is_deterministic():
    """Same seed, same trace (virtual times, handle values, koids); another
    seed, another trace; and the story ends as it should."""
    first = _run("examples/des_scheduler.py", "--seed", "7")
    assert first == _run("examples/des_scheduler.py", "--seed", "7")
    assert first != _run("examples/des_scheduler.py", "--seed", "8")
    assert "server ended: TASK_TERMINATED, return code 9" in first
    assert first.count("done after") == 9
    assert first.count("hung up") == 3


def test_asyncio_echo_story():
    out = _run("examples/asyncio_echo.py")
    for line in ("client-0: sent 'ping', got 'PING'",
                 "client-1: sent 'world', got 'WORLD'",
                 "client-2: sent 'magenta', got 'MAGENTA'",
                 "server: TASK_TERMINATED, return code 6"):
        assert line in out, out
    assert out.count("server acknowledged and hung up") == 3, out
