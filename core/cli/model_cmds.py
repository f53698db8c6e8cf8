"""``shipway models register|list|show|gates|promote|rollback|approve|history|edit|card`` and
``contract`` (:mod:`core.cli.contract_cmds`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli import contract_cmds
from core.cli.output import TerminalProgress, emit_json, listing, reply, table
from core.cli.parsing import Commands, add_alias, add_choice, add_version
from core.cli.project_cmds import open_workspace
from core.errors import GateBlocked, UsageError

MODEL_HEADERS = ("model", "versions", "latest", "aliases")
NO_MODELS = "No models yet. Register a run with `shipway models register RUN --name M`."


def register(commands: Commands) -> None:
    sub = commands.group("models", "the model registry")

    reg = sub.add("register", cmd_register, help="register a run as a model version")
    reg.add_argument("run", type=int)
    reg.add_argument("--name", required=True, metavar="M")
    reg.add_argument("--description", default="")
    reg.add_argument("--tag", action="append", default=[], metavar="K=V")

    sub.add("list", cmd_list, help="registered models")
    show = sub.add("show", cmd_show, help="a model's versions, or one version")
    show.add_argument("ref", metavar="M[@V]")

    for name, helptext, handler in (
        ("gates", "evaluate an alias's gates without moving anything", cmd_gates),
        ("promote", "move an alias to a version if its gates pass", cmd_promote),
    ):
        parser = sub.add(name, handler, help=helptext)
        add_version(parser)
        add_alias(parser)
        if name == "promote":
            parser.add_argument("--force", action="store_true", help="override failed gates")
            parser.add_argument("--reason", default="", help="why (required with --force)")

    rollback = sub.add("rollback", cmd_rollback, help="move an alias back")
    rollback.add_argument("model", metavar="M")
    add_alias(rollback)

    approve = sub.add("approve", cmd_approve, help="approve a version")
    add_version(approve)
    approve.add_argument("--comment", default="")

    history = sub.add("history", cmd_history, help="alias moves, newest first")
    history.add_argument("model", metavar="M")
    history.add_argument("--alias")

    edit = sub.add("edit", cmd_edit, help="a version's description and tags")
    add_version(edit)
    edit.add_argument("--description")
    edit.add_argument("--tag", action="append", default=[], metavar="K=V")
    edit.add_argument("--remove-tag", action="append", default=[], metavar="K")

    card = sub.add("card", cmd_card, help="the model card (Markdown or HTML)")
    add_version(card)
    add_choice(card, "--format", ("markdown", "html"))
    card.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")

    contract_cmds.register(sub)


def _tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"tag {pair!r} is not KEY=VALUE", hint="e.g. --tag owner=ada")
        tags[key.strip()] = value.strip()
    return tags


def cmd_register(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        version = workspace.lifecycle.register(
            args.run, args.name, args.description, _tags(args.tag)
        )
    return reply(args, version.summary(), f"Registered run {version.run_id} as {version.ref}")


def cmd_list(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        models = workspace.registry.models()
    return listing(args, "models", models, _model_row, MODEL_HEADERS, NO_MODELS)


def _model_row(m: Any) -> tuple:
    aliases = ", ".join(f"{alias}={v}" for alias, v in m.aliases.items())
    return (m.name, m.versions, m.latest_version, aliases)


def cmd_show(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        if "@" not in args.ref:
            versions = workspace.registry.versions(args.ref)
            return _show_versions(args, versions)
        version = workspace.registry.version(args.ref)
        approvals = workspace.registry.approvals(version.ref)
        evaluations = workspace.registry.gate_evaluations(version.ref)
    if args.json:
        document = version.to_dict()
        document.update(
            approvals=[a.to_dict() for a in approvals],
            gate_evaluations=[e.to_dict() for e in evaluations[:10]],
        )
        emit_json(document)
        return 0
    print(f"{version.ref}  {version.task} · {version.estimator} · run {version.run_id}")
    print(f"  aliases: {', '.join(version.aliases) or 'none'}")
    print(f"  data: {version.dataset_ref} → {version.target}")
    print(f"  registered {version.created_at:%Y-%m-%d %H:%M} by {version.created_by}")
    for name, value in version.metrics.items():
        if value is not None:
            print(f"  {name:18} {value:.4f}")
    for approval in approvals:
        print(f"  approved by {approval.approver} {approval.at:%Y-%m-%d %H:%M} {approval.comment}")
    return 0


def _show_versions(args: argparse.Namespace, versions: list) -> int:
    if args.json:
        emit_json({"model": args.ref, "versions": [v.summary() for v in versions]})
        return 0
    rows = [
        (v.version, ", ".join(v.aliases), v.run_id, v.estimator, v.dataset_ref, v.created_by)
        for v in versions
    ]
    print(table(rows, ("version", "aliases", "run", "estimator", "data", "registered by")))
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_gates(gates: list[dict[str, Any]], source: str) -> None:
    rows = [
        (
            "pass" if gate["passed"] else "FAIL",
            gate["rule"],
            _cell(gate["value"]),
            _cell(gate["threshold"]),
        )
        for gate in gates
    ]
    if rows:
        print(table(rows, ("", "rule", "measured", "threshold")))
        for gate in gates:
            print(f"  {gate['rule']}: {gate['message']}")
    else:
        print("  no rules")
    print(f"  ({source})")


def cmd_gates(args: argparse.Namespace) -> int:
    progress = TerminalProgress(enabled=not args.json)
    with open_workspace(args) as workspace:
        try:
            report = workspace.registry.evaluate_gates(args.ref, args.alias, progress)
        finally:
            progress.finish()
    if args.json:
        emit_json(report.to_dict())
        return 0
    verdict = "pass" if report.passed else "fail"
    print(f"Gates of {report.alias} on {report.model}@{report.version}: {verdict}")
    _print_gates(report.to_dict()["gates"], report.source)
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    progress = TerminalProgress(enabled=not args.json)
    with open_workspace(args) as workspace:
        try:
            outcome = workspace.lifecycle.promote(
                args.ref, args.alias, force=args.force, reason=args.reason, progress=progress
            )
        except GateBlocked as blocked:
            progress.finish()
            args.current_aliases = workspace.registry.version(args.ref).aliases
            _report_blocked(args, blocked)
            raise
        finally:
            progress.finish()
    document = outcome.to_dict()
    if args.json:
        emit_json(document)
        return 0
    forced = " (forced)" if outcome.forced else ""
    previous = outcome.move.from_version
    print(
        f"{args.alias} → {outcome.version.ref}{forced}"
        + (f" (was version {previous})" if previous else "")
    )
    _print_gates(document["gates"], document["gate_source"])
    return 0


def _report_blocked(args: argparse.Namespace, blocked: GateBlocked) -> None:
    report = blocked.report.to_dict()
    if args.json:
        report.update(
            aliases=list(args.current_aliases),
            moved=False,
            error=blocked.code,
            message=blocked.message,
        )
        emit_json(report)
        args.json = False  # the document is out; main() adds the one-line error on stderr
    else:
        print(f"Blocked: the gates of {args.alias} refused {args.ref}; nothing moved")
        _print_gates(report["gates"], report["source"])


def cmd_rollback(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        move = workspace.lifecycle.rollback(args.model, args.alias)
        version = workspace.registry.version(f"{args.model}@{move.to_version}")
    if args.json:
        document = version.summary()
        document.update(alias=move.alias, previous=move.from_version, moved=True)
        emit_json(document)
    else:
        print(f"{move.alias} rolled back: version {move.from_version} → {move.to_version}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        approval = workspace.registry.approve(args.ref, args.comment)
    return reply(
        args,
        approval.to_dict(),
        f"{approval.approver} approved {approval.model}@{approval.version}",
    )


def cmd_history(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        moves = workspace.registry.history(args.model, args.alias)
    if args.json:
        emit_json({"model": args.model, "moves": [move.to_dict() for move in moves]})
        return 0
    rows = [
        (
            f"{m.at:%Y-%m-%d %H:%M:%S}",
            m.alias,
            m.kind + (" (rolled back)" if m.rolled_back else ""),
            f"{m.from_version or '–'} → {m.to_version}",
            m.user,
            m.reason,
        )
        for m in moves
    ]
    print(table(rows, ("when", "alias", "move", "versions", "by", "reason")))
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        version = workspace.registry.edit(
            args.ref, args.description, _tags(args.tag), tuple(args.remove_tag)
        )
    return reply(args, version.summary(), f"Updated {version.ref}")


def cmd_card(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        text = workspace.registry.card(args.ref, args.format)
    if args.output:
        path = Path(args.output)
        path.write_text(text, encoding="utf-8")
        if args.json:
            emit_json({"path": str(path), "format": args.format})
        else:
            print(f"Wrote {path}")
    elif args.json:
        emit_json({"format": args.format, "card": text})
    else:
        print(text, end="")
    return 0
