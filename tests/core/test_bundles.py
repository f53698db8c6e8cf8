"""Bundles: deterministic export, verification, signatures, and hostile archives refused with
nothing written (a canary file beside the target must stay untouched)."""

from __future__ import annotations

import json
import shutil
import stat
import threading
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.bundles import safe_zip
from core.bundles.safe_zip import BundleRefused
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bundles")
    root = base / "penguins"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "penguins")
        ws.bundles.export("penguins@1", base / "penguins-1.zip")
    return root, base / "penguins-1.zip"


@pytest.fixture
def ws(exported: tuple[Path, Path], tmp_path: Path) -> Iterator[Workspace]:
    copy = tmp_path / "project"
    shutil.copytree(exported[0], copy)
    workspace = Workspace.open(copy)
    yield workspace
    workspace.close()


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(target: Path, files: dict[str, bytes], extra: Callable | None = None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        if extra is not None:
            extra(archive)
    # zipfile cuts names at NUL when writing; put one in the raw headers instead
    target.write_bytes(target.read_bytes().replace(b"evil#nul.txt", b"evil\x00nul.txt"))
    return target


def test_export_is_deterministic_and_verifies(ws: Workspace, tmp_path: Path) -> None:
    first = ws.bundles.export("penguins@1", tmp_path / "a.zip")
    second = ws.bundles.export("penguins@1", tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert first.sha256 == second.sha256
    report = ws.bundles.verify(tmp_path / "a.zip")
    assert report.ok and report.signed == "this project" and report.problems == ()
    files = entries(tmp_path / "a.zip")
    manifest = json.loads(files["manifest.json"])
    assert set(manifest["files"]) == set(files) - {"manifest.json", "signature.json"}
    assert manifest["lineage"]["run"] == 1 and manifest["name"] == "penguins"
    assert "scikit-learn" in manifest["requirements"] and "flask" in manifest["requirements"]
    assert b"HEALTHCHECK" in files["Dockerfile"] and b"USER shipway" in files["Dockerfile"]
    for way in (b"pip install -r requirements.txt", b"docker run", b"shipway serve"):
        assert way in files["README.md"]
    requirements = files["requirements.txt"].decode()
    assert all("==" in line for line in requirements.splitlines() if line and line[0] != "#")
    assert ws.project.audit(action="bundle.export")[0].object_ref == "penguins@1"


def test_a_bundle_from_elsewhere_is_another_project_or_unsigned(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path
) -> None:
    (ws.root / "keys" / "bundle.key").write_text("00" * 32)  # a different project key
    assert ws.bundles.verify(exported[1]).signed == "another project"
    files = entries(exported[1])
    del files["signature.json"]
    unsigned = rezip(tmp_path / "unsigned.zip", files)
    report = ws.bundles.verify(unsigned)
    assert report.ok and report.signed == "unsigned"
    with pytest.raises(BundleRefused, match="unsigned") as caught:
        ws.bundles.extract(unsigned, tmp_path / "out")
    assert "--trust" in caught.value.hint
    assert ws.bundles.extract(unsigned, tmp_path / "out", trust=True).is_dir()


def test_a_changed_manifest_breaks_the_signature(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path
) -> None:
    files = entries(exported[1])
    manifest = json.loads(files["manifest.json"])
    manifest["metrics"]["f1"] = 1.0
    files["manifest.json"] = json.dumps(manifest).encode()
    report = ws.bundles.verify(rezip(tmp_path / "forged.zip", files))
    assert not report.ok and "signature does not match" in report.problems[-1]


def test_serving_a_bundle_answers_and_is_recorded(
    ws: Workspace, exported: tuple[Path, Path]
) -> None:
    stop = threading.Event()
    ready: list = []
    server = threading.Thread(
        target=lambda: ws.bundles.serve(exported[1], on_ready=ready.append, stop=stop)
    )
    server.start()
    try:
        for _ in range(200):
            if ready:
                break
            threading.Event().wait(0.05)
        with urllib.request.urlopen(f"{ready[0].url}/health", timeout=5) as answer:
            assert json.loads(answer.read())["model"] == "penguins"
        assert ws.deployments.get(ready[0].id).kind == "foreground"
    finally:
        stop.set()
        server.join(30)
    assert ws.deployments.get(ready[0].id).status == "stopped"


# -- hostile and broken archives ------------------------------------------------------------


def _link(archive: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("model/evil-link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive.writestr(info, "/etc/passwd")


def _duplicate(archive: zipfile.ZipFile) -> None:
    with pytest.warns(UserWarning):
        archive.writestr("README.md", b"second copy")


HOSTILE: dict[str, tuple[Callable[[dict], dict], Callable | None, str]] = {
    "parent folder": (lambda f: f | {"../evil.txt": b"x"}, None, "leaves the bundle"),
    "absolute path": (lambda f: f | {"/tmp/evil.txt": b"x"}, None, "absolute path"),
    "drive letter": (lambda f: f | {"C:/evil.txt": b"x"}, None, "drive letter"),
    "backslash": (lambda f: f | {"..\\evil.txt": b"x"}, None, "backslash"),
    "NUL byte": (lambda f: f | {"evil#nul.txt": b"x"}, None, "NUL"),
    "link": (lambda f: f, _link, "link"),
    "duplicate": (lambda f: f, _duplicate, "appears twice"),
    "case collision": (lambda f: f | {"readme.md": b"x"}, None, "collides"),
    "compression bomb": (lambda f: f | {"model/zeros": bytes(20_000_000)}, None, "100:1"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_and_write_nothing(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path, case: str
) -> None:
    change, extra, message = HOSTILE[case]
    files = change(entries(exported[1]))
    archive = rezip(tmp_path / "hostile.zip", files, extra)
    canary = tmp_path / "canary.txt"
    canary.write_text("untouched")
    target = tmp_path / "out" / "bundle"
    before = sorted(tmp_path.rglob("*"))
    for attempt in (
        lambda: ws.bundles.verify(archive),
        lambda: ws.bundles.extract(archive, target, trust=True),
        lambda: ws.bundles.serve(archive, trust=True, stop=threading.Event()),
    ):
        with pytest.raises(BundleRefused, match=message) as caught:
            attempt()
        assert "hostile.zip" in caught.value.where
    assert canary.read_text() == "untouched"
    assert sorted(tmp_path.rglob("*")) == before
    assert not list((ws.root / "deployments").iterdir()) and ws.deployments.list() == []
    assert not (tmp_path.parent / "evil.txt").exists()


def test_an_archive_over_the_size_limit_is_refused(exported: tuple[Path, Path]) -> None:
    with (
        safe_zip.snapshot(exported[1]) as source,
        pytest.raises(BundleRefused, match="unpacks to over 1,000 bytes"),
    ):
        safe_zip.inspect(source, max_total=1000)


BROKEN: dict[str, tuple[Callable[[dict], dict], str]] = {
    "extra file": (lambda f: f | {"model/extra.py": b"print(1)"}, "not in the manifest"),
    "missing file": (
        lambda f: {k: v for k, v in f.items() if k != "model/model.json"},
        "in the manifest but not in the archive",
    ),
    "changed model": (
        lambda f: f | {"model/model.joblib": f["model/model.joblib"][:-1] + b"\x00"},
        "does not match its sha256",
    ),
    "manifest names code": (
        lambda f: (
            f
            | {
                "manifest.json": json.dumps(
                    json.loads(f["manifest.json"]) | {"entrypoint": "os:system"}
                ).encode()
            }
        ),
        "unknown key 'entrypoint'",
    ),
    "not json": (lambda f: f | {"manifest.json": b"{nope"}, "not JSON"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_bundles_fail_verification_and_are_not_served(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path, case: str
) -> None:
    change, message = BROKEN[case]
    archive = rezip(tmp_path / "broken.zip", change(entries(exported[1])))
    report = ws.bundles.verify(archive)
    assert not report.ok and any(message in problem for problem in report.problems)
    target = tmp_path / "out"
    with pytest.raises(BundleRefused, match="failed verification"):
        ws.bundles.extract(archive, target, trust=True)
    with pytest.raises(BundleRefused, match="failed verification"):
        ws.bundles.serve(archive, trust=True, stop=threading.Event())
    assert not target.exists() and ws.deployments.list() == []


def test_a_nested_code_key_is_refused(ws: Workspace, exported: tuple[Path, Path], tmp_path: Path):
    files = entries(exported[1])
    manifest = json.loads(files["manifest.json"])
    manifest["lineage"]["loader"] = {"module": "pickle", "callable": "loads"}
    files["manifest.json"] = json.dumps(manifest).encode()
    report = ws.bundles.verify(rezip(tmp_path / "code.zip", files))
    assert any("names code: lineage.loader" in problem for problem in report.problems)


def test_a_bundle_ships_the_serving_modules_it_needs_and_no_others() -> None:
    """Every module the bundled ones import is bundled too; the host-only reader is not."""
    import ast

    from core.bundles.export import BUNDLED_SERVING_MODULES, SERVING_SOURCE

    shipped = set(BUNDLED_SERVING_MODULES)
    assert "logreader" not in shipped
    for name in shipped:
        tree = ast.parse((SERVING_SOURCE / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core"):
                parts = node.module.split(".")
                assert parts[:2] == ["core", "serving"], (name, node.module)
                wanted = parts[2:3] or [alias.name for alias in node.names]
                assert set(wanted) <= shipped, (name, node.module, wanted)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("core.") for a in node.names), name
