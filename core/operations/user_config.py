"""The per-user list of projects the installed service serves: ``service.toml``.

::

    projects = ["/home/ada/models/churn", "/home/ada/models/penguins"]

It lives in the user's configuration folder: ``$XDG_CONFIG_HOME/shipway/service.toml`` on Linux
(``~/.config`` when the variable is unset or not absolute), ``~/Library/Application
Support/Shipway/service.toml`` on macOS, ``%APPDATA%\\Shipway\\service.toml`` on Windows.
``shipway service install`` adds a project (creating the file), ``shipway service uninstall``
removes one; ``shipway service run --all-projects`` reads it. Entries are absolute folders;
other keys and comments are kept when the list is rewritten (tomlkit), and the new text
replaces the file in one rename. A file that cannot be read names its line.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from core.errors import ShipwayError

CONFIG_NAME = "service.toml"
_AT_LINE = re.compile(r"at line (\d+)")


class ServiceConfigError(ShipwayError, code="service_config"):
    """The per-user list of the service's projects cannot be used as written."""


def home(env: Mapping[str, str]) -> Path:
    """The user's home folder as ``env`` names it."""
    given = env.get("HOME") or env.get("USERPROFILE")
    return Path(given) if given else Path.home()


def config_file(platform: str = sys.platform, env: Mapping[str, str] | None = None) -> Path:
    """Where ``service.toml`` is for this user on ``platform``."""
    env = os.environ if env is None else env
    if platform == "win32":
        appdata = env.get("APPDATA")
        base = Path(appdata) if appdata else home(env) / "AppData" / "Roaming"
        return base / "Shipway" / CONFIG_NAME
    if platform == "darwin":
        return home(env) / "Library" / "Application Support" / "Shipway" / CONFIG_NAME
    return xdg_config_home(env) / "shipway" / CONFIG_NAME


def xdg_config_home(env: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME`` when it is an absolute path (the XDG rule), else ``~/.config``."""
    given = env.get("XDG_CONFIG_HOME", "")
    return Path(given) if os.path.isabs(given) else home(env) / ".config"


def read_projects(path: Path) -> tuple[Path, ...]:
    """The listed projects, in order, without repeats; none when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError) as error:
        raise ServiceConfigError(
            f"the service's project list cannot be read: {error}",
            where=str(path),
            hint="fix the file's permissions or encoding (UTF-8)",
        ) from error
    return _projects(_parse(text, path), text, path)


def _parse(text: str, path: Path) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _AT_LINE.search(str(error))
        where = f"{path} line {found.group(1)}" if found else str(path)
        raise ServiceConfigError(
            f"the service's project list is not valid TOML: {error}",
            where=where,
            hint='write it as projects = ["/path/to/project", …], or delete the file and run '
            "`shipway service install` in each project again",
        ) from error


def _projects(document: dict, text: str, path: Path) -> tuple[Path, ...]:
    value = document.get("projects", [])
    line = next(
        (n for n, row in enumerate(text.splitlines(), 1) if re.match(r"\s*projects\s*=", row)),
        None,
    )
    where = f"{path} line {line}" if line else str(path)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ServiceConfigError(
            "`projects` must be a list of folder paths (strings)",
            where=where,
            hint='write it as projects = ["/path/to/project", …]',
        )
    relative = [v for v in value if not os.path.isabs(os.path.expanduser(v))]
    if relative:
        raise ServiceConfigError(
            f"`projects` lists a relative path: {relative[0]!r}",
            where=where,
            hint="write each project as an absolute folder path",
        )
    found = (Path(os.path.expanduser(v)) for v in value)
    return tuple(dict.fromkeys(found))


def write_projects(path: Path, projects: Iterable[Path]) -> None:
    """Replace the list in ``path`` (created with its folder when missing), keeping every other
    key and comment."""
    import tomlkit

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        document = tomlkit.document()
        document.add(tomlkit.comment("Projects served by `shipway service run --all-projects`."))
        document.add(tomlkit.comment("`shipway service install` / `uninstall` edit this list."))
    listed = tomlkit.array()
    listed.extend(str(p) for p in projects)
    listed.multiline(True)
    document["projects"] = listed
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(tomlkit.dumps(document), encoding="utf-8")
    os.replace(temporary, path)
