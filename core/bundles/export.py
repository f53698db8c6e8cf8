"""Writing a bundle: the model directory, the serving package, serve.py, pinned requirements, a
Dockerfile, the model card, a README and a signed manifest, as one deterministic zip.

Deterministic: entries in name order, fixed time stamps and permissions, the manifest written
with sorted keys and the version's own registration time, so exporting a version twice gives
byte-identical archives (as long as its record, e.g. its gate results, has not changed).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import zipfile
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from core.bundles import layout, signing
from core.entities import GateEvaluation, ModelVersion
from core.project import Project

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MODEL_PACKAGES = ("scikit-learn", "numpy", "pandas", "scipy", "joblib")
SERVING_PACKAGES = ("flask", "waitress")
SERVING_SOURCE = Path(__file__).resolve().parents[1] / "serving"
#: The modules of core.serving a bundle's server needs, and nothing else (the prediction log's
#: reader, for one, is the host's: a bundle only writes its log). A test checks that these
#: import nothing outside the list.
BUNDLED_SERVING_MODULES = (
    "__init__", "__main__", "app", "body", "command", "contract", "encoding", "errors", "forests",
    "forms", "frames",
    "guard", "metrics", "missing", "mlflow_contract", "model", "openapi", "predlog", "processes",
    "request_ids",
    "routes", "scoring", "server", "settings", "shared_metrics", "slot", "validation", "watch",
    "workers",
)  # fmt: skip


def export_bundle(project: Project, version: ModelVersion, output: Path) -> tuple[Path, str]:
    """Write the bundle of ``version`` to ``output``; returns (path, sha256 of the zip)."""
    files = _files(project, version)
    manifest = _manifest(project, version, files)
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
        "bundle.export", "model_version", version.ref, path=str(output), sha256=_sha(data)
    )
    return output, _sha(data)


def _files(project: Project, version: ModelVersion) -> dict[str, bytes]:
    from core.registry import card
    from core.registry.artifacts import write_model_dir

    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="shipway-bundle-") as scratch:
        model_dir = write_model_dir(project, version, Path(scratch) / "model")
        for path in sorted(model_dir.iterdir()):
            files[f"{layout.MODEL_DIR}/{path.name}"] = path.read_bytes()
    files.update(_serving_package())
    python = _python(version)
    values = {
        "name": version.model,
        "version": str(version.version),
        "image": _image_name(version),
        "python": python,
        "archive": f"{_slug(version)}-{version.version}.zip",
        "summary": version.description or f"A {version.task} model of {version.target!r}.",
        "example": json.dumps({"records": [_example_row(version)]}),
    }
    files["serve.py"] = _template("serve.py")
    files["Dockerfile"] = _fill(_template("Dockerfile"), values)
    files["README.md"] = _fill(_template("README.md"), values)
    files["requirements.txt"] = _requirements(version).encode()
    files["card.md"] = card.render(project, version, "markdown").encode()
    files["card.html"] = card.render(project, version, "html").encode()
    return files


def _manifest(project: Project, version: ModelVersion, files: dict[str, bytes]) -> dict:
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
        "requirements": _pins(version),
        "files": {
            name: {"sha256": _sha(data), "size": len(data)} for name, data in sorted(files.items())
        },
    }


def _latest_per_alias(evaluations: list[GateEvaluation]) -> list[dict[str, Any]]:
    latest: dict[str, GateEvaluation] = {}
    for evaluation in evaluations:  # newest first
        latest.setdefault(evaluation.alias, evaluation)
    return [latest[alias].to_dict() for alias in sorted(latest)]


def _pins(version: ModelVersion) -> dict[str, str]:
    """The versions the model was trained with, plus this Shipway's serving libraries."""
    trained = version.environment.get("packages", {})
    pins = {name: trained.get(name) for name in MODEL_PACKAGES if trained.get(name)}
    for name in SERVING_PACKAGES:
        try:
            pins[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return pins


def _requirements(version: ModelVersion) -> str:
    lines = ["# The versions this model was trained and is served with.", ""]
    lines += [f"{name}=={pin}" for name, pin in sorted(_pins(version).items())]
    return "\n".join(lines) + "\n"


def _python(version: ModelVersion) -> str:
    found = re.match(r"^(\d+)\.(\d+)", str(version.environment.get("python", "")))
    return f"{found.group(1)}.{found.group(2)}" if found else "3.11"


def _slug(version: ModelVersion) -> str:
    return re.sub(r"[^a-z0-9]+", "-", version.model.lower()).strip("-") or "model"


def _image_name(version: ModelVersion) -> str:
    return f"{_slug(version)}:{version.version}"


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
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()
