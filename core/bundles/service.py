"""The bundles floor's service: exporting, verifying, extracting and serving bundles.

Reached as ``workspace.bundles``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.bundles import safe_zip, signing
from core.bundles.verify import BundleReport, verify, verify_snapshot
from core.entities import Deployment
from core.project import DEPLOYMENTS_DIR, Project
from core.registry.service import RegistryService

TRUST_HINT = (
    "its model file is a pickle, and loading a pickle runs code from whoever made the bundle: "
    "add --trust only if you trust them"
)


@dataclass(frozen=True)
class ExportedBundle:
    path: str
    sha256: str
    model: str
    version: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BundlesService:
    """The bundles of one project's model versions."""

    def __init__(self, project: Project, registry: RegistryService) -> None:
        self._project = project
        self._registry = registry

    def export(self, ref: str, output: Path | str) -> ExportedBundle:
        from core.bundles.export import export_bundle

        version = self._registry.version(ref)
        path, sha256 = export_bundle(self._project, version, Path(output))
        return ExportedBundle(str(path), sha256, version.model, version.version)

    def verify(self, path: Path | str) -> BundleReport:
        """Layout, manifest, hashes and signature; unsafe archives raise BundleRefused."""
        return verify(Path(path), signing.load_key(self._project.root))

    def extract(self, path: Path | str, folder: Path | str, trust: bool = False) -> Path:
        """Unpack a verified bundle into a new ``folder`` (all or nothing)."""
        with safe_zip.snapshot(Path(path)) as source:
            report = self._trusted(source, trust)
            return safe_zip.extract(source, list(report.entries), Path(folder), report.digests)

    def serve(
        self,
        path: Path | str,
        *,
        trust: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        on_ready: Callable[[Deployment], Any] | None = None,
        stop: threading.Event | None = None,
    ) -> Deployment:
        """Verify, unpack into deployments/ID/bundle and serve it in the foreground.

        The model is unpickled only after every hash has been checked, from the files
        extracted out of the same private copy that was verified.
        """
        from core.deploy import foreground, manager

        manager.check_address(host, port, token)
        deployment_id = secrets.token_hex(4)
        folder = self._project.root / DEPLOYMENTS_DIR / deployment_id
        with safe_zip.snapshot(Path(path)) as source:
            report = self._trusted(source, trust)
            entries = list(report.entries)
            bundle = safe_zip.extract(source, entries, folder / "bundle", report.digests)
        what = foreground.Foreground(
            deployment_id,
            folder,
            bundle / "model",
            str(report.manifest["name"]),
            int(report.manifest["version"]),
        )
        return foreground.run(
            self._project, what, host=host, port=port, token=token, on_ready=on_ready, stop=stop
        )

    def _trusted(self, source: safe_zip.Snapshot, trust: bool) -> BundleReport:
        report = verify_snapshot(source, signing.load_key(self._project.root))
        path = source.origin
        if not report.ok:
            raise safe_zip.BundleRefused(
                f"the bundle failed verification: {'; '.join(report.problems[:3])}",
                where=str(path),
                hint="`shipway bundle verify` lists every problem; export it again",
                details=[{"problem": problem} for problem in report.problems],
            )
        if report.signed != "this project" and not trust:
            origin = "unsigned" if report.signed == "unsigned" else "signed by another project"
            raise safe_zip.BundleRefused(
                f"the bundle is {origin}",
                where=str(path),
                hint=TRUST_HINT,
            )
        return report
