"""Where ``shipway k8s``, ``grafana`` and ``alerts-rules`` take a version's facts from.

``M@V`` (or ``M@alias``): the registry's version, measured now where its training run recorded
no latency. ``FILE.zip``: a bundle's manifest, after verification (every file must match its
hash; the signature does not matter, nothing of the bundle is run): the facts its export
measured, and the image it was exported for.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.bundles.handoff import HandoffFacts, facts_for
from core.errors import InvalidInput
from core.project import Project
from core.registry.service import RegistryService


@dataclass(frozen=True)
class HandoffSource:
    """The facts of one served version, and the image its files name by default."""

    facts: HandoffFacts
    image: str
    origin: str  # "M@V" or the bundle's path

    def k8s(self, image: str | None = None) -> dict[str, bytes]:
        from core.bundles.k8s import manifests

        return manifests(self.facts, image or self.image)

    def dashboard(self) -> bytes:
        from core.bundles.grafana import dashboard_bytes

        return dashboard_bytes(self.facts)

    def rules(self) -> bytes:
        from core.bundles.alert_rules import rules_bytes

        return rules_bytes(self.facts)


def handoff_source(
    project: Project, registry: RegistryService, source: str, verify: Callable
) -> HandoffSource:
    path = Path(source)
    if source.lower().endswith(".zip") or path.is_file():
        return _from_bundle(path, verify)
    if "@" not in source:
        raise InvalidInput(
            f"{source!r} is neither a model version (M@V) nor a bundle file",
            where=source,
            hint="give M@V, M@alias, or the path of a bundle exported by `shipway bundle export`",
        )
    version = registry.version(source)
    with tempfile.TemporaryDirectory(prefix="shipway-handoff-") as scratch:
        from core.bundles.onnx_bundle import CheckRows
        from core.registry.artifacts import write_model_dir

        model_dir = write_model_dir(project, version, Path(scratch) / "model")
        facts = facts_for(project, version, model_dir, "joblib", CheckRows(project, version))
    return HandoffSource(facts, facts.image, version.ref)


def _from_bundle(path: Path, verify: Callable) -> HandoffSource:
    if not path.is_file():
        raise InvalidInput(f"no bundle at {path}", where=str(path))
    report = verify(path)
    if not report.ok:
        raise InvalidInput(
            f"the bundle failed verification: {'; '.join(report.problems[:3])}",
            where=str(path),
            hint="`shipway bundle verify` lists every problem; export it again",
        )
    handoff = report.manifest.get("handoff")
    if not isinstance(handoff, dict):
        raise InvalidInput(
            "the bundle has no hand-off facts (it was exported before they existed)",
            where=str(path),
            hint="export it again, or name the version (M@V) instead of the bundle",
        )
    facts = HandoffFacts.from_dict(handoff.get("facts"), str(path))
    image = handoff.get("image") if isinstance(handoff.get("image"), str) else facts.image
    return HandoffSource(facts, image, str(path))
