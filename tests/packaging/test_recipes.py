"""The installer recipes, checked where this machine can: the spec, the Inno Setup script, the
macOS Info.plist and dmg script, the desktop entry, the MIME type, the maintainer scripts, the
icons, and a .deb assembled around a stand-in app (the real build is tests/packaging/test_deb.py).
"""

from __future__ import annotations

import ast
import os
import plistlib
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.packaging.conftest import PACKAGING, ROOT, load

MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
LINUX = PACKAGING / "linux"


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def spec_constants() -> dict[str, object]:
    tree = ast.parse((PACKAGING / "shipway.spec").read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def test_the_spec_is_python_and_builds_both_executables_from_the_entry_script() -> None:
    text = (PACKAGING / "shipway.spec").read_text(encoding="utf-8")
    ast.parse(text)
    assert '"entry.py"' in text and "COLLECT(" in text
    assert '_executable("shipway", console=True)' in text and '"shipway-desktop",' in text
    assert '"core.serving": "pyz+py"' in text  # bundles copy its sources
    for data in ('"resources"', '"core/store/migrations"', '"core/bundles/templates"'):
        assert data in text


def test_the_spec_trims_qt_plugins_and_pyarrow() -> None:
    constants = spec_constants()
    plugins = constants["QT_PLUGINS"]
    assert {"qxcb", "qoffscreen", "qwayland", "qwindows", "qcocoa"} <= plugins["platforms"]
    assert "qsvg" in plugins["imageformats"] and "platformthemes" in plugins
    excluded = set(constants["EXCLUDES"])
    assert {"pyarrow.flight", "pyarrow._s3fs", "pyarrow._substrait", "pytest"} <= excluded
    assert "libarrow_flight" in constants["DROPPED_LIBRARIES"]


def inno_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = header.group(1)
            sections.setdefault(current, [])
        elif current:
            sections[current].append(line)
    return sections


def test_the_inno_setup_script_installs_per_user_with_shortcuts_and_associations() -> None:
    text = (PACKAGING / "windows" / "shipway.iss").read_text(encoding="utf-8")
    sections = inno_sections(text)
    expected = {"Setup", "Languages", "Tasks", "Files", "Icons", "Registry", "Run", "Code"}
    assert expected <= set(sections)
    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert setup["PrivilegesRequired"] == "lowest"
    assert setup["DefaultDirName"].startswith("{autopf}")
    assert setup["ChangesAssociations"] == "yes" and setup["ChangesEnvironment"] == "yes"
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", setup["AppId"])
    assert setup["UninstallDisplayIcon"] == "{app}\\{#AppExe}"
    assert '#define AppExe "shipway-desktop.exe"' in text
    icons = " ".join(sections["Icons"])
    assert "{autoprograms}" in icons and "{autodesktop}" in icons and "Tasks: desktopicon" in icons
    assert any("{#DistDir}\\*" in line and "recursesubdirs" in line for line in sections["Files"])
    registry = "\n".join(sections["Registry"])
    assert "Software\\Classes\\.shipway" in registry and "Software\\Classes\\.toml" in registry
    assert "Root: HKLM" not in registry  # per user only: HKA is HKCU without admin rights
    progid = next(
        line
        for line in sections["Registry"]
        if line.endswith('"Shipway project"; Flags: uninsdeletekey')
    )
    assert "Software\\Classes\\{#ProjectProgId}" in progid  # removed with all its sub-keys
    values = [line for line in sections["Registry"] if "OpenWithProgids" in line]
    assert values and all("uninsdeletevalue" in line for line in values)
    code = "\n".join(sections["Code"])
    assert "CurUninstallStepChanged" in code and "NeedsAddPath" in code
    assert code.count("begin") == code.count("end;")


def test_the_inno_setup_script_finds_what_build_py_makes() -> None:
    text = (PACKAGING / "windows" / "shipway.iss").read_text(encoding="utf-8")
    assert '"..\\..\\dist\\shipway"' in text and '"..\\..\\build\\icons\\shipway.ico"' in text


def test_the_macos_info_plist_declares_the_app_and_its_documents() -> None:
    with open(PACKAGING / "macos" / "Info.plist", "rb") as handle:
        info = plistlib.load(handle)
    assert re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", info["CFBundleIdentifier"])
    assert info["CFBundleExecutable"] == "shipway-desktop"
    assert info["CFBundleIconFile"] == "shipway.icns" and info["CFBundlePackageType"] == "APPL"
    assert info["CFBundleShortVersionString"] == project_version()
    documents = {t for d in info["CFBundleDocumentTypes"] for t in d["LSItemContentTypes"]}
    exported = {t["UTTypeIdentifier"]: t for t in info["UTExportedTypeDeclarations"]}
    imported = {t["UTTypeIdentifier"]: t for t in info["UTImportedTypeDeclarations"]}
    assert documents <= set(exported) | set(imported)
    tags = exported["org.shipway.project"]["UTTypeTagSpecification"]
    assert tags["public.filename-extension"] == ["shipway"]
    toml = imported["org.toml.toml"]["UTTypeTagSpecification"]["public.filename-extension"]
    assert toml == ["toml"]


def test_the_dmg_script_is_valid_bash_using_hdiutil() -> None:
    script = PACKAGING / "macos" / "make_dmg.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text(encoding="utf-8")
    assert "hdiutil create" in text and "/Applications" in text


def test_the_desktop_entry_is_valid_and_matches_the_mime_type() -> None:
    entry = dict(
        line.split("=", 1)
        for line in (LINUX / "shipway.desktop").read_text(encoding="utf-8").splitlines()
        if "=" in line
    )
    assert entry["Exec"].split()[0] == "shipway-desktop" and entry["Icon"] == "shipway"
    assert entry["Categories"] == "Development;"  # one main category, as the validator wants
    mime = ET.parse(LINUX / "shipway-mime.xml").getroot()
    types = [t.get("type") for t in mime.iter(f"{MIME_NS}mime-type")]
    assert entry["MimeType"] == f"{types[0]};"
    globs = {g.get("pattern") for g in mime.iter(f"{MIME_NS}glob")}
    assert globs == {"shipway.toml", "*.shipway"}
    if shutil.which("desktop-file-validate"):
        found = subprocess.run(
            ["desktop-file-validate", str(LINUX / "shipway.desktop")],
            capture_output=True,
            text=True,
        )
        assert found.returncode == 0 and not found.stdout.strip(), found.stdout


@pytest.mark.skipif(not shutil.which("update-mime-database"), reason="shared-mime-info absent")
def test_the_mime_database_matches_shipway_toml_by_its_whole_name(tmp_path: Path) -> None:
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(LINUX / "shipway-mime.xml", packages / "shipway.xml")
    subprocess.run(["update-mime-database", str(tmp_path / "mime")], check=True)
    globs = (tmp_path / "mime" / "globs2").read_text(encoding="utf-8")
    assert "application/x-shipway-project:shipway.toml" in globs
    assert "application/x-shipway-project:*.shipway" in globs


def test_the_maintainer_scripts_are_valid_sh_and_tolerate_missing_tools(tmp_path: Path) -> None:
    for name in ("postinst", "prerm", "postrm"):
        script = LINUX / name
        assert script.stat().st_mode & 0o111, f"{name} is not executable"
        subprocess.run(["sh", "-n", str(script)], check=True)
        action = "configure" if name == "postinst" else "remove"
        # No update-* tool on PATH: the script still succeeds (and changes nothing).
        found = subprocess.run(
            ["/bin/sh", str(script), action], env={"PATH": str(tmp_path)}, capture_output=True
        )
        assert found.returncode == 0, found.stderr


def test_a_process_that_made_the_icons_can_still_show_widgets(tmp_path: Path) -> None:
    """The icons used to be painted under a QGuiApplication, the one application the process
    can have: a window made later in the same process (as in a test run) aborted it."""
    script = (
        "import runpy, sys; from pathlib import Path\n"
        "icons = runpy.run_path(sys.argv[1])\n"
        "icons['render_pngs'](Path(sys.argv[2]), Path(sys.argv[3]), (16,))\n"
        "from PySide6.QtWidgets import QWidget\n"
        "QWidget().show()\n"
        "print('shown')\n"
    )
    svg = ROOT / "resources" / "icons" / "shipway.svg"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    args = [sys.executable, "-c", script, str(PACKAGING / "app_icons.py"), str(svg), str(tmp_path)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "shown" in done.stdout, done.stderr[-2000:]


def test_the_icons_are_well_formed(app_icons, tmp_path: Path) -> None:
    made = app_icons.make_icons(ROOT / "resources" / "icons" / "shipway.svg", tmp_path)
    assert made["png256"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ico = made["ico"].read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(app_icons.ICO_SIZES))
    size, offset = struct.unpack("<II", ico[6 + 8 : 6 + 16])
    assert ico[offset : offset + 4] == b"\x89PNG" and offset + size <= len(ico)
    icns = made["icns"].read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    position, kinds = 8, []
    while position < len(icns):
        kinds.append(icns[position : position + 4])
        position += struct.unpack(">I", icns[position + 4 : position + 8])[0]
    assert position == len(icns) and b"ic10" in kinds and b"icp4" in kinds


def test_versions_follow_pyproject(build) -> None:
    assert build.project_version() == project_version()
    assert build.debian_version("0.1.0") == "0.1.0"
    assert build.debian_version("1.2.0rc1") == "1.2.0~rc1"
    assert build.debian_version("1.2.0.dev3") == "1.2.0~dev3"


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="dpkg-deb absent")
def test_a_deb_around_a_stand_in_app_has_the_promised_layout(
    deb_package, app_icons, tmp_path: Path
) -> None:
    app = tmp_path / "dist" / "shipway"
    (app / "_internal").mkdir(parents=True)
    for command in ("shipway", "shipway-desktop"):
        (app / command).write_text("#!/bin/sh\necho stand-in\n")
        (app / command).chmod(0o755)
    (app / "_internal" / "data.txt").write_text("x" * 5000)
    icons = app_icons.make_icons(ROOT / "resources" / "icons" / "shipway.svg", tmp_path / "icons")
    package = deb_package.build(app, icons, "0.1.0", tmp_path / "work", tmp_path / "out")
    assert package.name == f"shipway_0.1.0_{deb_package.architecture()}.deb"

    info = subprocess.run(["dpkg-deb", "-f", str(package)], capture_output=True, text=True)
    fields = dict(
        line.split(": ", 1) for line in info.stdout.splitlines() if not line.startswith(" ")
    )
    assert fields["Package"] == "shipway" and fields["Version"] == "0.1.0"
    assert fields["Depends"].startswith("libc6 (>= 2.36), libgl1, libegl1, libxcb1")
    assert "fonts-dejavu-core" in fields["Depends"] and "libwayland" in fields["Recommends"]
    assert int(fields["Installed-Size"]) >= 5

    listing = subprocess.run(["dpkg-deb", "-c", str(package)], capture_output=True, text=True)
    lines = listing.stdout.splitlines()
    assert all(" root/root " in line for line in lines)
    names = {line.split()[5] for line in lines}
    for path in (
        "./opt/shipway/shipway",
        "./opt/shipway/shipway-desktop",
        "./opt/shipway/_internal/data.txt",
        "./usr/share/applications/shipway.desktop",
        "./usr/share/mime/packages/shipway.xml",
        "./usr/share/icons/hicolor/scalable/apps/shipway.svg",
        "./usr/share/icons/hicolor/256x256/apps/shipway.png",
        "./usr/share/doc/shipway/copyright",
    ):
        assert path in names, path
    links = {line.split()[5]: line.split()[-1] for line in lines if " -> " in line}
    assert links == {
        "./usr/bin/shipway": "/opt/shipway/shipway",
        "./usr/bin/shipway-desktop": "/opt/shipway/shipway-desktop",
    }
    executable = next(line for line in lines if line.endswith("./opt/shipway/shipway"))
    assert executable.startswith("-rwxr-xr-x")
    scripts = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(package)], capture_output=True, check=True
    )
    control = subprocess.run(
        ["tar", "-t"], input=scripts.stdout, capture_output=True, check=True
    ).stdout.decode()
    assert {"./postinst", "./prerm", "./postrm", "./control"} <= set(control.split())


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="dpkg-deb absent")
def test_a_deb_built_under_umask_000_ships_no_world_writable_file(
    deb_package, app_icons, tmp_path: Path
) -> None:
    previous = os.umask(0)
    try:
        app = tmp_path / "dist" / "shipway"
        (app / "_internal" / "lib").mkdir(parents=True)
        (app / "_internal" / "lib" / "data.txt").write_text("data\n")
        for command in ("shipway", "shipway-desktop"):
            (app / command).write_text("#!/bin/sh\necho stand-in\n")
            (app / command).chmod(0o777)
        icons = app_icons.make_icons(ROOT / "resources" / "icons" / "shipway.svg", tmp_path / "i")
        package = deb_package.build(app, icons, "0.1.0", tmp_path / "work", tmp_path / "out")
    finally:
        os.umask(previous)
    listing = subprocess.run(["dpkg-deb", "-c", str(package)], capture_output=True, text=True)
    modes = {line.split()[5]: line.split()[0] for line in listing.stdout.splitlines()}
    assert modes["./opt/shipway/shipway"] == "-rwxr-xr-x"
    assert modes["./opt/shipway/_internal/lib/data.txt"] == "-rw-r--r--"
    assert modes["./usr/share/applications/"] == "drwxr-xr-x"
    assert [path for path, mode in modes.items() if mode[0] != "l" and mode[8] == "w"] == []


