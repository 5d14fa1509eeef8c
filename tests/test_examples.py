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
