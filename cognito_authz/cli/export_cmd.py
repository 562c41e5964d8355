"""``cognito-authz export cedar``: the policy as a Cedar schema and policy set with the same meaning (for
Amazon Verified Permissions); anything Cedar cannot say exactly is refused with ``cedar_unexportable``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cognito_authz.cli.common import CliError, CliParser, load_policy

__all__ = ["register", "run_export_cedar"]

SCHEMA_FILE = "schema.cedarschema.json"
POLICIES_FILE = "policies.cedar"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``export`` (with its one target, ``cedar``) to the command parser."""
    export = commands.add_parser(
        "export",
        help="export a policy to another authorization system (Cedar)",
        description="Export a policy to another authorization system.",
    )
    targets = export.add_subparsers(dest="target", metavar="TARGET", parser_class=CliParser, required=True)
    cedar = targets.add_parser(
        "cedar",
        help="a Cedar schema and policy set with the same meaning (Amazon Verified Permissions)",
        description="Write the policy as a Cedar JSON schema and a Cedar policy set that decide every "
        "request as the policy does (deny overrides allow; path parameters by position). Without "
        "--output-dir both go to stdout, schema first. Refused (exit 1, reason cedar_unexportable) when "
        "Cedar cannot carry the policy exactly.",
    )
    cedar.add_argument("policy", metavar="POLICY", help="policy file (.yaml, .yml, .json, .toml)")
    cedar.add_argument(
        "--namespace", default="CognitoAuthz", help="Cedar namespace of the entity types and actions"
    )
    cedar.add_argument(
        "--output-dir",
        metavar="DIR",
        help=f"write {SCHEMA_FILE} and {POLICIES_FILE} into DIR (created if missing)",
    )
    cedar.add_argument(
        "--part",
        choices=("schema", "policies"),
        help="print only the schema (JSON) or only the policy set, e.g. to redirect it into a file",
    )
    cedar.set_defaults(handler=run_export_cedar)


def run_export_cedar(args: argparse.Namespace) -> int:
    from cognito_authz.export.cedar import export_cedar

    policy = load_policy(args.policy)
    export = export_cedar(policy, namespace=args.namespace)
    if args.part is not None:
        if args.output_dir is not None:
            raise CliError("--part prints to stdout; it does not go with --output-dir", status=2)
        print(export.schema_json() if args.part == "schema" else export.policies, end="")
        return 0
    if args.output_dir is None:
        print(f"// --- {SCHEMA_FILE} ---")
        print(export.schema_json(), end="")
        print(f"// --- {POLICIES_FILE} ---")
        print(export.policies, end="")
        return 0
    directory = Path(args.output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SCHEMA_FILE).write_text(export.schema_json(), encoding="utf-8")
    (directory / POLICIES_FILE).write_text(export.policies, encoding="utf-8")
    print(f"wrote {directory / SCHEMA_FILE} and {directory / POLICIES_FILE} ({export.policy_count} policies)")
    return 0
