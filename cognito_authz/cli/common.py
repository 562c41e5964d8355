"""What every command shares: the one-line error contract, JSON output, and where a principal comes from
(a claims file, or a token verified against a JWKS, or decoded unverified for a quick look).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from cognito_authz.policy import Policy
    from cognito_authz.principal import Principal

__all__ = [
    "PROG",
    "CliError",
    "CliParser",
    "PrincipalSource",
    "add_principal_options",
    "fail_line",
    "load_policy",
    "principal_from_args",
    "print_json",
    "read_json_file",
]

PROG = "cognito-authz"

#: Hosts a JWKS may be fetched from over plain HTTP (a local issuer); anything else needs https.
_LOOPBACK_PREFIXES = ("http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/")


class CliError(Exception):
    """A problem the user can fix (bad input, unreadable file); printed as one line, exit ``status``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class CliParser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``cognito-authz: error: explain: ... (try ... --help)``."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix(PROG).strip()
        where = f"{command}: " if command else ""
        fail_line(f"{where}{message} (try '{self.prog} --help')")
        self.exit(2)


def fail_line(message: str) -> None:
    """Print the single error line every failure produces."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def print_json(data: Any) -> None:
    """Machine output: one pretty JSON document on stdout."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def read_json_file(path: str, what: str) -> Any:
    """A JSON file (``-`` reads stdin), or :class:`CliError` naming the file and the problem."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{what} {path} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{what} {path} is not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None


def load_policy(path: str) -> Policy:
    """Load a policy file; a :class:`PolicyError` (naming file, rule and field) propagates to ``main``."""
    from cognito_authz.policy import Policy

    return Policy.from_file(path)


def add_principal_options(parser: argparse.ArgumentParser) -> None:
    """``--claims FILE`` or ``--token T`` with the options that verify it."""
    who = parser.add_argument_group("principal (one of)")
    source = who.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--claims",
        metavar="FILE",
        help="a JSON (or YAML/TOML, by extension) file of claims as a token carries them; '-' reads JSON "
        "from stdin",
    )
    source.add_argument(
        "--token", metavar="JWT", help="a token; verified when --jwks is given, else decoded UNVERIFIED"
    )
    verify = parser.add_argument_group("verifying --token")
    verify.add_argument(
        "--jwks",
        metavar="FILE_OR_URL",
        help="the issuer's JWKS: a file, or an https:// URL (plain http only for 127.0.0.1/localhost)",
    )
    verify.add_argument(
        "--pool", metavar="ID", help="user pool id (default: the pool named by the token's iss)"
    )
    verify.add_argument(
        "--client-id",
        metavar="ID",
        action="append",
        help="an accepted app client id (repeatable); required with --jwks unless --any-client",
    )
    verify.add_argument(
        "--any-client", action="store_true", help="accept any app client (explicit opt-out of the check)"
    )
    verify.add_argument(
        "--token-use",
        choices=("access", "id", "any"),
        default="access",
        help="the token type to require (default: access)",
    )


@dataclass(frozen=True, slots=True)
class PrincipalSource:
    """A principal and how much to trust it: ``verified`` only when a signature was checked."""

    principal: Principal
    verified: bool
    origin: str


def principal_from_args(args: argparse.Namespace) -> PrincipalSource:
    """The principal named by ``--claims`` or ``--token`` (see :func:`add_principal_options`)."""
    from cognito_authz.principal import Principal

    if args.claims is not None:
        if args.jwks is not None:
            raise CliError("--jwks verifies a --token; it has no meaning with --claims")
        claims = _claims_file(args.claims)
        return PrincipalSource(Principal.from_claims(claims), False, f"claims file {args.claims}")
    if args.jwks is None:
        return PrincipalSource(
            Principal.from_claims(_unverified_claims(args.token)), False, "token (unverified)"
        )
    return PrincipalSource(_verified(args), True, f"token verified against {args.jwks}")


def _claims_file(path: str) -> dict[str, Any]:
    if path == "-" or path.lower().endswith(".json"):
        data = read_json_file(path, "claims file")
    else:
        from cognito_authz.policy.sources import load_file

        data = load_file(path, what="claims file")
    if not isinstance(data, dict):
        raise CliError(f"claims file {path} must hold a JSON object of claims")
    return data


def _unverified_claims(token: str) -> dict[str, Any]:
    from cognito_authz.token import parse_token

    # The same strict parser the verifier uses (any alg: we are only reading, never trusting).
    parsed = parse_token(token.strip(), algorithms=("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"))
    return parsed.claims


def _verified(args: argparse.Namespace) -> Principal:
    from cognito_authz.verifier import CognitoVerifier

    source = args.jwks
    remote = source.startswith(("https://", "http://"))
    if remote and source.startswith("http://") and not source.startswith(_LOOPBACK_PREFIXES):
        raise CliError(f"refusing plain http for {source}: only 127.0.0.1/localhost may skip TLS")
    if args.any_client:
        clients: list[str] | None = None
    elif args.client_id:
        clients = list(args.client_id)
    else:
        raise CliError("--jwks needs --client-id ID (repeatable) or an explicit --any-client")
    token_use = None if args.token_use == "any" else args.token_use
    token = args.token.strip()
    issuer = _unverified_claims(token).get("iss")
    pool = args.pool
    if pool is None:
        if not isinstance(issuer, str) or "/" not in issuer:
            raise CliError("the token has no usable iss claim: pass --pool")
        pool = issuer.rstrip("/").rsplit("/", 1)[1]
    verifier = CognitoVerifier(
        pool,
        client_id=clients,
        token_use=token_use,
        # Without --pool the issuer comes from the token; the signature check below is what counts.
        issuer=issuer if isinstance(issuer, str) and args.pool is None else None,
        jwks_uri=source if remote else None,
        allow_http=remote and source.startswith("http://"),
        offline=not remote,
    )
    if not remote:
        verifier.load_jwks(read_json_file(source, "JWKS file"))
    from cognito_authz.errors import TokenError

    try:
        return verifier.verify(token)
    except TokenError as exc:
        raise CliError(f"token rejected: {exc}") from None
