"""The pieces every command's parser is built from.

A command takes the common options (``--json``, ``--project``) and names the function that runs
it, whose docstring is what ``shipway COMMAND -h`` describes the command with (so it speaks to
the person at the terminal); a command group (``shipway data ...``) holds commands of its own.
The options that several commands declare alike are added here once, and
:func:`call_with_args` hands parsed options to the request or the service that takes them.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

Result = TypeVar("Result")
DEPLOYMENT_HELP = "a deployment (see `shipway deployments`)"


@dataclass(frozen=True)
class Commands:
    """Where commands are added: the next word of ``shipway`` or of a command group, each command
    taking the common options (``--json``, ``--project``)."""

    actions: argparse._SubParsersAction
    common: argparse.ArgumentParser

    def add(
        self, name: str, handler: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        """A command run by ``handler``; what ``-h`` describes it with is the handler's
        docstring (none without one)."""
        parser = self.actions.add_parser(
            name, parents=[self.common], help=help, description=handler.__doc__
        )
        parser.set_defaults(handler=handler)
        return parser

    def group(
        self,
        name: str,
        help: str,
        description: str | None = None,
        metavar: str = "COMMAND",
        common: bool = False,
    ) -> Commands:
        """A command whose next word is one of its own commands (stored as ``<name>_command``);
        with ``common``, the group itself takes the common options too."""
        parents = [self.common] if common else []
        group = self.actions.add_parser(name, parents=parents, help=help, description=description)
        actions = group.add_subparsers(dest=f"{name}_command", metavar=metavar, required=True)
        return Commands(actions, self.common)

    def action_group(self, name: str, help: str, description: str | None = None) -> Commands:
        """A group of actions on one thing (``shipway jobs cancel``): its next word is an ACTION,
        and it takes the common options itself too."""
        return self.group(name, help, description, metavar="ACTION", common=True)


def add_choice(
    parser: argparse.ArgumentParser, flag: str, choices: Sequence[str], help: str | None = None
) -> None:
    """An option taking one of ``choices``, the first of them when it is not given."""
    parser.add_argument(flag, choices=tuple(choices), default=choices[0], help=help)


def add_version(parser: argparse.ArgumentParser) -> None:
    """The model version a command acts on (``ref``), written ``M@V``."""
    parser.add_argument("ref", metavar="M@V")


def add_alias(parser: argparse.ArgumentParser) -> None:
    """The alias whose gates a command evaluates or whose version it moves."""
    parser.add_argument("--alias", default="production")


def add_deployment(parser: argparse.ArgumentParser) -> None:
    """The deployment a command reads, named by its id."""
    parser.add_argument("deployment", metavar="ID", help=DEPLOYMENT_HELP)


def call_with_args(target: Callable[..., Result], args: argparse.Namespace, **given: Any) -> Result:
    """Call ``target`` (a request dataclass, a service's method) with the parsed options named as
    its parameters, and ``given`` for the parameters whose option is named otherwise or needs
    converting; a parameter neither names keeps its default."""
    passed = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    named = {
        name: getattr(args, name)
        for name, parameter in inspect.signature(target).parameters.items()
        if parameter.kind in passed and name not in given and hasattr(args, name)
    }
    return target(**named, **given)
