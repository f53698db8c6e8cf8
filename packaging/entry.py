"""The frozen app's one entry point, behind both executables ``shipway`` and ``shipway-desktop``.

A frozen app has no Python interpreter to run ``python -m ...`` or ``python -c ...``: every child
process the engine, multiprocessing or joblib starts with ``sys.executable`` comes back here, so
this script decides what the process is before anything else happens:

1. ``multiprocessing.freeze_support()`` (first, in ``__main__``): spawned worker processes
   (``--multiprocessing-fork``) and multiprocessing's resource tracker run and exit there.
2. Known child command lines run instead of the app:

   - ``-m core.serving ARGS``: a deployment's server (``core.deploy.manager``),
   - ``-m core.registry.smoke DIR``: the smoke-test gate's fresh process,
   - ``-m core.cli ARGS`` and ``-m desktop.app ARGS``: the CLI and the app by name,
   - ``-m joblib.externals.loky.backend.popen_loky_posix --process-name N --pipe FD``: a loky
     worker (loky has no frozen support of its own),
   - ``[FLAGS] -c "from joblib.externals.loky.backend.resource_tracker import main; main(FD, V)"``:
     loky's resource tracker,
   - on Windows, ``--multiprocessing-fork HANDLE``: a loky worker there (checked before
     ``freeze_support``, which cannot parse that form).

3. Otherwise the executable's name: ``shipway`` is the CLI, ``shipway-desktop`` the app.

Anything else that looks like an interpreter command line (``-m`` with another module, ``-c``
with other code, an unknown executable name) exits with status 2 and one line on stderr, so a
mis-dispatched child fails instead of opening a second window.

``shipway --frozen-self-test`` (frozen CLI only) starts a loky pool and a spawn worker, to prove
that worker processes start in the frozen app, and prints ``workers ok``.
"""

import multiprocessing
import os
import re
import sys
from pathlib import Path

CLI = "core.cli"
DESKTOP = "desktop.app"
CHILD_MODULES = (
    "core.serving",
    "core.registry.smoke",
    CLI,
    DESKTOP,
    "joblib.externals.loky.backend.popen_loky_posix",
)
LOKY_TRACKER = re.compile(
    r"from joblib\.externals\.loky\.backend\.resource_tracker import main; "
    r"main\((\d+), (True|False|0|1)\)"
)
EXECUTABLES = {"shipway": CLI, "shipway-desktop": DESKTOP}
PROJECT_FILE = "shipway.toml"
PROJECT_SUFFIX = ".shipway"
SELF_TEST = "--frozen-self-test"


class Refused(Exception):
    """A command line this executable will not run (exit status 2)."""


def interpreter_flags() -> list[str]:
    """The flags a child gets before ``-c`` (as multiprocessing and loky compute them)."""
    import subprocess

    return subprocess._args_from_interpreter_flags()


def plan(
    argv: list[str], flags: list[str] | None = None, executable: str | None = None
) -> tuple[str, str, list[str]]:
    """What to run for ``argv``: ``("module", NAME, ARGS)``, ``("tracker", FD, [VERBOSE])``
    or ``("self-test", "", [])``. Raises :class:`Refused` for anything else.

    The executable's name is the name it was started by (``argv[0]``: a link's own name), else
    that of the file itself (``sys.executable``), so a link with another name still works."""
    args = argv[1:]
    if args[:1] == ["-m"]:
        if len(args) < 2 or args[1] not in CHILD_MODULES:
            shown = args[1] if len(args) > 1 else ""
            raise Refused(f"refusing to run module {shown!r}: not one of Shipway's own")
        module, rest = args[1], args[2:]
        if module == "core.registry.smoke" and (len(rest) != 1 or not Path(rest[0]).is_dir()):
            raise Refused("core.registry.smoke takes exactly one model directory")
        return "module", module, rest
    index = args.index("-c") if "-c" in args else -1
    if index >= 0 and all(arg.startswith("-") for arg in args[:index]):  # [FLAGS] -c CODE
        known = interpreter_flags() if flags is None else flags
        code = args[index + 1] if len(args) > index + 1 else ""
        match = LOKY_TRACKER.fullmatch(code)
        if set(args[:index]) != set(known) or not match or args[index + 2 :]:
            raise Refused("refusing to run -c code: only loky's resource tracker is known")
        return "tracker", match.group(1), [match.group(2)]
    names = [executable_name(path) for path in (argv[0], executable or sys.executable)]
    name = next((name for name in names if name in EXECUTABLES), None)
    if name is None:
        raise Refused(f"unknown executable name {names[0]!r}: expected shipway or shipway-desktop")
    if name == "shipway" and args == [SELF_TEST]:
        return "self-test", "", []
    return "module", EXECUTABLES[name], args


