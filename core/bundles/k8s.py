"""Kubernetes manifests of a served version: Deployment, Service, HPA, PDB and kustomization.

What the files say, and why:

- **Deployment**: the bundle's image (a parameter, checked against the image reference grammar
  container runtimes use), run as the image's non-root user (uid 10001) with a read-only root
  file system, no privilege escalation, every capability dropped and the runtime's seccomp
  profile; ``/tmp`` and the prediction log folder are ``emptyDir`` volumes. Startup, liveness
  and readiness probes ask ``GET /health`` on the container port 8080, the port and route
  ``serve.py`` serves (``/health`` needs no token, and answers 200 while the model answers, with
  ``degraded`` in its body when the prediction log or the drift scoring is in trouble). The
  token comes from the Secret ``<name>-serving`` (key ``token``; the optional ``request-key``
  lets every replica accept the request ids of the others for feedback). The server accepts
  only Host names it knows (DNS-rebinding protection), so the pod's IP (probes and Prometheus
  use it) and the Service's names are given in ``SHIPWAY_ALLOWED_HOSTS``.
- **Resources** from the measured model: memory requested is :data:`BASE_MEMORY_MIB` (a serving
  process with its libraries, measured) plus three times the model's size in memory, the limit
  twice that; CPU requested is what :data:`TARGET_RPS` single-row requests a second take at the
  measured p95 (at least 100m), the limit at least one core (one process answers under the
  GIL) and twice the request.
- **Service** (port 80 to the container's 8080, ClientIP affinity so that feedback reaches the
  replica whose log holds the prediction), **HorizontalPodAutoscaler** (2 to 10 replicas at 70%
  of the CPU request), **PodDisruptionBudget** (one replica always up), Prometheus scrape
  annotations on the pods (``/metrics`` needs the token: give the scrape job the same bearer
  token), and a ``kustomization.yaml`` whose ``images`` entry is where another registry or tag
  goes.
"""

from __future__ import annotations

import math
import re
from typing import Any

from core.bundles import yaml_text
from core.bundles.handoff import HandoffFacts
from core.errors import InvalidInput

PORT = 8080
SERVICE_PORT = 80
BASE_MEMORY_MIB = 320
TARGET_RPS = 10
USER_ID = 10001
LOG_DIR = "/var/lib/shipway/log"
FILES = ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "kustomization.yaml")
MIB = 1024 * 1024

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)"
_NAME = re.compile(rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


def parse_image(image: str) -> tuple[str, str | None, str | None]:
    """``(repository, tag, digest)`` of an image reference; :class:`InvalidInput` naming the part
    that a container runtime would refuse (Kubernetes then fails the pod with InvalidImageName)."""
    text = image.strip()
    rest, _, digest = text.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    name, tag = (rest[:colon], rest[colon + 1 :]) if colon > slash else (rest, None)
    hint = (
        "an image is [registry[:port]/]path[:tag][@sha256:digest], the path in lower case, "
        "the tag up to 128 letters, digits, '_', '.' or '-' (not starting with '.' or '-')"
    )
    if text != image or not name or len(text) > 255 or not _NAME.match(name) or len(name) > 255:
        raise InvalidInput(
            f"the image name {image!r} is not one Kubernetes can pull", where="--image", hint=hint
        )
    if tag is not None and not _TAG.match(tag):
        raise InvalidInput(
            f"the tag {tag!r} of image {image!r} is not one Kubernetes can pull "
            "(the pod would fail with InvalidImageName)",
            where="--image",
            hint=hint,
        )
    if digest and not _DIGEST.match(digest):
        raise InvalidInput(
            f"the digest {digest!r} of image {image!r} is malformed", where="--image", hint=hint
        )
    return name, tag, digest or None


def resources(facts: HandoffFacts) -> dict[str, dict[str, str]]:
    """Requests and limits from the measured model size and single-row latency."""
    model_mib = math.ceil(3 * facts.model_bytes / MIB)
    memory = 32 * math.ceil((BASE_MEMORY_MIB + model_mib) / 32)
    cpu = max(100, math.ceil(facts.latency_p95_ms * TARGET_RPS))
    return {
        "requests": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"},
        "limits": {"cpu": f"{max(1000, 2 * cpu)}m", "memory": f"{2 * memory}Mi"},
    }


def memory_limit_bytes(facts: HandoffFacts) -> int:
    return int(resources(facts)["limits"]["memory"].removesuffix("Mi")) * MIB


def manifests(facts: HandoffFacts, image: str | None = None) -> dict[str, bytes]:
    """The files of ``k8s/``, by name."""
    image = image or facts.image
    repository, tag, digest = parse_image(image)
    comment = (
        f"{facts.name}@{facts.version}, made by Shipway from the version's metadata.\n"
        f"Resources from a single-row p95 of {facts.latency_p95_ms:g} ms "
        f"({facts.latency_source}) and a model of {facts.model_bytes:,} bytes."
    )
    documents = {
        "deployment.yaml": deployment(facts, image),
        "service.yaml": service(facts),
        "hpa.yaml": autoscaler(facts),
        "pdb.yaml": disruption_budget(facts),
    }
    files = {name: yaml_text.dump(doc, comment).encode() for name, doc in documents.items()}
    image_entry: dict[str, Any] = {"name": repository, "newName": repository}
    if digest:
        image_entry["digest"] = digest
    elif tag:
        image_entry["newTag"] = tag
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(documents),
        "images": [image_entry],
    }
    files["kustomization.yaml"] = yaml_text.dump(kustomization, comment).encode()
    return files


