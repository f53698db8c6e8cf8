"""The real installer, end to end: build the one-folder app and the .deb, install it with apt,
use the installed commands (the frozen worker, smoke-test and server processes included), then
remove it and check that nothing is left.

Slow (a few minutes) and it installs a system package, so it runs only with SHIPWAY_PACKAGING=1
(CI sets it), as root or with sudo. The figures (build time, sizes, start-up times) are printed
at the end and written to build/packaging-figures.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.packaging.conftest import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(
        os.environ.get("SHIPWAY_PACKAGING") != "1",
        reason="builds and installs the .deb: set SHIPWAY_PACKAGING=1",
    ),
]

APP = Path("/opt/shipway")
DEMO = APP / "_internal" / "resources" / "demo" / "penguins.csv"
LEFTOVER_GLOBS = (
    "/opt/shipway",
    "/usr/bin/shipway*",
    "/usr/share/applications/shipway*",
    "/usr/share/mime/packages/shipway*",
    "/usr/share/mime/application/x-shipway*",
    "/usr/share/icons/hicolor/*/apps/shipway.*",
    "/usr/share/doc/shipway",
)
FIGURES: dict[str, object] = {}
# Another apt or dpkg run on the machine (an unattended upgrade, a second job) holds dpkg's lock
# for a while: wait for it rather than fail.
APT_WAITS = ("-o", "DPkg::Lock::Timeout=600")


def sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo"]


def installed() -> bool:
    found = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", "shipway"], capture_output=True, text=True
    )
    return "ok installed" in found.stdout


def remove_package() -> None:
    apt = [*sudo(), "apt-get", *APT_WAITS, "remove", "-y", "-qq", "shipway"]
    subprocess.run(apt, check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    subprocess.run([*sudo(), "dpkg", "--purge", "shipway"], check=True, capture_output=True)


def leftovers() -> list[str]:
    found = [str(p) for pattern in LEFTOVER_GLOBS for p in Path("/").glob(pattern.lstrip("/"))]
    cache = Path("/usr/share/applications/mimeinfo.cache")
    if cache.is_file() and "shipway" in cache.read_text(encoding="utf-8", errors="replace"):
        found.append(f"{cache} (mentions shipway)")
    globs = Path("/usr/share/mime/globs2")
    if globs.is_file() and "shipway" in globs.read_text(encoding="utf-8", errors="replace"):
        found.append(f"{globs} (mentions shipway)")
    return found


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory):
    """Build, install (as a user would: apt with the local file), yield, then remove."""
    if installed():
        pytest.fail("shipway is already installed here: remove it first (apt-get remove shipway)")
    assert not leftovers(), f"files of an earlier install are still there: {leftovers()}"
    dist = tmp_path_factory.mktemp("dist")
    started = time.perf_counter()
    build = [sys.executable, "packaging/build.py", "--deb", f"--dist={dist}"]
    subprocess.run(build, cwd=ROOT, check=True, timeout=1500)
    FIGURES["build_s"] = round(time.perf_counter() - started, 1)
    package = next(dist.glob("shipway_*.deb"))
    FIGURES["deb_mb"] = round(package.stat().st_size / 1e6, 1)
    FIGURES["app_folder_mb"] = round(folder_bytes(dist / "shipway") / 1e6, 1)
    started = time.perf_counter()
    apt = [*sudo(), "apt-get", *APT_WAITS, "install", "-y", "-qq", str(package)]
    subprocess.run(apt, check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    FIGURES["apt_install_s"] = round(time.perf_counter() - started, 1)
    try:
        yield package
    finally:
        if installed():
            remove_package()


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment for the installed commands: a home of its own, the system PATH."""
    folder = tmp_path_factory.mktemp("home")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "QT_", "SHIPWAY_PROJECT"))
    }
    env.update(
        HOME=str(folder),
        XDG_CONFIG_HOME=str(folder / ".config"),
        XDG_DATA_HOME=str(folder / ".local" / "share"),
        PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        SHIPWAY_USER="tester",
    )
    return env


