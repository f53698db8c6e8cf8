"""Verifying a bundle without trusting it: layout, manifest, every hash, the signature.

Nothing is extracted and nothing is unpickled here; entries are read into memory one at a time
(each refused if it does not unpack to its declared size). Unsafe archives (see
:mod:`core.bundles.safe_zip`) are refused with an exception; a readable archive that is not
right (a changed file, a file too many or too few, a broken signature) gives a report whose
``problems`` name each thing found.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.bundles import layout, safe_zip, signing


@dataclass(frozen=True)
class BundleReport:
    path: str
    sha256: str
    ok: bool
    signed: str  # "this project" | "another project" | "unsigned"
    problems: tuple[str, ...]
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    entries: tuple[safe_zip.Entry, ...] = field(default=(), repr=False)

    @property
    def trusted(self) -> bool:
        return self.ok and self.signed == "this project"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "ok": self.ok,
            "signed": self.signed,
            "problems": list(self.problems),
            "model": self.manifest.get("name"),
            "version": self.manifest.get("version"),
            "files": len(self.manifest.get("files", {})),
        }


def verify(archive: Path, key: bytes | None) -> BundleReport:
    """Check ``archive`` against its manifest and, when ``key`` is given, its signature."""
    entries = safe_zip.inspect(archive)
    by_name = {entry.name: entry for entry in entries}
    problems: list[str] = []
    manifest_bytes = _entry(archive, by_name, layout.MANIFEST, problems)
    manifest = _parse(manifest_bytes, layout.MANIFEST, problems)
    if manifest is not None:
        problems += layout.manifest_problems(manifest)
    manifest = manifest if isinstance(manifest, dict) else {}
    files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    problems += _layout_problems(set(by_name), set(files))
    problems += _hash_problems(archive, by_name, files)
    signature = None
    if layout.SIGNATURE in by_name:
        signature = _parse(_entry(archive, by_name, layout.SIGNATURE, problems), "sig", problems)
    signed, broken = signing.check(key, manifest_bytes or b"", signature)
    if broken:
        problems.append(broken)
    return BundleReport(
        path=str(archive),
        sha256=_file_sha(archive),
        ok=not problems,
        signed=signed,
        problems=tuple(problems),
        manifest=manifest,
        entries=tuple(entries),
    )


def _entry(archive: Path, by_name: dict, name: str, problems: list[str]) -> bytes | None:
    if name not in by_name:
        problems.append(f"{name} is missing")
        return None
    return safe_zip.read(archive, by_name[name])


def _parse(data: bytes | None, name: str, problems: list[str]) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{name} is not JSON: {exc}")
        return None


def _layout_problems(present: set[str], listed: set[str]) -> list[str]:
    own = {layout.MANIFEST, layout.SIGNATURE}
    problems = [f"{name} is in the archive but not in the manifest" for name in
                sorted(present - listed - own)]  # fmt: skip
    problems += [f"{name} is in the manifest but not in the archive" for name in
                 sorted(listed - present)]  # fmt: skip
    problems += [f"a bundle needs {name}" for name in layout.REQUIRED if name not in listed]
    return problems


def _hash_problems(archive: Path, by_name: dict, files: dict) -> list[str]:
    problems = []
    for name, facts in sorted(files.items()):
        entry = by_name.get(name)
        if entry is None or not isinstance(facts, dict):
            continue
        if entry.size != facts.get("size"):
            problems.append(f"{name} has {entry.size} bytes, the manifest says {facts.get('size')}")
            continue
        digest = hashlib.sha256(safe_zip.read(archive, entry)).hexdigest()
        if digest != facts.get("sha256"):
            problems.append(f"{name} does not match its sha256 in the manifest")
    return problems


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
