"""The Linux ``.deb``: the one-folder app under /opt/shipway, commands, desktop entry, icons, MIME.

Layout of the package::

    /opt/shipway/                       the one-folder app: shipway, shipway-desktop, _internal/
    /usr/bin/shipway, shipway-desktop   symbolic links into /opt/shipway
    /usr/share/applications/shipway.desktop
    /usr/share/icons/hicolor/{scalable,NxN}/apps/shipway.{svg,png}
    /usr/share/mime/packages/shipway.xml  application/x-shipway-project (shipway.toml, *.shipway)
    /usr/share/doc/shipway/copyright

Built with ``dpkg-deb --root-owner-group -Zzstd`` (seconds; xz takes minutes). Install it with
``apt install ./shipway_VERSION_ARCH.deb``, which also installs the dependencies (``dpkg -i``
does not).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINUX = HERE / "linux"
PREFIX = "opt/shipway"
COMMANDS = ("shipway", "shipway-desktop")
# The bundle carries its own Python, Qt and X/xcb helper libraries; these come from the system.
DEPENDS = (
    "libc6 (>= 2.36)",
    "libgl1",
    "libegl1",
    "libxcb1",
    "fontconfig-config",
    "fonts-dejavu-core",
)
RECOMMENDS = ("libwayland-client0", "libwayland-cursor0", "libwayland-egl1")
DESCRIPTION = """\
Desktop MLOps studio for small teams
 Shipway takes a tabular machine-learning problem from a raw file to a monitored
 REST service on the team's own workstations: versioned data sets, tracked
 scikit-learn experiments, comparison, validation gates, a model registry,
 one-click local deployment, drift monitoring and exportable bundles. It
 installs the desktop app (shipway-desktop) and the command line (shipway)."""


def architecture() -> str:
    try:
        found = subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        )
        return found.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "amd64"


def control(version: str, arch: str, installed_kib: int) -> str:
    fields = {
        "Package": "shipway",
        "Version": version,
        "Architecture": arch,
        "Maintainer": "Shipway developers <noreply@shipway.invalid>",
        "Installed-Size": str(installed_kib),
        "Depends": ", ".join(DEPENDS),
        "Recommends": ", ".join(RECOMMENDS),
        "Section": "science",
        "Priority": "optional",
        "Description": DESCRIPTION,
    }
    return "".join(f"{key}: {value}\n" for key, value in fields.items())


def _installed_kib(root: Path) -> int:
    """Installed-Size: the sum of file sizes in KiB, as dpkg-gencontrol counts it."""
    total = 0
    for path in root.rglob("*"):
        if "DEBIAN" in path.relative_to(root).parts[:1]:
            continue
        total += 1 if path.is_symlink() or path.is_dir() else -(-path.stat().st_size // 1024)
    return total


def _copy(source: Path, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def assemble(app: Path, icons: dict[str, Path], version: str, root: Path, arch: str) -> Path:
    """Lay the package out in ``root`` (emptied first) from the one-folder ``app``."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(app, root / PREFIX, symlinks=True)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for command in COMMANDS:
        (bin_dir / command).symlink_to(f"/{PREFIX}/{command}")
    share = root / "usr" / "share"
    _copy(LINUX / "shipway.desktop", share / "applications" / "shipway.desktop")
    _copy(LINUX / "shipway-mime.xml", share / "mime" / "packages" / "shipway.xml")
    _copy(LINUX / "copyright", share / "doc" / "shipway" / "copyright")
    hicolor = share / "icons" / "hicolor"
    _copy(icons["svg"], hicolor / "scalable" / "apps" / "shipway.svg")
    for key, path in icons.items():
        if key.startswith("png") and int(key[3:]) <= 512:
            size = int(key[3:])
            _copy(path, hicolor / f"{size}x{size}" / "apps" / "shipway.png")
    debian = root / "DEBIAN"
    debian.mkdir()
    for script in ("postinst", "prerm", "postrm"):
        _copy(LINUX / script, debian / script, 0o755)
    (debian / "control").write_text(control(version, arch, _installed_kib(root)))
    normalise_modes(root)
    return root


def normalise_modes(root: Path) -> None:
    """Folders 0755, programs 0755, other files 0644, whatever the builder's umask.

    A build under ``umask 000`` (some CI runners) would otherwise ship world-writable files,
    and dpkg-deb refuses a DEBIAN folder that is not 0755..0775.
    """
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)


def validate_desktop_entry(path: Path) -> None:
    """``desktop-file-validate``, where it is installed (desktop-file-utils)."""
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        print("desktop-file-validate not found: desktop entry not validated")
        return
    found = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    if found.returncode != 0 or found.stdout.strip():
        raise SystemExit(f"desktop entry {path} is not valid:\n{found.stdout}{found.stderr}")


def build(app: Path, icons: dict[str, Path], version: str, work: Path, out: Path) -> Path:
    """Assemble and build ``out/shipway_VERSION_ARCH.deb``; return its path."""
    arch = architecture()
    validate_desktop_entry(LINUX / "shipway.desktop")
    root = assemble(app, icons, version, work / "deb-root", arch)
    out.mkdir(parents=True, exist_ok=True)
    package = out / f"shipway_{version}_{arch}.deb"
    package.unlink(missing_ok=True)
    command = ["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", str(root), str(package)]
    subprocess.run(command, check=True)
    return package
