"""Shared pieces of the hand-off tests: a bundle's server started as its Deployment says, the
metric names a PromQL expression uses, and a scrape parsed into names."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "handoff-test-token"
POD_IP = "127.0.0.2"  # on Linux all of 127/8 is the loopback: a pod address of its own

#: Runs serve.py with every way to load a pickle failing, and prints at exit which heavy
#: modules were imported (argv: serve.py's own arguments).
GUARD = """
import atexit, json, pickle, runpy, sys
def refuse(*args, **kwargs):
    raise RuntimeError("a pickle was loaded")
class Refused(pickle._Unpickler):
    def __init__(self, *args, **kwargs):
        refuse()
for name in ("load", "loads", "_load", "_loads"):
    setattr(pickle, name, refuse)
pickle._Unpickler.load = refuse
pickle.Unpickler = Refused
def report():
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "joblib", "scipy"})
    print("HEAVY " + json.dumps(heavy), file=sys.stderr, flush=True)
atexit.register(report)
sys.argv = ["serve.py", *sys.argv[1:]]
runpy.run_path("serve.py", run_name="__main__")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def container(bundle: Path) -> dict[str, Any]:
    deployment = load_yaml(bundle / "k8s" / "deployment.yaml")
    return deployment["spec"]["template"]["spec"]["containers"][0]


@dataclass
class BundleServer:
    """serve.py of an extracted bundle, run with the container's args and environment."""

    bundle: Path
    process: subprocess.Popen
    port: int
    env: dict[str, str] = field(repr=False)
    log_dir: Path = field(repr=False)

    def url(self, path: str, host: str | None = None) -> urllib.request.Request:
        request = urllib.request.Request(f"http://{POD_IP}:{self.port}{path}")
        request.add_header("Host", host or f"{POD_IP}:{self.port}")
        return request

    def get(self, path: str, host: str | None = None, token: bool = True) -> tuple[int, bytes]:
        request = self.url(path, host)
        if token:
            request.add_header("Authorization", f"Bearer {TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        request = self.url(path)
        request.add_header("Authorization", f"Bearer {TOKEN}")
        request.add_header("Content-Type", "application/json")
        request.data = json.dumps(body).encode()
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> str:
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate(timeout=30)
        return err


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion of the variables defined before."""
    return re.sub(
        r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text
    )


def start_bundle(bundle: Path, log_dir: Path, guarded: bool = False) -> BundleServer:
    """serve.py as the Deployment runs it, the container port 8080 replaced by a free one
    everywhere (args, Host names), the pod's address :data:`POD_IP`, the Secret's token."""
    spec = container(bundle)
    port = free_port()
    env = dict(os.environ)
    values = {"POD_IP": POD_IP, "POD_NAMESPACE": "models"}
    for entry in spec["env"]:
        if "value" in entry:
            values[entry["name"]] = _expand(entry["value"].replace("8080", str(port)), values)
        elif entry.get("valueFrom", {}).get("secretKeyRef", {}).get("key") == "token":
            values[entry["name"]] = TOKEN
    env.update(values)
    args = [a.replace("8080", str(port)) for a in spec["args"]]
    assert args[:2] == ["python", "serve.py"]
    args = [a if a != "/var/lib/shipway/log" else str(log_dir) for a in args[2:]]
    command = [sys.executable, "-c", GUARD] if guarded else [sys.executable, "serve.py"]
    command += args
    process = subprocess.Popen(command, cwd=bundle, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    server = BundleServer(bundle, process, port, env, log_dir)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve.py exited: {process.stderr.read()[-3000:]}")
        try:
            if server.get("/health", token=False)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise AssertionError("serve.py did not answer /health")


def scraped_names(text: str) -> set[str]:
    """Every family and sample name of a Prometheus exposition."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
             "unless", "bool", "offset", "inf", "nan"}  # fmt: skip


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _LABEL_LISTS.sub(" ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()[:1]
        if following == "(" or match.group(0) in _KEYWORDS:
            continue
        if match.start() and (text[match.start() - 1].isdigit() or text[match.start() - 1] == "."):
            continue  # a number's exponent or unit
        names.add(match.group(0))
    return names


def wait_for(condition, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
