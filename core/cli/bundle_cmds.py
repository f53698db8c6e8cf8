"""``shipway bundle export M@V -o FILE.zip [--format joblib|onnx] [--with-wheels [--platform
TAG ...] [--python-version 3.X]] [--image NAME]``, ``bundle verify FILE.zip``, ``bundle
extract``."""

from __future__ import annotations

import argparse

from core.cli.output import answer, reply
from core.cli.parsing import Commands, add_choice, add_version, call_with_args
from core.cli.project_cmds import open_workspace
from core.errors import ShipwayError


class BundleNotOk(ShipwayError, code="bundle_not_ok"):
    """Verification found problems (the report lists them)."""


def register(commands: Commands) -> None:
    sub = commands.group("bundle", "deployable bundles")
    export = sub.add("export", cmd_export, help="write a model version's bundle")
    add_version(export)
    export.add_argument("-o", "--output", required=True, metavar="FILE.zip")
    add_choice(
        export,
        "--format",
        ("joblib", "onnx"),
        "onnx: serve the pipeline as an ONNX graph with onnxruntime, no pickle (refused, "
        "with the reason, for a model that does not convert with the same answers)",
    )
    export.add_argument(
        "--with-wheels",
        action="store_true",
        help="vendor the wheels of the requirements (wheels/), for installs with no index",
    )
    export.add_argument(
        "--platform",
        action="append",
        metavar="TAG",
        help="the wheels' platform tag, repeatable (default: manylinux_2_36 on this machine's "
        "architecture, the Dockerfile's image)",
    )
    export.add_argument(
        "--python-version", metavar="3.X", help="the wheels' Python (default: the trained one)"
    )
    export.add_argument(
        "--image", metavar="NAME", help="the image the Kubernetes manifests run (default M:V)"
    )
    verify = sub.add("verify", cmd_verify, help="check a bundle's files and signature")
    verify.add_argument("path", metavar="FILE.zip")
    extract = sub.add("extract", cmd_extract, help="unpack a verified bundle")
    extract.add_argument("path", metavar="FILE.zip")
    extract.add_argument("-o", "--output", required=True, metavar="DIR", help="a new folder")
    extract.add_argument(
        "--trust",
        action="store_true",
        help="accept a bundle that is unsigned or signed by another project. Its model file is "
        "a pickle: serving it runs code from whoever made the bundle, so use this only for "
        "bundles from people you trust",
    )


def cmd_export(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        result = call_with_args(
            workspace.bundles.export,
            args,
            model_format=args.format,
            platforms=args.platform,
            python=args.python_version,
        )
    return reply(args, result.to_dict(), f"Wrote {result.path} (sha256 {result.sha256[:16]}…)")


def cmd_verify(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        report = workspace.bundles.verify(args.path)
    answer(args, report, _verify_text)
    if not report.ok:
        if args.json:
            args.json = False  # the report is out; main() adds the one-line error on stderr
        raise BundleNotOk(
            f"{len(report.problems)} problem(s): {report.problems[0]}",
            where=report.path,
            hint="do not serve it; export the bundle again from its project",
        )
    return 0


def _verify_text(report) -> str:
    verdict = "ok" if report.ok else "NOT OK"
    lines = [
        f"{report.path}: {verdict}; {report.to_dict()['files']} files; {report.signed}",
        f"  {report.manifest.get('name')}@{report.manifest.get('version')}, sha256 {report.sha256}",
    ]
    return "\n".join(lines + [f"  problem: {problem}" for problem in report.problems])


def cmd_extract(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        folder = workspace.bundles.extract(args.path, args.output, trust=args.trust)
    return reply(args, {"path": str(folder)}, f"Extracted into {folder}")