def test_a_program_whose_archive_holds_an_unreadable_module_is_caught(tmp_path: Path) -> None:
    """archive_check reads back every module of a program's embedded PYZ (here a stand-in
    program made with PyInstaller's own writers): a module whose bytes were damaged is named."""
    pytest.importorskip("PyInstaller")
    from PyInstaller.archive.readers import ZlibArchiveReader
    from PyInstaller.archive.writers import CArchiveWriter, ZlibArchiveWriter

    check = load("archive_check").archive_problems
    modules = {"first": "A = 1\n", "second": "B = [n * n for n in range(100)]\n" * 20}
    sources = {name: tmp_path / f"{name}.py" for name in modules}
    for name, text in modules.items():
        sources[name].write_text(text)
    code = {name: compile(text, f"{name}.py", "exec") for name, text in modules.items()}

    def program(pyz: Path, name: str) -> Path:
        path = tmp_path / name
        CArchiveWriter(str(path), [("PYZ.pyz", str(pyz), False, "z")], "libpython3.so")
        return path

    pyz = tmp_path / "PYZ.pyz"
    entries = [(name, str(path), "PYMODULE") for name, path in sources.items()]
    ZlibArchiveWriter(str(pyz), entries, code_dict=code)
    assert check(program(pyz, "good")) == []

    _, offset, length = ZlibArchiveReader(str(pyz)).toc["second"]
    damaged = bytearray(pyz.read_bytes())
    damaged[offset + length // 2 : offset + length // 2 + 8] = b"\xff" * 8
    pyz.write_bytes(bytes(damaged))
    problems = check(program(pyz, "bad"))
    assert len(problems) == 1 and problems[0].startswith("bad: PYZ.pyz: second: ")
