"""Running the real `shipway` command against a project, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


def shipway(
    project: Path, *args: str, user: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``shipway --project PROJECT ARGS...`` in a fresh process (as ``user`` when given)."""
    env = os.environ | ({"SHIPWAY_USER": user} if user else {})
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(project), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def ok_json(project: Path, *args: str, user: str | None = None) -> dict:
    """The command's --json document; fails the test (showing stderr) unless it exits 0."""
    result = shipway(project, *args, "--json", user=user)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
