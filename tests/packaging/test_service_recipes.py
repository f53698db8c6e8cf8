"""The service recipes of packaging/service/ (a systemd user unit, a launchd agent, a Task
Scheduler task, for installing by hand) are what ``shipway service install`` writes for the
default install folders; and the .deb enables nothing as root, it only says how."""

from __future__ import annotations

import plistlib
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from core.operations.unit_files import RUN_ARGS, launchd_plist, systemd_unit, task_xml
from tests.packaging.conftest import PACKAGING

SERVICE = PACKAGING / "service"


def settings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_systemd_recipe_is_the_unit_install_writes_for_the_deb() -> None:
    written = systemd_unit(("/usr/bin/shipway", *RUN_ARGS))
    assert settings((SERVICE / "shipway.service").read_text()) == settings(written)


def test_the_launchd_recipe_is_the_agent_install_writes_for_the_app_bundle() -> None:
    recipe = plistlib.loads((SERVICE / "com.shipway.service.plist").read_bytes())
    command = ("/Applications/Shipway.app/Contents/MacOS/shipway", *RUN_ARGS)
    log = Path("@HOME@/Library/Logs/Shipway/service.log")
    assert recipe == plistlib.loads(launchd_plist(command, log))
    assert recipe["ProgramArguments"][1:] == ["service", "run", "--all-projects"]


def test_the_task_scheduler_recipe_is_the_task_install_registers() -> None:
    recipe = (SERVICE / "shipway-service.xml").read_text(encoding="utf-8")
    ET.fromstring(recipe)
    command = r"%LOCALAPPDATA%\Programs\Shipway\shipway-desktop.exe"
    written = task_xml((command, "-m", "core.cli", *RUN_ARGS), "@USER@").split("\n", 1)[1]
    assert ET.canonicalize(recipe, strip_text=True) == ET.canonicalize(written, strip_text=True)


def test_the_readme_has_the_one_line_schtasks_command() -> None:
    readme = (PACKAGING / "README.md").read_text(encoding="utf-8")
    assert "schtasks /Create /XML" in readme and "/TN Shipway" in readme


def test_the_deb_postinst_enables_nothing_and_says_how(tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    for tool in ("systemctl", "loginctl", "runuser", "su"):  # any of these would act for users
        stand_in = tmp_path / tool
        stand_in.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\n')
        stand_in.chmod(0o755)
    found = subprocess.run(
        ["/bin/sh", str(PACKAGING / "linux" / "postinst"), "configure"],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    assert "shipway service install" in found.stdout
    assert not calls.exists()
