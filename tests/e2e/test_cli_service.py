"""`shipway service install|uninstall|status|logs` end to end, through real `shipway` processes
in a home folder of their own, on a machine without a systemd user manager (as in a container):
install writes a unit that `systemd-analyze` accepts and says what to run; status reads the lock
and heartbeat of a live stand-in service and of a killed one; logs tails and follows a real file;
and every mistake is one line on stderr (one JSON document with --json)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.test_service_status import end, start_holder

UNIT = Path(".config") / "systemd" / "user" / "shipway.service"
CONFIG = Path(".config") / "shipway" / "service.toml"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two real projects (``shipway init``); the second's folder name has a space."""
    base = tmp_path_factory.mktemp("service-cli")
    made = [base / "churn", base / "pen guins"]
    for folder in made:
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", "init", str(folder)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return made


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def shipway(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``shipway ARGS`` as a user whose home is ``home``, with no user manager to reach."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd or home,
        env=user_env(home),
    )


def user_env(home: Path) -> dict[str, str]:
    hidden = ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "SHIPWAY_PROJECT", "XDG_CONFIG_HOME")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    return env | {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def test_install_status_and_uninstall(projects: list[Path], home: Path, tmp_path: Path) -> None:
    churn, penguins = projects
    first = shipway(home, "--project", str(churn), "service", "install")
    assert first.returncode == 0, first.stderr
    assert "warning: no systemd user instance is reachable here" in first.stderr
    assert "systemctl --user enable --now shipway.service" in first.stdout
    second = shipway(home, "service", "install", "--json", cwd=penguins)  # the project around
    assert second.returncode == 0, second.stderr
    document = json.loads(second.stdout)
    assert document["projects"] == [str(churn), str(penguins)]
    assert document["unit_file"] == str(home / UNIT) and document["warnings"]

    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    verify = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(home / UNIT)],
        capture_output=True,
        text=True,
        env=user_env(home) | {"XDG_RUNTIME_DIR": str(runtime)},
    )
    assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), verify

    status = json.loads(shipway(home, "service", "status", "--json").stdout)
    assert status["installed"] is True and status["reachable"] is False
    assert [(p["path"], p["text"]) for p in status["projects"]] == [
        (str(churn), "not running"),
        (str(penguins), "not running"),
    ]
    removed = shipway(home, "--project", str(churn), "service", "uninstall")
    assert removed.returncode == 0 and (home / UNIT).is_file()
    last = shipway(home, "service", "uninstall", "--project", str(penguins))
    assert last.returncode == 0, last.stderr
    assert "No project is left: removed" in last.stdout and not (home / UNIT).exists()


def test_status_tells_a_live_service_from_a_killed_one(projects: list[Path], home: Path) -> None:
    churn = projects[0]
    assert shipway(home, "--project", str(churn), "service", "install").returncode == 0
    child = start_holder(churn)
    try:
        live = shipway(home, "service", "status")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        killed = shipway(home, "service", "status")
    finally:
        end(child)
    assert live.returncode == 0, live.stderr
    assert "installed (systemd); whether it runs cannot be asked here" in live.stdout
    assert f"running (pid {child.pid}, last heartbeat " in live.stdout
    assert "not running (the last service ended without stopping cleanly)" in killed.stdout


def test_mistakes_are_one_clear_line(projects: list[Path], home: Path) -> None:
    outside = shipway(home, "service", "install")
    assert outside.returncode == 1 and outside.stdout == ""
    assert outside.stderr.count("\n") == 1
    assert "no Shipway project here or in any parent folder" in outside.stderr
    as_json = shipway(home, "service", "install", "--json", "--project", str(home))
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["error"] == "project"

    not_listed = shipway(home, "--project", str(projects[0]), "service", "uninstall")
    assert not_listed.returncode == 1
    assert "this project is not in the service's project list" in not_listed.stderr

    (home / CONFIG).parent.mkdir(parents=True)
    (home / CONFIG).write_text('projects = [\n  "/a"\n  "/b",\n]\n')
    corrupt = shipway(home, "service", "status")
    assert corrupt.returncode == 1 and corrupt.stderr.count("\n") == 1
    assert f"[{home / CONFIG} line 3]" in corrupt.stderr
    assert (home / CONFIG).read_text() == 'projects = [\n  "/a"\n  "/b",\n]\n'


def test_logs_tail_and_follow_the_service_log(projects: list[Path], home: Path) -> None:
    churn = projects[1]
    missing = shipway(home, "--project", str(churn), "service", "logs")
    assert missing.returncode == 1 and "no service log for this project yet" in missing.stderr
    log = churn / ".shipway" / "service.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text("".join(f"tick {n}\n" for n in range(100)))
    tail = shipway(home, "service", "logs", "--lines", "3", cwd=churn)
    assert tail.returncode == 0 and tail.stdout == "tick 97\ntick 98\ntick 99\n"
    document = json.loads(shipway(home, "service", "logs", "-n", "2", "--json", cwd=churn).stdout)
    assert document["lines"] == ["tick 98", "tick 99"] and document["log"] == str(log)

    # Started with SIGINT ignored, as a background job's children are: Ctrl-C must still stop it.
    follower = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "service", "logs", "-n", "1", "--follow"],
        cwd=churn,
        env=user_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert follower.stdout.readline() == "tick 99\n"
        with open(log, "a") as handle:
            handle.write("tick 100\n")
        assert follower.stdout.readline() == "tick 100\n"
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=60) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(timeout=60)
        follower.stdout.close()
        follower.stderr.close()
