"""The wheels of a bundle's pinned requirements, for one platform and Python: offline installs.

``pip download`` fetches, with every dependency, the wheels (never source archives: nothing is
built where the bundle is installed) of ``requirements.txt`` for the target, into ``wheels/``:

    python -m venv v && v/bin/pip install --no-index --find-links wheels -r requirements.txt

then needs no network, and neither does ``docker build`` (the Dockerfile installs from them).

The target is a Python version (default: the one the model was trained with) and platform tags
(default: Linux with glibc 2.36, the Dockerfile's ``python:X-slim`` image, on this machine's
architecture). pip takes a wheel only for a tag it is given, so a ``manylinux_2_Y`` tag is
widened here to every older glibc down to 2.17 (and the ``manylinux2014`` alias), as an
installer on that platform would accept them. A requirement without a wheel for the target is
refused, naming the requirement, the platform and the Python.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import ShipwayError

DEFAULT_GLIBC = 36
OLDEST_GLIBC = 17
_MANYLINUX = re.compile(r"^manylinux_2_(\d+)_([a-z0-9_]+)$")
_LEGACY = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}
_TAG = re.compile(r"^[a-z0-9_.]+$")
_PYTHON = re.compile(r"^3\.(\d{1,2})$")
_NO_WHEEL = re.compile(r"No matching distribution found for ([^\s]+)")
TIMEOUT_S = 1800


class WheelsUnavailable(ShipwayError, code="wheels_unavailable"):
    """The wheels of the bundle's requirements cannot be had for the chosen target."""


@dataclass(frozen=True)
class WheelTarget:
    """Where the wheels must install: platform tags (most specific first) and ``3.X``."""

    platforms: tuple[str, ...]
    python: str

    def describe(self) -> str:
        return f"{self.platforms[0]}, Python {self.python}"

    def to_dict(self) -> dict[str, object]:
        return {"platforms": list(self.platforms), "python": self.python}


def machine() -> str:
    """This machine's architecture as wheel tags spell it."""
    name = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64", "x64": "x86_64"}.get(name, name)


def target(platforms: list[str] | None, python: str) -> WheelTarget:
    """The target of ``--platform`` (repeatable) and ``--python-version``, checked."""
    if not _PYTHON.match(python):
        raise WheelsUnavailable(
            f"{python!r} is not a Python version", where="--python-version", hint="e.g. 3.11"
        )
    given = platforms or [f"manylinux_2_{DEFAULT_GLIBC}_{machine()}"]
    tags: list[str] = []
    for tag in given:
        if not _TAG.match(tag):
            raise WheelsUnavailable(
                f"{tag!r} is not a platform tag",
                where="--platform",
                hint="e.g. manylinux_2_36_x86_64, manylinux_2_28_aarch64, win_amd64, "
                "macosx_11_0_arm64",
            )
        tags += [t for t in widen(tag) if t not in tags]
    return WheelTarget(tuple(tags), python)


def widen(tag: str) -> list[str]:
    """``tag`` and the older manylinux tags an installer on that platform accepts too."""
    found = _MANYLINUX.match(tag)
    for legacy, glibc in _LEGACY.items():
        if tag.startswith(legacy + "_"):
            found = _MANYLINUX.match(f"manylinux_2_{glibc}_{tag[len(legacy) + 1 :]}")
    if not found:
        return [tag]
    newest, arch = int(found.group(1)), found.group(2)
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, OLDEST_GLIBC - 1, -1)]
    return tags + ([f"manylinux2014_{arch}"] if newest >= OLDEST_GLIBC else [])


def download(requirements: str, wheel_target: WheelTarget, folder: Path) -> list[Path]:
    """Download the wheels of ``requirements`` (text) and their dependencies into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    short = wheel_target.python.replace(".", "")
    with tempfile.TemporaryDirectory(prefix="shipway-wheels-") as scratch:
        listed = Path(scratch) / "requirements.txt"
        listed.write_text(requirements, encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-input",
            "--only-binary=:all:",
            "--dest",
            str(folder),
            "--python-version",
            wheel_target.python,
            "--implementation",
            "cp",
            "--abi",
            f"cp{short}",
            "--abi",
            "abi3",
            "--abi",
            "none",
            "-r",
            str(listed),
        ]
        for tag in wheel_target.platforms:
            command += ["--platform", tag]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                env={**os.environ, "PIP_NO_INPUT": "1"},
            )
        except subprocess.TimeoutExpired:
            raise WheelsUnavailable(
                f"pip download did not finish within {TIMEOUT_S // 60} minutes",
                where=wheel_target.describe(),
                hint="check the network and the package index, then export again",
            ) from None
    if done.returncode != 0:
        raise _failure(done.stderr or done.stdout, wheel_target)
    wheels = sorted(folder.glob("*.whl"))
    others = sorted(p.name for p in folder.iterdir() if p.suffix != ".whl")
    if others:
        raise WheelsUnavailable(
            f"pip download gave files that are not wheels: {others[:3]}",
            where=wheel_target.describe(),
        )
    return wheels


def _failure(output: str, wheel_target: WheelTarget) -> WheelsUnavailable:
    missing = _NO_WHEEL.search(output)
    if missing:
        return WheelsUnavailable(
            f"no wheel of {missing.group(1)} exists for {wheel_target.describe()}",
            where=wheel_target.describe(),
            hint="choose another --platform or --python-version, or export without "
            "--with-wheels (the image then installs from the package index)",
        )
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return WheelsUnavailable(
        f"pip download failed: {lines[-1] if lines else 'no output'}",
        where=wheel_target.describe(),
        hint="check the network and the package index, then export again",
    )