def _labels(facts: HandoffFacts) -> dict[str, str]:
    return {"app.kubernetes.io/name": facts.slug, "app.kubernetes.io/part-of": "shipway"}


def _metadata(facts: HandoffFacts, name: str | None = None) -> dict[str, Any]:
    labels = {**_labels(facts), "app.kubernetes.io/version": str(facts.version)}
    return {"name": name or facts.slug, "labels": labels}


def _object(
    api_version: str, kind: str, facts: HandoffFacts, spec: dict[str, Any]
) -> dict[str, Any]:
    """A Kubernetes object named and labelled after the version, with its ``spec``."""
    return {"apiVersion": api_version, "kind": kind, "metadata": _metadata(facts), "spec": spec}


def _selector(facts: HandoffFacts) -> dict[str, Any]:
    return {"matchLabels": {"app.kubernetes.io/name": facts.slug}}


def allowed_hosts(facts: HandoffFacts) -> str:
    """``SHIPWAY_ALLOWED_HOSTS``: the pod's IP at the container port, the Service's names."""
    service = facts.slug
    names = [f"$(POD_IP):{PORT}", f"{service}:{SERVICE_PORT}"]
    for suffix in (
        "$(POD_NAMESPACE)",
        "$(POD_NAMESPACE).svc",
        "$(POD_NAMESPACE).svc.cluster.local",
    ):
        names.append(f"{service}.{suffix}:{SERVICE_PORT}")
    return ",".join(names)


def _probe(period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": "/health", "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def _env(facts: HandoffFacts) -> list[dict[str, Any]]:
    secret = f"{facts.slug}-serving"
    return [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "SHIPWAY_ALLOWED_HOSTS", "value": allowed_hosts(facts)},
        {
            "name": "SHIPWAY_SERVING_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "token"}},
        },
        {
            "name": "SHIPWAY_REQUEST_KEY",
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "request-key", "optional": True}},
        },
    ]


def _container(facts: HandoffFacts, image: str) -> dict[str, Any]:
    return {
        "name": "model",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "python",
            "serve.py",
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
            "--log-dir",
            LOG_DIR,
        ],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": _env(facts),
        "resources": resources(facts),
        "startupProbe": _probe(2, 3, 60),
        "livenessProbe": _probe(10, 5, 3),
        "readinessProbe": _probe(5, 3, 2),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": USER_ID,
            "runAsGroup": USER_ID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "log", "mountPath": LOG_DIR},
        ],
    }


def deployment(facts: HandoffFacts, image: str) -> dict[str, Any]:
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(PORT),
        "prometheus.io/path": "/metrics",
    }
    template = {
        "metadata": {"labels": _metadata(facts)["labels"], "annotations": annotations},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": USER_ID,
                "runAsGroup": USER_ID,
                "fsGroup": USER_ID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "terminationGracePeriodSeconds": 30,
            "containers": [_container(facts, image)],
            "volumes": [
                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                {"name": "log", "emptyDir": {"sizeLimit": "1Gi"}},
            ],
        },
    }
    spec = {
        "replicas": 2,
        "revisionHistoryLimit": 5,
        "selector": _selector(facts),
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": template,
    }
    return _object("apps/v1", "Deployment", facts, spec)


def service(facts: HandoffFacts) -> dict[str, Any]:
    spec = {
        "type": "ClusterIP",
        "selector": dict(_labels(facts)),
        "sessionAffinity": "ClientIP",
        "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
    }
    return _object("v1", "Service", facts, spec)


def autoscaler(facts: HandoffFacts) -> dict[str, Any]:
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": facts.slug},
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ],
    }
    return _object("autoscaling/v2", "HorizontalPodAutoscaler", facts, spec)


def disruption_budget(facts: HandoffFacts) -> dict[str, Any]:
    spec = {"minAvailable": 1, "selector": _selector(facts)}
    return _object("policy/v1", "PodDisruptionBudget", facts, spec)
