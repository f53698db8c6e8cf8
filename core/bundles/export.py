"""Writing a bundle: the model directory, the serving package, serve.py, pinned requirements, a
Dockerfile, the model card, a README, the hand-off files (Kubernetes manifests, a Grafana
dashboard, Prometheus rules) and a signed manifest, as one deterministic zip.

Deterministic: entries in name order, fixed time stamps and permissions, the manifest written
with sorted keys and the version's own registration time, so exporting a version twice gives
byte-identical archives (as long as its record, e.g. its gate results, has not changed). Two
things measured at export are not fixed: the single-row latency of an ONNX graph (or of a
version whose run recorded none), from which the manifests' resources come, and the wheels
``--with-wheels`` downloads (the newest releases of the unpinned dependencies).

``model_format="onnx"`` serves the pipeline as an ONNX graph (:mod:`core.bundles.onnx_bundle`):
the bundle holds ``model/model.onnx`` and no pickle, and its requirements name onnxruntime
instead of scikit-learn, scipy and joblib.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from core.bundles import alert_rules, grafana, k8s, layout, signing
from core.bundles.handoff import HandoffFacts, facts_for
from core.bundles.wheels import WheelTarget
from core.entities import GateEvaluation, ModelVersion
from core.project import Project

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FORMATS = ("joblib", "onnx")
MODEL_PACKAGES = {
    "joblib": ("scikit-learn", "numpy", "pandas", "scipy", "joblib"),
    "onnx": ("numpy", "pandas"),
}
SERVING_PACKAGES = {
    "joblib": ("flask", "waitress", "orjson"),
    "onnx": ("flask", "waitress", "orjson", "onnxruntime"),
}
WHEELS_DIR = "wheels"
#: What ``--trust`` means for the bundle's model file, in its README.
TRUST_NOTES = {
    "joblib": "The model file is a pickle, and loading a pickle runs code from whoever made "
    "the bundle: give `--trust` only for bundles from people you trust",
    "onnx": "The model file is an ONNX graph, not a pickle: serving it runs no code from whoever "
    "made the bundle, but its answers are theirs: give `--trust` only for models you trust",
}
SERVING_SOURCE = Path(__file__).resolve().parents[1] / "serving"
#: The modules of core.serving a bundle's server needs, and nothing else (the prediction log's
#: reader, for one, is the host's: a bundle only writes its log). A test checks that these
#: import nothing outside the list.
BUNDLED_SERVING_MODULES = (
    "__init__", "__main__", "app", "body", "challenger", "challenger_runtime", "command",
    "contract", "drift_reference",
    "drift_window", "encoding", "errors", "explain", "explain_columns", "explainers", "fastjson",
    "fastprep",
    "forests", "forms", "frames", "guard", "live_metric", "metrics", "missing", "mlflow_contract",
    "model", "onnx_model", "openapi", "predlog", "process_metrics", "processes", "reference_blob",
    "request_ids", "restarts", "routes", "scoring", "server", "settings", "shared_metrics",
    "signals", "slot", "smoothing", "treeshap", "validation",
    "watch", "workers",
)  # fmt: skip


@dataclass(frozen=True)
class ExportOptions:
    """How a bundle is made: the model's format, wheels for an offline install, the image."""

    model_format: str = "joblib"  # "joblib" | "onnx"
    wheels: WheelTarget | None = None
    image: str | None = None  # the manifests' image (default: name:version)


def export_bundle(
    project: Project, version: ModelVersion, output: Path, options: ExportOptions | None = None
) -> tuple[Path, str]:
    """Write the bundle of ``version`` to ``output``; returns (path, sha256 of the zip)."""
    options = options or ExportOptions()
    if options.image:
        k8s.parse_image(options.image)  # a bad image name is refused before any work
    files, facts = _files(project, version, options)
    manifest = _manifest(project, version, files, facts, options)
    manifest_bytes = _json_bytes(manifest)
    files[layout.MANIFEST] = manifest_bytes
    key = signing.ensure_key(project.root)
    files[layout.SIGNATURE] = _json_bytes(signing.sign(key, manifest_bytes))
    data = _zip(files)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.part")
    temporary.write_bytes(data)
    temporary.replace(output)
    project.repo.record_event(
        "bundle.export",
        "model_version",
        version.ref,
        path=str(output),
        sha256=_sha(data),
        format=options.model_format,
        wheels=options.wheels is not None,
    )
    return output, _sha(data)


def _files(
    project: Project, version: ModelVersion, options: ExportOptions
) -> tuple[dict[str, bytes], HandoffFacts]:
    from core.bundles.onnx_bundle import CheckRows, onnx_model_dir
    from core.registry import card
    from core.registry.artifacts import write_model_dir

    files: dict[str, bytes] = {}
    requirements = _requirements(version, options.model_format)
    with tempfile.TemporaryDirectory(prefix="shipway-bundle-") as scratch:
        model_dir = write_model_dir(project, version, Path(scratch) / "model")
        rows = CheckRows(project, version)
        if options.model_format == "onnx":
            model_dir = onnx_model_dir(version, model_dir, Path(scratch) / "onnx", rows())
        for path in sorted(model_dir.iterdir()):
            files[f"{layout.MODEL_DIR}/{path.name}"] = path.read_bytes()
        facts = facts_for(project, version, model_dir, options.model_format, rows)
        if options.wheels is not None:
            from core.bundles.wheels import download

            for wheel in download(requirements, options.wheels, Path(scratch) / WHEELS_DIR):
                files[f"{WHEELS_DIR}/{wheel.name}"] = wheel.read_bytes()
    files.update(_serving_package())
    files.update(handoff_files(facts, options.image))
    values = _values(version, facts, options)
    files["serve.py"] = _template("serve.py")
    files["Dockerfile"] = _fill(_template("Dockerfile"), values)
    files["README.md"] = _fill(_template("README.md"), values)
    files["requirements.txt"] = requirements.encode()
    files["card.md"] = card.render(project, version, "markdown").encode()
    files["card.html"] = card.render(project, version, "html").encode()
    return files, facts


