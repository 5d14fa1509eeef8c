"""A short run of scripts/soak.py (the long one is documented in README):
three threads of random traffic for three seconds, in a subprocess so that a
crash fails the test; it must end at the baseline stats() with no stray
errors and resident memory within bounds."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOAK = os.path.join(os.path.dirname(HERE), "scripts", "soak.py")


def test_short_soak_returns_to_baseline():
    # Under AddressSanitizer (scripts/asan-pytest) freed memory sits in its
    # quarantine: resident memory says nothing there.
    growth = "4096" if "libasan" in os.environ.get("LD_PRELOAD", "") else "64"
    r = subprocess.run(
        [sys.executable, SOAK, "--threads", "3", "--seconds", "3",
         "--sample", "0.5", "--warmup", "1", "--max-growth-mb", growth,
         "--seed", "1"],
        capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "soak: ok" in out, out
    calls = int(out.split(" calls (")[0].rsplit(" ", 1)[1])
    assert calls > 1000, out
