"""``cognito-authz api import FILE``: the API's route table from its deployment description (SAM template,
OpenAPI export, serverless.yml), printed as a policy's ``api:`` section or written into a policy file.

Writing keeps the rest of the file as it is: in YAML the top-level ``api:`` block is replaced (or
appended), in TOML the top-level ``api = [...]`` (placed before the first table), and JSON is rewritten
with the ``api`` key set. The result is loaded again before anything is written, so a policy that would
not load, or whose table would differ from the import, is never saved.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cognito_authz.cli.common import CliError, print_json

if TYPE_CHECKING:
    from cognito_authz.policy.api_table import ApiTable

__all__ = ["register", "render_yaml_section", "run_import", "table_into_text"]

_TOP_LEVEL_API_YAML = re.compile(r"^api\s*:")
_TOP_LEVEL_KEY_YAML = re.compile(r"^[^\s#-]")
_TOP_LEVEL_API_TOML = re.compile(r"^api\s*=")
_TOML_TABLE = re.compile(r"^\s*\[")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``api import`` to the command parser."""
    api = commands.add_parser(
        "api",
        help="the API's route table (import it from SAM, OpenAPI or serverless.yml)",
        description="Work with the API's route table, the 'api:' section of a policy file.",
    )
    actions = api.add_subparsers(dest="api_command", metavar="ACTION", parser_class=type(api))
    importer = actions.add_parser(
        "import",
        help="print (or write into a policy) the route table of SAM, OpenAPI or serverless.yml",
        description="Read the routes of an API from its deployment description: a SAM or CloudFormation "
        "template (Api and HttpApi events, inline DefinitionBody), an OpenAPI 3 or Swagger export "
        "(x-amazon-apigateway-any-method is ANY), or a serverless.yml (http and httpApi events). "
        "Prints an 'api:' section, or writes it into POLICY with --into.",
    )
    importer.add_argument("file", metavar="FILE", help="template.yaml, openapi.json/.yaml or serverless.yml")
    importer.add_argument(
        "--api-id",
        metavar="NAME",
        help="which API, when FILE describes several: a logical id (MyApi, ServerlessRestApi, "
        "ServerlessHttpApi) or, in a serverless.yml, http or httpApi",
    )
    importer.add_argument("--into", metavar="POLICY", help="write the table into this policy file")
    importer.add_argument("--json", action="store_true", help="machine-readable output")
    importer.set_defaults(handler=run_import)
    api.set_defaults(handler=lambda args: _missing_action(api))


def _missing_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_import(args: argparse.Namespace) -> int:
    from cognito_authz.policy.api_import import import_routes

    table = import_routes(args.file, api=args.api_id)
    if args.into:
        write_into(Path(args.into), table)
    if args.json:
        print_json({"source": args.file, "routes": list(table.texts), "written_to": args.into})
    elif args.into:
        print(f"{args.into}: wrote 'api:' with {len(table)} route(s) from {args.file}")
    else:
        print(render_yaml_section(table, args.file), end="")
    return 0


def render_yaml_section(table: ApiTable, source: str) -> str:
    """The table as a top-level YAML ``api:`` block (each route quoted: braces and ``$`` stay literal)."""
    lines = [f"api:  # the API's route table, from {source} (cognito-authz api import)"]
    lines.extend(f"  - {json.dumps(text)}" for text in table.texts)
    return "\n".join(lines) + "\n"


def write_into(policy: Path, table: ApiTable) -> None:
    """Replace or add the policy's ``api:`` table, then check the result loads with exactly that table."""
    from cognito_authz.errors import PolicyError
    from cognito_authz.policy import Policy

    try:
        original = policy.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read policy {policy}: {exc.strerror or exc}") from None
    updated = table_into_text(original, policy.suffix.lower(), table)
    with tempfile.TemporaryDirectory() as scratch:
        candidate = Path(scratch) / f"candidate{policy.suffix}"
        candidate.write_text(updated, encoding="utf-8")
        try:
            loaded = Policy.from_file(candidate)
        except PolicyError as exc:
            raise CliError(f"{policy}: not written, the result would not load: {exc.message}") from None
    if loaded.api is None or loaded.api.texts != table.texts:
        raise CliError(f"{policy}: not written, the result would not carry the imported table")
    _replace_atomically(policy, updated)


def table_into_text(text: str, suffix: str, table: ApiTable) -> str:
    """The policy text with its top-level ``api`` table set to ``table`` (see the module docstring)."""
    if suffix in (".yaml", ".yml"):
        return _into_yaml(text, table)
    if suffix == ".toml":
        return _into_toml(text, table)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CliError(f"the policy is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, dict):
            raise CliError("the policy is not a JSON object")
        data["api"] = list(table.texts)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    raise CliError(f"cannot write into a {suffix or 'suffix-less'} file: use .yaml, .yml, .json or .toml")


def _into_yaml(text: str, table: ApiTable) -> str:
    block = render_yaml_section(table, table.source).splitlines()
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _TOP_LEVEL_API_YAML.match(line)), None)
    if start is None:
        kept = lines + ([""] if lines and lines[-1].strip() else [])
        return "\n".join([*kept, *block]) + "\n"
    end = start + 1
    while end < len(lines) and not _TOP_LEVEL_KEY_YAML.match(lines[end]):
        end += 1
    # blank lines and comments just before the next key belong to that key, not to the old table
    while end - 1 > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return "\n".join([*lines[:start], *block, *lines[end:]]) + "\n"


def _into_toml(text: str, table: ApiTable) -> str:
    entry = "api = [" + ", ".join(json.dumps(route) for route in table.texts) + "]"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _TOP_LEVEL_API_TOML.match(line)), None)
    if start is not None:
        end = start
        depth = lines[start].count("[") - lines[start].count("]")
        while depth > 0 and end + 1 < len(lines):
            end += 1
            depth += lines[end].count("[") - lines[end].count("]")
        return "\n".join([*lines[:start], entry, *lines[end + 1 :]]) + "\n"
    first_table = next((i for i, line in enumerate(lines) if _TOML_TABLE.match(line)), len(lines))
    return "\n".join([*lines[:first_table], entry, "", *lines[first_table:]]) + "\n"


def _replace_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        shutil.copymode(path, temporary)  # mkstemp makes the file private; keep the policy's own mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