def run(env: dict[str, str], *command: str, timeout: float = 300, **extra: str):
    started = time.perf_counter()
    found = subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        env={**env, **extra},
        timeout=timeout,
        check=False,
    )
    return found, time.perf_counter() - started


def ok_json(env: dict[str, str], project: Path, *args: str) -> dict:
    found, _ = run(env, "shipway", "--project", str(project), *args, "--json")
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


def test_the_package_installs_commands_desktop_entry_icon_and_mime_type(deb: Path) -> None:
    assert os.readlink("/usr/bin/shipway") == "/opt/shipway/shipway"
    assert os.readlink("/usr/bin/shipway-desktop") == "/opt/shipway/shipway-desktop"
    assert Path("/usr/share/applications/shipway.desktop").is_file()
    assert Path("/usr/share/icons/hicolor/scalable/apps/shipway.svg").is_file()
    assert Path("/usr/share/mime/packages/shipway.xml").is_file()
    if shutil.which("desktop-file-validate"):
        found = subprocess.run(
            ["desktop-file-validate", "/usr/share/applications/shipway.desktop"],
            capture_output=True,
            text=True,
        )
        assert found.returncode == 0 and not found.stdout.strip(), found.stdout
    if shutil.which("update-mime-database"):  # postinst (or the trigger) updated the database
        globs = Path("/usr/share/mime/globs2").read_text(encoding="utf-8")
        assert "application/x-shipway-project:shipway.toml" in globs
    FIGURES["installed_mb"] = round(folder_bytes(APP) / 1e6, 1)


def test_the_installed_cli_tells_its_version(deb: Path, home: dict[str, str]) -> None:
    from core import __version__

    times = []
    for _ in range(3):
        found, seconds = run(home, "shipway", "--version")
        assert found.returncode == 0, found.stderr
        assert found.stdout.strip() == f"shipway {__version__}"
        times.append(seconds)
    FIGURES["cli_version_s"] = [round(t, 2) for t in times]


def test_the_installed_app_passes_its_self_test(deb: Path, home: dict[str, str]) -> None:
    times = []
    for _ in range(2):
        found, seconds = run(home, "shipway-desktop", "--self-test", QT_QPA_PLATFORM="offscreen")
        assert found.returncode == 0 and "PASS" in found.stdout, found.stdout + found.stderr
        times.append(seconds)
    FIGURES["desktop_self_test_s"] = [round(t, 2) for t in times]


def test_frozen_loky_and_spawn_workers_start(deb: Path, home: dict[str, str]) -> None:
    found, _ = run(home, "shipway", "--frozen-self-test", timeout=180)
    assert found.returncode == 0 and found.stdout.strip() == "workers ok", found.stderr


def test_a_misdispatched_child_fails_instead_of_opening_a_window(
    deb: Path, home: dict[str, str]
) -> None:
    for command in (("shipway-desktop", "-m", "os"), ("shipway", "-c", "print(1)")):
        found, seconds = run(home, *command, timeout=60, QT_QPA_PLATFORM="offscreen")
        assert found.returncode == 2 and found.stderr.startswith("shipway: refusing"), found
        assert seconds < 30


