"""``shipway k8s``, ``shipway grafana``, ``shipway alerts-rules``, ``shipway ci init|gate``.

The hand-off files of a version (``M@V``) or of an exported bundle (``FILE.zip``, verified
first), the same ones a bundle carries: Kubernetes manifests, a Grafana dashboard, Prometheus
alerting rules. ``ci init`` writes a GitHub Actions or GitLab CI pipeline that retrains, gates
and bundles the model; ``ci gate`` is its gate: it evaluates the rules guarding an alias
without moving it, prints each rule's sentence, and exits 3 when one fails.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.cli.output import emit_json, reply
from core.cli.parsing import Commands, add_alias, add_version, call_with_args
from core.cli.project_cmds import open_workspace
from core.errors import GateBlocked


def register(commands: Commands) -> None:
    source_help = "a model version (M@V, M@alias) or a bundle (FILE.zip)"
    k8s = commands.add("k8s", cmd_k8s, help="Kubernetes manifests of a model")
    k8s.add_argument("source", metavar="M@V|BUNDLE", help=source_help)
    k8s.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write to")
    k8s.add_argument("--image", metavar="NAME", help="the image to run (default: the bundle's)")
    for name, helptext, handler in (
        ("grafana", "a Grafana dashboard (JSON) of a model's metrics", cmd_grafana),
        ("alerts-rules", "Prometheus alerting rules of a model", cmd_alert_rules),
    ):
        parser = commands.add(name, handler, help=helptext)
        parser.add_argument("source", metavar="M@V|BUNDLE", help=source_help)
        parser.add_argument("-o", "--output", required=True, metavar="FILE")

    sub = commands.group("ci", "CI pipelines that retrain, gate and bundle")
    init = sub.add("init", cmd_ci_init, help="write a CI pipeline")
    init.add_argument("--provider", required=True, choices=("github", "gitlab"))
    init.add_argument("--model", metavar="M", help="the model to retrain (default: the only one)")
    init.add_argument(
        "--data-file",
        metavar="FILE",
        help="the file the pipeline imports "
        "(default: the one the model's data set was imported from)",
    )
    init.add_argument("--repo-root", metavar="DIR", help="the repository (default: the project)")
    init.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="default: .github/workflows/shipway.yml or .gitlab-ci.yml in the repository",
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")
    gate = sub.add("gate", cmd_ci_gate, help="evaluate gates; exit 3 on a failure")
    add_version(gate)
    add_alias(gate)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(data)
    temporary.replace(path)


def cmd_k8s(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        source = workspace.bundles.handoff(args.source)
    files = source.k8s(args.image)
    folder = Path(args.output)
    for name, data in files.items():
        _write(folder / name, data)
    document = {
        "path": str(folder),
        "files": sorted(files),
        "image": args.image or source.image,
        "facts": source.facts.to_dict(),
    }
    return reply(
        args,
        document,
        f"Wrote {len(files)} manifests of {source.origin} into {folder}\n"
        f"  apply them with: kubectl apply -k {folder}",
    )


def cmd_grafana(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        source = workspace.bundles.handoff(args.source)
    data = source.dashboard()
    _write(Path(args.output), data)
    panels = json.loads(data)["panels"]
    return reply(
        args,
        {"path": args.output, "panels": [panel["title"] for panel in panels]},
        f"Wrote a dashboard of {len(panels)} panels for {source.origin} to {args.output}",
    )


def cmd_alert_rules(args: argparse.Namespace) -> int:
    from core.bundles.alert_rules import rules

    with open_workspace(args) as workspace:
        source = workspace.bundles.handoff(args.source)
    _write(Path(args.output), source.rules())
    names = [rule["alert"] for rule in rules(source.facts)["groups"][0]["rules"]]
    return reply(
        args,
        {"path": args.output, "alerts": names},
        f"Wrote {len(names)} alerting rules for {source.origin} to {args.output}\n"
        f"  check them with: promtool check rules {args.output}",
    )


def cmd_ci_init(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        path, recipe = call_with_args(workspace.bundles.ci_pipeline, args)
    if args.json:
        emit_json(
            {
                "path": str(path),
                "provider": args.provider,
                "model": recipe.model,
                "data_file": recipe.data_file,
                "project_dir": recipe.project_dir,
            }
        )
    else:
        print(
            f"Wrote {path}: on a push changing {recipe.data_file} or shipway.toml it retrains "
            f"{recipe.model}, gates it and keeps its bundle"
        )
    return 0


def cmd_ci_gate(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        report = workspace.registry.evaluate_gates(args.ref, args.alias)
    document = report.to_dict()
    if args.json:
        emit_json(document)
    else:
        verdict = "pass" if report.passed else "FAIL"
        print(f"Gates of {report.alias} on {report.model}@{report.version}: {verdict}")
        for gate in document["gates"]:
            print(f"  {'pass' if gate['passed'] else 'FAIL'} {gate['rule']}: {gate['message']}")
        print(f"  ({report.source})")
    if report.passed:
        return 0
    failed = [gate for gate in document["gates"] if not gate["passed"]]
    args.json = False  # the report is out; main() adds the one-line error on stderr
    raise GateBlocked(
        f"the gates of {args.alias} refuse {report.model}@{report.version}: "
        + "; ".join(f"{gate['rule']}: {gate['message']}" for gate in failed),
        report=report,
        where=report.source,
        hint="the job stops here; fix the data or shipway.toml and push again",
    )
