"""What a bundle holds, and what its manifest may say.

The manifest is data only: a fixed set of keys with fixed types. Anything else (a key naming a
module, a class, a command or an entry point) makes a bundle unreadable, so no bundle can tell
Shipway what to import or run.
"""

from __future__ import annotations

from typing import Any

FORMAT = 1
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
MODEL_DIR = "model"
REQUIRED = (
    "Dockerfile",
    "README.md",
    "card.html",
    "card.md",
    "core/__init__.py",
    "core/serving/__init__.py",
    "model/model.json",
    "requirements.txt",
    "serve.py",
)
#: A bundle holds exactly one of these: the pickled pipeline, or its ONNX graph.
MODEL_FILES = ("model/model.joblib", "model/model.onnx")
#: What bundles since the hand-off files hold too (older bundles verify without them).
HANDOFF = (
    "k8s/deployment.yaml",
    "k8s/service.yaml",
    "k8s/hpa.yaml",
    "k8s/pdb.yaml",
    "k8s/kustomization.yaml",
    "monitoring/grafana-dashboard.json",
    "monitoring/alert-rules.yaml",
)
#: Top-level manifest keys and their JSON types.
MANIFEST_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "name": str,
    "version": int,
    "created": str,
    "task": str,
    "input_schema": list,
    "output": dict,
    "metrics": dict,
    "gates": list,
    "lineage": dict,
    "environment": dict,
    "requirements": dict,
    "files": dict,
}
#: Keys a manifest may have; bundles made before them verify without.
OPTIONAL_KEYS: dict[str, type | tuple[type, ...]] = {"handoff": dict}
FILE_KEYS = {"sha256": str, "size": int}
#: Keys that would name code; refused anywhere in the manifest, at any depth.
CODE_KEYS = frozenset(
    {"module", "modules", "class", "callable", "command", "commands", "entrypoint",
     "entry_point", "import", "imports", "exec", "script", "loader", "hook"}
)  # fmt: skip


def manifest_problems(manifest: Any) -> list[str]:
    """Why a manifest cannot be used as data ([] when it can)."""
    if not isinstance(manifest, dict):
        return ["manifest.json is not a JSON object"]
    known = MANIFEST_KEYS | OPTIONAL_KEYS
    problems = [f"manifest.json: unknown key {key!r}" for key in manifest if key not in known]
    for key, kind in OPTIONAL_KEYS.items():
        if key in manifest and not isinstance(manifest[key], kind):
            problems.append(f"manifest.json: {key!r} has the wrong type")
    for key, kind in MANIFEST_KEYS.items():
        if key not in manifest:
            problems.append(f"manifest.json: missing key {key!r}")
        elif not isinstance(manifest[key], kind) or isinstance(manifest[key], bool):
            problems.append(f"manifest.json: {key!r} has the wrong type")
    problems += [f"manifest.json names code: {path}" for path in _code_keys(manifest, "")]
    if manifest.get("format") not in (None, FORMAT) and isinstance(manifest.get("format"), int):
        problems.append(f"manifest.json: format {manifest['format']} is not {FORMAT}")
    for name, facts in (manifest.get("files") or {}).items():
        if not isinstance(facts, dict) or set(facts) != set(FILE_KEYS):
            problems.append(f"manifest.json: files[{name!r}] must hold sha256 and size")
    return problems


def _code_keys(value: Any, path: str) -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key).lower() in CODE_KEYS:
                found.append(where)
            found += _code_keys(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _code_keys(item, f"{path}[{index}]")
    return found