def test_the_installed_cli_trains_gates_serves_and_exports(
    deb: Path, home: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "penguins"
    found, _ = run(home, "shipway", "init", str(project), "--name", "Penguins")
    assert found.returncode == 0, found.stderr
    imported = ok_json(home, project, "data", "import", str(DEMO))  # the shipped demo data
    assert imported["rows"] == 344
    started = time.perf_counter()
    trained = ok_json(home, project, "train", "--data", "penguins", "--target", "species")
    FIGURES["cli_train_s"] = round(time.perf_counter() - started, 1)
    assert trained["status"] == "done" and trained["metrics"]["f1"] > 0.8  # a worker process ran
    ok_json(home, project, "models", "register", str(trained["run"]), "--name", "penguins")
    promoted = ok_json(home, project, "models", "promote", "penguins@1")  # default gates
    smoke = next(g for g in promoted["gates"] if g["rule"] == "smoke_test")
    assert smoke["passed"], smoke  # `-m core.registry.smoke` ran in a fresh frozen process
    deployed = ok_json(home, project, "deploy", "penguins@production")  # `-m core.serving`
    try:
        with urllib.request.urlopen(f"{deployed['url']}/health", timeout=10) as answer:
            assert json.loads(answer.read())["status"] == "ok"
    finally:
        ok_json(home, project, "undeploy", deployed["id"])
    bundle = tmp_path / "penguins.zip"
    ok_json(home, project, "bundle", "export", "penguins@1", "-o", str(bundle))
    verified = ok_json(home, project, "bundle", "verify", str(bundle))
    assert verified["ok"], verified["problems"]  # core.serving's sources and templates shipped


def test_the_installed_cli_installs_the_service_for_its_user(
    deb: Path, home: dict[str, str], tmp_path: Path
) -> None:
    """`shipway service install` of the package: a user unit that runs the package's own
    shipway (no user manager here: written, not enabled), that systemd-analyze accepts."""
    env = {
        k: v for k, v in home.items() if k not in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS")
    }
    project = tmp_path / "served"
    assert run(env, "shipway", "init", str(project))[0].returncode == 0
    found, _ = run(env, "shipway", "--project", str(project), "service", "install")
    assert found.returncode == 0 and "systemctl --user enable --now" in found.stdout, found
    unit = Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "shipway.service"
    # the package's shipway, by its path or by the link to it (whichever the app was started as)
    started = re.search(r"\nExecStart=(\S+) service run --all-projects\n", unit.read_text())
    assert started and started[1] in ("/opt/shipway/shipway", "/usr/bin/shipway"), started
    if shutil.which("systemd-analyze"):
        runtime = tmp_path / "runtime"
        runtime.mkdir(mode=0o700)
        verify, _ = run(
            env, "systemd-analyze", "--user", "verify", str(unit), XDG_RUNTIME_DIR=str(runtime)
        )
        assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), verify
    found, _ = run(env, "shipway", "--project", str(project), "service", "uninstall")
    assert found.returncode == 0 and not unit.exists(), found


def xvfb() -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    display = server.stdout.readline().strip()
    assert display.isdigit(), "Xvfb did not start"
    return server, f":{display}"


@pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xwininfo")), reason="needs xvfb and x11-utils"
)
def test_the_installed_app_opens_its_main_window_under_xvfb(
    deb: Path, home: dict[str, str], tmp_path: Path
) -> None:
    server, display = xvfb()
    log = tmp_path / "app.log"
    try:
        env = {**home, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        started = time.perf_counter()
        with open(log, "wb") as out:
            app = subprocess.Popen(
                ["shipway-desktop"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        seconds = wait_for_main_window(display, app, log)
        FIGURES["desktop_main_window_s"] = round(seconds - started, 2)
        time.sleep(1.0)  # let the event loop run, so that SIGTERM closes the window
        app.send_signal(signal.SIGTERM)
        try:
            assert app.wait(timeout=30) == 0
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_main_window(
    display: str, app: subprocess.Popen, log: Path, timeout: float = 120
) -> float:
    """The time at which a top-level window of class shipway-desktop is mapped."""
    deadline = time.perf_counter() + timeout
    pattern = re.compile(r'"Shipway": \("shipway-desktop" ')
    while time.perf_counter() < deadline:
        tree = subprocess.run(
            ["xwininfo", "-root", "-tree", "-display", display], capture_output=True, text=True
        ).stdout
        if pattern.search(tree):
            return time.perf_counter()
        assert app.poll() is None, log.read_text(errors="replace")
        time.sleep(0.05)
    pytest.fail("no main window within the time limit")


def test_removal_leaves_nothing_behind(deb: Path, capsys: pytest.CaptureFixture) -> None:
    started = time.perf_counter()
    remove_package()
    FIGURES["apt_remove_s"] = round(time.perf_counter() - started, 1)
    assert not installed()
    assert leftovers() == []
    assert shutil.which("shipway", path="/usr/bin") is None
    (ROOT / "build").mkdir(exist_ok=True)
    text = json.dumps(FIGURES, indent=2)
    (ROOT / "build" / "packaging-figures.json").write_text(text + "\n", encoding="utf-8")
    with capsys.disabled():
        print(f"\npackaging figures: {json.dumps(FIGURES)}")