def handoff_files(facts: HandoffFacts, image: str | None = None) -> dict[str, bytes]:
    """The hand-off files of a bundle: ``k8s/`` and ``monitoring/``."""
    files = {f"k8s/{name}": data for name, data in k8s.manifests(facts, image).items()}
    files["monitoring/grafana-dashboard.json"] = grafana.dashboard_bytes(facts)
    files["monitoring/alert-rules.yaml"] = alert_rules.rules_bytes(facts)
    return files


def _values(version: ModelVersion, facts: HandoffFacts, options: ExportOptions) -> dict:
    copy, install = "COPY requirements.txt .", "pip install --no-cache-dir -r requirements.txt"
    if options.wheels is not None:
        copy += f"\nCOPY {WHEELS_DIR}/ {WHEELS_DIR}/"
        install = (
            f"pip install --no-cache-dir --no-index --find-links {WHEELS_DIR} -r requirements.txt"
        )
    onnx = options.model_format == "onnx"
    return {
        "name": version.model,
        "version": str(version.version),
        "image": options.image or facts.image,
        "python": facts.python,
        "archive": f"{_slug(version)}-{version.version}.zip",
        "summary": version.description or f"A {version.task} model of {version.target!r}.",
        "example": json.dumps({"records": [_example_row(version)]}),
        "copy_requirements": copy,
        "install": install,
        "model_file": "model.onnx, an ONNX graph (no pickle)" if onnx else "model.joblib",
        "trust_note": TRUST_NOTES["onnx" if onnx else "joblib"],
        "slug": facts.slug,
    }


def _manifest(
    project: Project,
    version: ModelVersion,
    files: dict[str, bytes],
    facts: HandoffFacts,
    options: ExportOptions,
) -> dict:
    evaluations = project.reviews.gate_evaluations(version.id)
    return {
        "format": layout.FORMAT,
        "name": version.model,
        "version": version.version,
        "created": version.created_at.isoformat(),
        "task": version.task,
        "input_schema": version.io_schema.get("inputs", []),
        "output": version.io_schema.get("output", {}),
        "metrics": version.metrics,
        "gates": _latest_per_alias(evaluations),
        "lineage": {
            "run": version.run_id,
            "dataset": version.dataset_ref,
            "dataset_sha256": version.dataset_sha256,
            "model_sha256": version.model_sha256,
            "trained_by": version.trained_by,
            "registered_by": version.created_by,
            "spec": version.spec,
        },
        "environment": version.environment,
        "requirements": _pins(version, options.model_format),
        "handoff": {
            "facts": facts.to_dict(),
            "image": options.image or facts.image,
            "wheels": None if options.wheels is None else options.wheels.to_dict(),
        },
        "files": {
            name: {"sha256": _sha(data), "size": len(data)} for name, data in sorted(files.items())
        },
    }


def _latest_per_alias(evaluations: list[GateEvaluation]) -> list[dict[str, Any]]:
    latest: dict[str, GateEvaluation] = {}
    for evaluation in evaluations:  # newest first
        latest.setdefault(evaluation.alias, evaluation)
    return [latest[alias].to_dict() for alias in sorted(latest)]


def _pins(version: ModelVersion, model_format: str = "joblib") -> dict[str, str]:
    """The versions the model was trained with, plus this Shipway's serving libraries (for an
    ONNX bundle: numpy and pandas as trained, onnxruntime as the graph was checked with)."""
    trained = version.environment.get("packages", {})
    pins = {name: trained[name] for name in MODEL_PACKAGES[model_format] if trained.get(name)}
    for name in SERVING_PACKAGES[model_format]:
        try:
            pins[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return pins


def _requirements(version: ModelVersion, model_format: str = "joblib") -> str:
    lines = ["# The versions this model was trained and is served with.", ""]
    lines += [f"{name}=={pin}" for name, pin in sorted(_pins(version, model_format).items())]
    return "\n".join(lines) + "\n"


def _slug(version: ModelVersion) -> str:
    return re.sub(r"[^a-z0-9]+", "-", version.model.lower()).strip("-") or "model"


def _example_row(version: ModelVersion) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for entry in version.io_schema.get("inputs", []):
        if entry.get("categories"):
            row[entry["name"]] = entry["categories"][0]
        elif "min" in entry:
            row[entry["name"]] = round((entry["min"] + entry["max"]) / 2, 3)
        else:
            row[entry["name"]] = None
    return row


def _serving_package() -> dict[str, bytes]:
    files = {"core/__init__.py": b'"""Shipway\'s serving package, as shipped in a bundle."""\n'}
    for name in BUNDLED_SERVING_MODULES:
        files[f"core/serving/{name}.py"] = (SERVING_SOURCE / f"{name}.py").read_bytes()
    return files


def _template(name: str) -> bytes:
    return resources.files("core.bundles").joinpath("templates", name).read_bytes()


def _fill(text: bytes, values: dict[str, str]) -> bytes:
    """Replace ``${key}`` placeholders (and nothing else, so JSON braces stay)."""
    out = text.decode("utf-8")
    for key, value in values.items():
        out = out.replace("${" + key + "}", value)
    return out.encode("utf-8")


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (0o100644 & 0xFFFF) << 16
            level = 1 if name.startswith(f"{WHEELS_DIR}/") else 9  # wheels are zips already
            archive.writestr(info, files[name], compresslevel=level)
    return buffer.getvalue()
