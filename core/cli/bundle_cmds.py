"""``shipway bundle export M@V -o FILE.zip [--format joblib|onnx] [--with-wheels [--platform
TAG ...] [--python-version 3.X]] [--image NAME]``, ``bundle verify FILE.zip``, ``bundle
extract``."""

from __future__ import annotations

import argparse

from core.cli.output import emit_json, reply
from core.cli.project_cmds import open_workspace
from core.errors import ShipwayError


class BundleNotOk(ShipwayError, code="bundle_not_ok"):
    """Verification found problems (the report lists them)."""


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    bundle = commands.add_parser("bundle", help="deployable bundles")
    sub = bundle.add_subparsers(dest="bundle_command", metavar="COMMAND")
    sub.required = True
    export = sub.add_parser("export", parents=[common], help="write a model version's bundle")
    export.add_argument("ref", metavar="M@V")
    export.add_argument("-o", "--output", required=True, metavar="FILE.zip")
    export.add_argument(
        "--format",
        choices=("joblib", "onnx"),
        default="joblib",
        help="onnx: serve the pipeline as an ONNX graph with onnxruntime, no pickle (refused, "
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
    export.set_defaults(handler=cmd_export)
    verify = sub.add_parser("verify", parents=[common], help="check a bundle's files and signature")
    verify.add_argument("path", metavar="FILE.zip")
    verify.set_defaults(handler=cmd_verify)
    extract = sub.add_parser("extract", parents=[common], help="unpack a verified bundle")
    extract.add_argument("path", metavar="FILE.zip")
    extract.add_argument("-o", "--output", required=True, metavar="DIR", help="a new folder")
    extract.add_argument(
        "--trust",
        action="store_true",
        help="accept a bundle that is unsigned or signed by another project. Its model file is "
        "a pickle: serving it runs code from whoever made the bundle, so use this only for "
        "bundles from people you trust",
    )
    extract.set_defaults(handler=cmd_extract)


def cmd_export(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        result = workspace.bundles.export(
            args.ref,
            args.output,
            model_format=args.format,
            with_wheels=args.with_wheels,
            platforms=args.platform,
            python=args.python_version,
            image=args.image,
        )
    return reply(args, result.to_dict(), f"Wrote {result.path} (sha256 {result.sha256[:16]}…)")


def cmd_verify(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        report = workspace.bundles.verify(args.path)
    if args.json:
        emit_json(report.to_dict())
    else:
        verdict = "ok" if report.ok else "NOT OK"
        print(f"{report.path}: {verdict}; {report.to_dict()['files']} files; {report.signed}")
        print(f"  {report.manifest.get('name')}@{report.manifest.get('version')}, "
              f"sha256 {report.sha256}")  # fmt: skip
        for problem in report.problems:
            print(f"  problem: {problem}")
    if not report.ok:
        if args.json:
            args.json = False  # the report is out; main() adds the one-line error on stderr
        raise BundleNotOk(
            f"{len(report.problems)} problem(s): {report.problems[0]}",
            where=report.path,
            hint="do not serve it; export the bundle again from its project",
        )
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        folder = workspace.bundles.extract(args.path, args.output, trust=args.trust)
    return reply(args, {"path": str(folder)}, f"Extracted into {folder}")
