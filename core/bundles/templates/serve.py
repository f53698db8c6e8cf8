"""Serve this Shipway bundle: ``python serve.py [--port 8080] [--host H] [--token T]``.

Every file is checked against the sha256 in manifest.json before the model is loaded; a bundle
that was changed after export refuses to start. The API is the one of ``shipway deploy``:
GET /health, /metadata, /openapi.json, /metrics and POST /predict, /feedback.

Environment: SHIPWAY_SERVING_TOKEN (the bearer token, needed to listen on anything but
127.0.0.1), SHIPWAY_ALLOWED_HOSTS (comma-separated extra Host names, e.g. behind a proxy).
"""

import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def check_files() -> None:
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    for name, facts in sorted(manifest["files"].items()):
        data = (HERE / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != facts["sha256"]:
            sys.exit(f"serve.py: {name} does not match the sha256 in manifest.json; not serving")


def arguments(given: list) -> list:
    args = list(given)
    if "--port" not in args and not any(a.startswith("--port=") for a in args):
        args += ["--port", os.environ.get("PORT", "8080")]
    for host in filter(None, os.environ.get("SHIPWAY_ALLOWED_HOSTS", "").split(",")):
        args += ["--allow-host", host.strip()]
    return ["--model-dir", str(HERE / "model"), *args]


if __name__ == "__main__":
    check_files()
    from core.serving.command import main

    sys.exit(main(arguments(sys.argv[1:])))
