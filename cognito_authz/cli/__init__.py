"""The ``cognito-authz`` command: demo, lint, explain, test, iam, ``api import``, matrix, ``export cedar``,
mint, ``jwks serve`` and package.

Each command group lives in its own module and imports what it needs only when it runs, so ``--help``
costs an argparse parser. Exit codes: 0 success; 1 a check failed (lint errors, failing decision-table
cases, demo decisions that differ from the table) or an error, reported as one line on stderr
(``cognito-authz: error: ...``, never a traceback); 2 bad command-line usage; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cognito_authz.cli import api_cmds, demo, export_cmd, matrix_cmd, package_cmd, policy_cmds, token_cmds
from cognito_authz.cli.common import PROG, CliError, CliParser, fail_line

__all__ = ["build_parser", "main"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cognito-authz")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


class _VersionAction(argparse.Action):
    """``--version`` without reading package metadata unless asked (metadata lookups cost milliseconds)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(f"{PROG} {_version()}")
        parser.exit()


def build_parser() -> CliParser:
    """The full argument parser (commands register themselves)."""
    parser = CliParser(
        prog=PROG,
        description=(
            "Fine-grained authorization for Amazon Cognito tokens: run the demo, lint and test policies, "
            "explain decisions, build authorizer IAM documents, mint dev tokens, serve a local JWKS and "
            "package an authorizer for Lambda."
        ),
        epilog="Run 'cognito-authz COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    demo.register(commands)
    policy_cmds.register(commands)
    api_cmds.register(commands)
    matrix_cmd.register(commands)
    export_cmd.register(commands)
    token_cmds.register(commands)
    package_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exit_request:  # --help, --version and usage errors
        code = exit_request.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from cognito_authz.errors import AuthzError

    try:
        status: int = handler(args)
    except CliError as exc:
        fail_line(str(exc))
        return exc.status
    except AuthzError as exc:
        fail_line(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (``| head``) went away: nothing left to say, and nobody to say it to.
        _silence_stdout()
        return 1
    except OSError as exc:
        fail_line(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return 1
    except Exception as exc:
        if os.environ.get("COGNITO_AUTHZ_DEBUG"):
            raise
        fail_line(f"internal error: {type(exc).__name__}: {exc} (set COGNITO_AUTHZ_DEBUG=1 for a traceback)")
        return 1
    return status


def _silence_stdout() -> None:
    # Python flushes stdout at exit and would report the broken pipe again, as a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
