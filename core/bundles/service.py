"""The bundles floor's service: exporting, verifying, extracting and serving bundles.

Reached as ``workspace.bundles``.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Unpack

from core.bundles import safe_zip, signing
from core.bundles.ci import Recipe
from core.bundles.handoff_source import HandoffSource
from core.bundles.verify import BundleReport, verify, verify_snapshot
from core.deploy import foreground
from core.entities import Deployment
from core.errors import Conflict, InvalidInput
from core.project import DEPLOYMENTS_DIR
from core.registry.service import ModelVersionsService

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


class BundlesService(ModelVersionsService):
    """The bundles of one project's model versions."""

    def export(
        self,
        ref: str,
        output: Path | str,
        *,
        model_format: str = "joblib",
        with_wheels: bool = False,
        platforms: list[str] | None = None,
        python: str | None = None,
        image: str | None = None,
    ) -> ExportedBundle:
        """Write a version's bundle.

        ``model_format`` "onnx" makes it pickle-free (refused when the graph would answer
        differently); ``with_wheels`` vendors the wheels of its requirements for ``platforms``
        and ``python`` (default: Linux glibc 2.36 on this machine's architecture, and the Python
        the model was trained with); ``image`` names the image in the Kubernetes manifests
        (default ``name:version``).
        """
        from core.bundles.export import FORMATS, ExportOptions, export_bundle
        from core.bundles.handoff import trained_python
        from core.bundles.wheels import target

        if model_format not in FORMATS:
            raise InvalidInput(
                f"unknown bundle format {model_format!r}",
                where="--format",
                hint=f"one of {', '.join(FORMATS)}",
            )
        if (platforms or python) and not with_wheels:
            raise InvalidInput(
                "--platform and --python-version choose the wheels' target",
                hint="add --with-wheels",
            )
        version = self._registry.version(ref)
        wheels = target(platforms, python or trained_python(version)) if with_wheels else None
        options = ExportOptions(model_format=model_format, wheels=wheels, image=image)
        path, sha256 = export_bundle(self._project, version, Path(output), options)
        return ExportedBundle(str(path), sha256, version.model, version.version)

    def handoff(self, source: str) -> HandoffSource:
        """The hand-off facts of ``M@V`` (measured now where unknown) or of a bundle's manifest
        (the bundle is verified first: its files must match their hashes)."""
        from core.bundles.handoff_source import handoff_source

        return handoff_source(self._project, self._registry, source, self.verify)

    def ci_pipeline(
        self,
        provider: str,
        *,
        model: str | None = None,
        data_file: str | None = None,
        repo_root: Path | str | None = None,
        output: Path | str | None = None,
        force: bool = False,
    ) -> tuple[Path, Recipe]:
        """Write the CI pipeline of ``model``'s latest version (the only model, when not
        named): its file at ``output`` (default: the provider's usual place in ``repo_root``,
        itself by default the project folder); an existing file only with ``force``."""
        from core.bundles.ci import DEFAULT_OUTPUT, pipeline, recipe_for

        if provider not in DEFAULT_OUTPUT:
            raise InvalidInput(
                f"unknown CI provider {provider!r}", where="--provider", hint="github or gitlab"
            )
        if model is None:
            names = [m.name for m in self._registry.models()]
            if len(names) != 1:
                raise InvalidInput(
                    f"the project has {len(names)} models: say which one the pipeline retrains",
                    hint="add --model NAME" + (f" (one of {', '.join(names)})" if names else ""),
                )
            model = names[0]
        root = Path(repo_root) if repo_root else self._project.root
        target = Path(output) if output else root / DEFAULT_OUTPUT[provider]
        if target.exists() and not force:
            raise Conflict(
                f"{target} exists",
                where=str(target),
                hint="add --force to replace it, or -o another file",
            )
        recipe = recipe_for(self._project, self._registry.version(model), data_file, root)
        relative = (
            target.resolve().relative_to(root.resolve()).as_posix()
            if target.resolve().is_relative_to(root.resolve())
            else target.name
        )
        text = pipeline(provider, recipe, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self._project.repo.record_event(
            "ci.init", "model", model, path=str(target), provider=provider
        )
        return target, recipe

    def verify(self, path: Path | str) -> BundleReport:
        """Layout, manifest, hashes and signature; unsafe archives raise BundleRefused."""
        return verify(Path(path), signing.load_key(self._project.root))

    def extract(self, path: Path | str, folder: Path | str, trust: bool = False) -> Path:
        """Unpack a verified bundle into a new ``folder`` (all or nothing)."""
        with safe_zip.snapshot(Path(path)) as source:
            report = self._trusted(source, trust)
            return safe_zip.extract(source, list(report.entries), Path(folder), report.digests)

    def serve(
        self, path: Path | str, *, trust: bool = False, **options: Unpack[foreground.ServeOptions]
    ) -> Deployment:
        """Verify, unpack into deployments/ID/bundle and serve it in the foreground.

        The model is unpickled only after every hash has been checked, from the files
        extracted out of the same private copy that was verified.
        """

        def prepare() -> foreground.Foreground:
            deployment_id = secrets.token_hex(4)
            folder = self._project.root / DEPLOYMENTS_DIR / deployment_id
            with safe_zip.snapshot(Path(path)) as source:
                report = self._trusted(source, trust)
                entries = list(report.entries)
                bundle = safe_zip.extract(source, entries, folder / "bundle", report.digests)
            return foreground.Foreground(
                deployment_id,
                folder,
                bundle / "model",
                str(report.manifest["name"]),
                int(report.manifest["version"]),
            )

        return foreground.run(self._project, prepare, **options)

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