def executable_name(path: str) -> str:
    """``shipway`` or ``shipway-desktop`` from a path, whatever the platform adds."""
    name = re.split(r"[\\/]", path)[-1].lower()
    return name[: -len(".exe")] if name.endswith(".exe") else name


def project_folders(args: list[str]) -> list[str]:
    """Opening ``shipway.toml`` or ``NAME.shipway`` (a file manager's double-click) opens the
    project folder holding it."""
    result = []
    for arg in args:
        path = Path(arg)
        is_project_file = path.name == PROJECT_FILE or path.suffix == PROJECT_SUFFIX
        if not arg.startswith("-") and is_project_file and path.is_file():
            arg = str(path.resolve().parent)
        result.append(arg)
    return result


def run(argv0: str, module: str, args: list[str]) -> int:
    """The CLI and the app are called directly, with ``sys.argv[0]`` left as started (Qt names
    the window's class after it); engine children run as ``python -m module args`` would."""
    if module == CLI:
        from core.cli import main as cli

        sys.argv = [argv0, *args]
        return cli(args)
    if module == DESKTOP:
        from desktop.app import main as desktop

        args = project_folders(args)
        sys.argv = [argv0, *args]
        return desktop(args)
    return run_module(module, args)


def run_module(module: str, args: list[str]) -> int:
    """Run ``module`` as ``python -m module args`` would."""
    import runpy

    sys.argv = [sys.executable, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        return _exit_code(stop.code)
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_tracker(fd: str, verbose: str) -> int:
    from joblib.externals.loky.backend.resource_tracker import main as tracker

    tracker(int(fd), verbose in ("True", "1"))
    return 0


def self_test() -> int:
    """Start a loky pool (workers and resource tracker) and a spawn worker, then stop them."""
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    values = Parallel(n_jobs=2, backend="loky")(delayed(abs)(-i) for i in range(4))
    get_reusable_executor().shutdown(wait=True, kill_workers=True)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        child = pool.apply(os.getpid)
    ok = values == [0, 1, 2, 3] and child != os.getpid()
    print("workers ok" if ok else f"workers FAILED: {values} {child}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    sys.dont_write_bytecode = True  # never leave __pycache__ folders inside the installed app
    try:
        kind, target, args = plan(argv)
    except Refused as refusal:
        print(f"shipway: {refusal}", file=sys.stderr)
        return 2
    if kind == "tracker":
        return run_tracker(target, args[0])
    if kind == "self-test":
        return self_test()
    return run(argv[0], target, args)


def is_loky_windows_worker(argv: list[str], platform: str = sys.platform) -> bool:
    """loky's frozen Windows worker: ``EXE --multiprocessing-fork HANDLE``, a form that
    PyInstaller's ``freeze_support`` cannot parse (it expects ``name=value`` pairs)."""
    return (
        platform == "win32"
        and len(argv) == 3
        and argv[1] == "--multiprocessing-fork"
        and (argv[2].isdigit())
    )


def run_loky_windows_worker(argv: list[str]) -> int:  # pragma: no cover - Windows only
    from joblib.externals.loky.backend.popen_loky_win32 import main as worker

    worker(int(argv[2]))
    return 0


if __name__ == "__main__":
    if is_loky_windows_worker(sys.argv):  # checked first: freeze_support would fail on it
        sys.exit(run_loky_windows_worker(sys.argv))
    multiprocessing.freeze_support()
    sys.exit(main())
