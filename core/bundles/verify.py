"""Verifying a bundle without trusting it: layout, manifest, every hash, the signature.

Verification reads a private copy of the archive (:func:`core.bundles.safe_zip.snapshot`);
:func:`verify_snapshot` lets the caller extract that same copy afterwards, and the report's
``digests`` (the sha256 of every entry as read here) are checked again while extracting.
Nothing is extracted and nothing is unpickled here; every entry is read in full, in chunks (each
refused if it is damaged or does not unpack to its declared size), and only manifest.json and
signature.json are kept in memory. Unsafe or damaged archives (see
:mod:`core.bundles.safe_zip`) are refused with an exception; a readable archive that is not
right (a changed file, a file too many or too few, a broken signature) gives a report whose
``problems`` name each thing found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.bundles import layout, safe_zip, signing

MAX_JSON_BYTES = 16 * 1024**2  # manifest.json and signature.json are read into memory


@dataclass(frozen=True)
class BundleReport:
    path: str
    sha256: str
    ok: bool
    signed: str  # "this project" | "another project" | "unsigned"
    problems: tuple[str, ...]
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    entries: tuple[safe_zip.Entry, ...] = field(default=(), repr=False)
    #: sha256 of every entry as verification read it; extraction must find the same.
    digests: dict[str, str] = field(default_factory=dict, repr=False)

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
    with safe_zip.snapshot(archive) as source:
        return verify_snapshot(source, key)


def verify_snapshot(source: safe_zip.Snapshot, key: bytes | None) -> BundleReport:
    """:func:`verify` of a private copy, which the caller may then extract."""
    entries = safe_zip.inspect(source)
    by_name = {entry.name: entry for entry in entries}
    digests = {entry.name: safe_zip.stream(source, entry, _ignore) for entry in entries}
    problems: list[str] = []
    manifest_bytes = _entry(source, by_name, layout.MANIFEST, problems)
    manifest = _parse(manifest_bytes, layout.MANIFEST, problems)
    if manifest is not None:
        problems += layout.manifest_problems(manifest)
    manifest = manifest if isinstance(manifest, dict) else {}
    files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    problems += _layout_problems(set(by_name), set(files))
    problems += _hash_problems(by_name, digests, files)
    signature = None
    if layout.SIGNATURE in by_name:
        signature = _parse(_entry(source, by_name, layout.SIGNATURE, problems), "sig", problems)
    signed, broken = signing.check(key, manifest_bytes or b"", signature)
    if broken:
        problems.append(broken)
    return BundleReport(
        path=str(source.origin),
        sha256=source.sha256,
        ok=not problems,
        signed=signed,
        problems=tuple(problems),
        manifest=manifest,
        entries=tuple(entries),
        digests=digests,
    )


def _ignore(chunk: bytes) -> None:
    return None


def _entry(
    source: safe_zip.Snapshot, by_name: dict, name: str, problems: list[str]
) -> bytes | None:
    if name not in by_name:
        problems.append(f"{name} is missing")
        return None
    if by_name[name].size > MAX_JSON_BYTES:
        problems.append(f"{name} is larger than {MAX_JSON_BYTES:,} bytes")
        return None
    return safe_zip.read(source, by_name[name])


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
    models = [name for name in layout.MODEL_FILES if name in listed]
    if len(models) != 1:
        found = " and ".join(models) if models else "neither"
        problems.append(f"a bundle needs one of {' or '.join(layout.MODEL_FILES)}, not {found}")
    return problems


def _hash_problems(by_name: dict, digests: dict[str, str], files: dict) -> list[str]:
    problems = []
    for name, facts in sorted(files.items()):
        entry = by_name.get(name)
        if entry is None or not isinstance(facts, dict):
            continue
        if entry.size != facts.get("size"):
            problems.append(f"{name} has {entry.size} bytes, the manifest says {facts.get('size')}")
        elif digests[name] != facts.get("sha256"):
            problems.append(f"{name} does not match its sha256 in the manifest")
    return problems
