"""A worker that crashes fails its test and the run still ends (tests/xdist_crash.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Two tests, so the worker that runs this file is also given the next file at the start; the
# crash comes once the other worker has finished and left. The dead worker's unfinished files
# (this one's last test and a whole other file) must then go to the worker that replaces it.
CRASHING = """
import os
import time

def test_crash():
    time.sleep(3)
    os.abort()

def test_after():
    pass
"""

QUIET = """
def test_one():
    pass

def test_two():
    pass
"""

CONFTEST = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    from tests.xdist_crash import CrashSafeLoadFile

    return CrashSafeLoadFile(config, log)
"""


def test_a_crashed_worker_fails_one_test_and_the_run_ends(tmp_path: Path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_a_crashing.py").write_text(CRASHING)
    for name in ("test_b.py", "test_c.py", "test_d.py"):
        (tmp_path / name).write_text(QUIET)
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONFAULTHANDLER": "0"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert "1 failed, 7 passed" in summary, done.stdout[-3000:]
    assert "crashed while running 'test_a_crashing.py::test_crash'" in done.stdout
