"""``cognito-authz matrix``: the persona × route grid of a policy, or with ``--diff`` only the cells a
policy change flips.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cognito_authz.cli.common import CliError, load_policy, read_json_file

if TYPE_CHECKING:
    from cognito_authz.matrix import Persona
    from cognito_authz.policy import DecisionTable, Policy

__all__ = ["print_persona_matrix", "register", "run_matrix"]


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``matrix`` to the command parser."""
    matrix = commands.add_parser(
        "matrix",
        help="who may do what: a persona x route grid of allow/deny",
        description="Decide every persona on every route of POLICY (the API's route table when the policy "
        "has one, else the routes its rules name) and show the grid with each cell's determining rule and "
        "the concrete request it was decided on. Personas come from a decision table (--cases: one per "
        "distinct principal, named by sub) and/or --persona flags. --diff OLD shows only the cells that "
        "differ between OLD and POLICY (with --exit-code, exit 1 when any do, like git diff).",
    )
    matrix.add_argument("policy", metavar="POLICY", help="policy file (.yaml, .yml, .json, .toml)")
    matrix.add_argument("--cases", metavar="TABLE", help="decision table whose principals are the personas")
    matrix.add_argument(
        "--persona",
        action="append",
        default=[],
        metavar="NAME=CLAIMS",
        help="a persona: CLAIMS is a JSON object of token claims (the tables' 'groups'/'scopes' shorthands "
        "work) or @FILE holding one; repeatable",
    )
    matrix.add_argument(
        "--format", choices=("text", "markdown", "csv", "html"), default="text", help="output format"
    )
    matrix.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    matrix.add_argument(
        "--diff", metavar="OLD_POLICY", help="show only the cells that differ from OLD_POLICY"
    )
    matrix.add_argument(
        "--exit-code", action="store_true", help="with --diff: exit 1 when any cell flips (a review gate)"
    )
    matrix.set_defaults(handler=run_matrix)


def _persona_flag(text: str) -> tuple[str, dict[str, Any]]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise CliError(f"--persona {text!r}: write NAME=JSON or NAME=@FILE")
    if value.startswith("@"):
        from cognito_authz.policy.sources import load_file

        path = value[1:]
        data = (
            read_json_file(path, "persona file")
            if path.endswith(".json")
            else load_file(path, what="persona")
        )
    else:
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise CliError(f"--persona {name}: claims are not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise CliError(f"--persona {name}: claims must be a JSON object")
    return name.strip(), data


def _personas(args: argparse.Namespace) -> tuple[Persona, ...]:
    from cognito_authz.matrix import personas_from_claims, personas_from_table

    found: list[Persona] = []
    if args.cases is not None:
        found.extend(personas_from_table(args.cases))
    found.extend(personas_from_claims([_persona_flag(text) for text in args.persona]))
    names = [persona.name for persona in found]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CliError(f"persona name(s) used twice: {', '.join(duplicates)}")
    if not found:
        raise CliError("no personas: give --cases TABLE and/or --persona NAME=CLAIMS")
    return tuple(found)


def run_matrix(args: argparse.Namespace) -> int:
    from cognito_authz.matrix import build_matrix, diff_matrices
    from cognito_authz.matrix_render import render_diff, render_matrix

    if args.exit_code and args.diff is None:
        raise CliError("--exit-code goes with --diff OLD_POLICY", status=2)
    policy = load_policy(args.policy)
    personas = _personas(args)
    status = 0
    if args.diff is not None:
        old = load_policy(args.diff)
        matrix, flips = diff_matrices(old, policy, personas)
        text = render_diff(matrix, flips, args.format, old_source=old.source)
        status = 1 if flips and args.exit_code else 0
    else:
        text = render_matrix(build_matrix(policy, personas), args.format)
    if args.output is not None:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return status


def print_persona_matrix(policy: Policy, table: DecisionTable) -> None:
    """Print the grid for a decision table's personas (the demo ends with it)."""
    from cognito_authz.matrix import build_matrix, personas_from_table
    from cognito_authz.matrix_render import render_matrix

    print()
    print(render_matrix(build_matrix(policy, personas_from_table(table)), "text", details=False), end="")
