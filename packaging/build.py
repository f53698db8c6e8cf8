"""Build the double-click installers: ``python packaging/build.py [--deb] [--installer] [--dmg]``.

Steps, each printed with its time:

1. PyInstaller into this interpreter's environment, if missing (the pinned series below).
2. The app icon in every format (build/icons/: PNGs, .ico, .icns), from resources/icons.
3. The one-folder app, dist/shipway/, from packaging/shipway.spec: executables ``shipway`` and
   ``shipway-desktop`` (``.exe`` on Windows; ``dist/Shipway.app`` too on macOS).
4. A check of the result: ``shipway --version`` answers with the project's version and, on
   Linux, every shared library the bundle's files need is found (inside it or on the system).
5. With ``--deb`` (Linux): dist/shipway_VERSION_ARCH.deb (see packaging/deb_package.py).
   With ``--installer`` (Windows): the Inno Setup installer, if ``iscc`` is on PATH.
   With ``--dmg`` (macOS): dist/Shipway-VERSION.dmg through packaging/macos/make_dmg.sh.

The version comes from pyproject.toml. Run it with the project's virtualenv (which has the
``desktop`` extra installed): ``.venv/bin/python packaging/build.py --deb``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYINSTALLER = "pyinstaller==6.22.*"
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def debian_version(version: str) -> str:
    """PEP 440 to Debian: pre-releases sort before the release (``1.0rc1`` -> ``1.0~rc1``)."""
    return re.sub(r"[.-]?(a|b|rc|dev)(\d*)", r"~\1\2", version)


def step(title: str):
    print(f"==> {title}", flush=True)
    return time.perf_counter()


def done(started: float) -> None:
    print(f"    {time.perf_counter() - started:.1f} s", flush=True)


def ensure_pyinstaller() -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        command = [sys.executable, "-m", "pip", "install", "--quiet", PYINSTALLER]
        subprocess.run(command, check=True)


def load(name: str):
    """A module of this folder, from its file (this folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"shipway_packaging_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make_icons(work: Path) -> dict[str, Path]:
    draw = load("app_icons").make_icons
    return draw(ROOT / "resources" / "icons" / "shipway.svg", work / "icons")


def run_pyinstaller(work: Path, dist: Path, icons: Path, version: str, clean: bool) -> Path:
    env = dict(os.environ, SHIPWAY_ICONS=str(icons), SHIPWAY_VERSION=version)
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level=WARN",
        f"--distpath={dist}",
        f"--workpath={work / 'pyinstaller'}",
        str(HERE / "shipway.spec"),
    ]
    if clean:
        command.insert(3, "--clean")
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    return dist / "shipway"


def build_app(work: Path, dist: Path, version: str, clean: bool) -> Path:
    """PyInstaller's one-folder app, its programs' archives read back entry by entry; a build
    whose archives do not read is made once more from a clean cache (packaging/archive_check.py)."""
    check = load("archive_check").app_problems
    programs = tuple(f"{name}{EXE_SUFFIX}" for name in ("shipway", "shipway-desktop"))
    app = run_pyinstaller(work, dist, work / "icons", version, clean)
    problems = check(app, programs)
    if problems and not clean:
        print("    the built archives do not read back; building again from a clean cache:")
        print("\n".join(f"      {line}" for line in problems[:10]))
        app = run_pyinstaller(work, dist, work / "icons", version, True)
        problems = check(app, programs)
    if problems:
        raise SystemExit("the built archives do not read back:\n" + "\n".join(problems[:20]))
    return app


def check_app(app: Path, version: str) -> None:
    """The CLI starts and tells its version; on Linux, no library dependency is missing."""
    found = subprocess.run(
        [str(app / f"shipway{EXE_SUFFIX}"), "--version"], capture_output=True, text=True
    )
    if found.returncode != 0 or version not in found.stdout:
        raise SystemExit(f"the built CLI failed: {found.stdout}{found.stderr}")
    print(f"    {found.stdout.strip()}")
    if sys.platform.startswith("linux") and shutil.which("ldd"):
        missing = missing_libraries(app)
        if missing:
            raise SystemExit("libraries not found:\n" + "\n".join(missing))


# Libraries the .deb only recommends: without them Qt's Wayland plug-in does not load and the
# app uses X11 (XWayland) instead.
OPTIONAL_LIBRARIES = ("libwayland-client.so", "libwayland-cursor.so", "libwayland-egl.so")


def missing_libraries(app: Path) -> list[str]:
    """Lines ``FILE: LIBRARY`` for every shared library ``ldd`` cannot resolve (but those in
    OPTIONAL_LIBRARIES).

    The bundle's folders are on the search path as the app puts them there at run time (each
    library is found next to the ones it needs, or through their RPATH $ORIGIN)."""
    folders = sorted({str(path.parent) for path in app.rglob("*.so*") if path.is_file()})
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(folders))
    missing = []
    for path in sorted(app.rglob("*")):
        if not path.is_file() or path.is_symlink() or not _is_elf(path):
            continue
        found = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env)
        for line in found.stdout.splitlines():
            if "not found" in line and not line.strip().startswith(OPTIONAL_LIBRARIES):
                missing.append(f"{path.relative_to(app)}: {line.strip()}")
    return missing


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"\x7fELF"


def folder_size_mb(folder: Path) -> float:
    files = (p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 1e6


def build_installer(version: str, dist: Path) -> None:
    tool = shutil.which("iscc") or shutil.which("ISCC")
    if tool is None:
        raise SystemExit("iscc (Inno Setup 6) is not on PATH")
    script = HERE / "windows" / "shipway.iss"
    subprocess.run([tool, f"/DAppVersion={version}", f"/O{dist}", str(script)], check=True)


def build_dmg(version: str, dist: Path) -> None:
    script = HERE / "macos" / "make_dmg.sh"
    subprocess.run(["bash", str(script), str(dist / "Shipway.app"), version, str(dist)], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/build.py", description=__doc__.split("\n")[0])
    parser.add_argument("--deb", action="store_true", help="also build the Linux .deb")
    parser.add_argument("--installer", action="store_true", help="also run Inno Setup (Windows)")
    parser.add_argument("--dmg", action="store_true", help="also make the disk image (macOS)")
    parser.add_argument("--clean", action="store_true", help="drop PyInstaller's cache first")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="work folder (build/)")
    args = parser.parse_args(argv)
    version = project_version()
    total = time.perf_counter()

    started = step("PyInstaller")
    ensure_pyinstaller()
    done(started)
    started = step("icons")
    icons = make_icons(args.work)
    done(started)
    started = step(f"one-folder app, version {version}")
    app = build_app(args.work, args.dist, version, args.clean)
    done(started)
    started = step("check")
    check_app(app, version)
    print(f"    {app}: {folder_size_mb(app):.0f} MB")
    done(started)
    if args.deb:
        started = step(".deb")
        deb_version = debian_version(version)
        package = load("deb_package").build(app, icons, deb_version, args.work, args.dist)
        print(f"    {package}: {package.stat().st_size / 1e6:.0f} MB")
        done(started)
    if args.installer:
        started = step("Inno Setup installer")
        build_installer(version, args.dist)
        done(started)
    if args.dmg:
        started = step("disk image")
        build_dmg(version, args.dist)
        done(started)
    print(f"==> built in {time.perf_counter() - total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
