"""Read back every entry of the archives PyInstaller embedded in the app's programs.

The one-folder app keeps its Python modules in a PYZ archive inside each program (``shipway``,
``shipway-desktop``). A build once produced a program whose archive held an entry that would not
decompress ("unknown compression method"): the program started, then failed on the first import
of that module, which ``shipway --version`` never reaches. This check opens each program's
archive with PyInstaller's own readers and decompresses and unmarshals every module, so such a
build is caught before it is packaged (about a second a program); ``build.py`` then builds once
more from a clean cache and gives up with the problems listed if that fails too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def archive_problems(program: Path) -> list[str]:
    """What cannot be read back from ``program``'s embedded archives (empty: all of it reads)."""
    from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader

    try:
        outer = CArchiveReader(str(program))
    except Exception as exc:  # any failure to open it is the finding
        return [f"{program.name}: its archive cannot be opened ({exc})"]
    problems = []
    for name in list(outer.toc):
        try:
            data = outer.extract(name)
        except Exception as exc:
            problems.append(f"{program.name}: {name}: {type(exc).__name__}: {exc}")
            continue
        if name.endswith(".pyz") and data is not None:
            problems += _pyz_problems(program.name, name, data, ZlibArchiveReader)
    return problems


def _pyz_problems(program: str, name: str, data: bytes, reader: type) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="shipway-pyz-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        pyz = reader(str(path))
        problems = []
        for module in list(pyz.toc):
            try:
                pyz.extract(module)
            except Exception as exc:
                problems.append(f"{program}: {name}: {module}: {type(exc).__name__}: {exc}")
        return problems


def app_problems(app: Path, programs: tuple[str, ...]) -> list[str]:
    """:func:`archive_problems` of each program of the one-folder ``app``."""
    return [problem for name in programs for problem in archive_problems(app / name)]
