"""Developer token commands: ``mint`` (a Cognito-shaped token signed by a local key) and ``jwks serve`` (that
key's JWKS on 127.0.0.1, so a verifier, an app or ``explain --jwks`` can fetch it like Cognito's).

These keys are for development only: a verifier accepts them only when pointed at this JWKS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cognito_authz.cli.common import CliError, print_json, read_json_file
from cognito_authz.testing.issuer import DEFAULT_CLIENT_ID, DEFAULT_POOL_ID

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    from cognito_authz.testing.issuer import LocalIssuer

__all__ = ["register", "run_jwks_serve", "run_mint"]

_DEFAULT_POOL = DEFAULT_POOL_ID
_DEFAULT_CLIENT = DEFAULT_CLIENT_ID


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add mint and jwks to the command parser."""
    mint = commands.add_parser(
        "mint",
        help="mint a dev token from a local key",
        description="Mint a Cognito-shaped access or ID token signed with a local RSA key: --key PEM, or a "
        "new key (then the JWKS is printed too; --key-out keeps the key for later). The token is the "
        "first line of output. For development only.",
    )
    keys = mint.add_argument_group("keys")
    keys.add_argument("--key", metavar="PEM", help="RSA private key to sign with (PEM, unencrypted)")
    keys.add_argument("--key-out", metavar="PEM", help="save a newly generated key here (mode 0600)")
    keys.add_argument("--jwks-out", metavar="FILE", help="write the public JWKS here instead of printing it")
    claims = mint.add_argument_group("claims")
    claims.add_argument(
        "--token-use",
        choices=("access", "id", "m2m"),
        default="access",
        help="default: access; m2m = a client-credentials access token (sub is the client id, no user)",
    )
    claims.add_argument("--username", default="devuser", help="username / cognito:username (default devuser)")
    claims.add_argument("--sub", help="sub (default: a stable UUID derived from the username)")
    claims.add_argument("--group", action="append", default=[], help="a cognito:groups entry (repeatable)")
    claims.add_argument(
        "--scope", action="append", default=[], help="an OAuth scope (repeatable; access tokens only)"
    )
    claims.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a string claim, e.g. custom:tenant_id=acme (repeatable; overrides the defaults)",
    )
    claims.add_argument(
        "--claim-json",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="a claim with a JSON value, e.g. auth_time=1700000000 (repeatable)",
    )
    claims.add_argument("--lifetime", type=int, default=3600, help="seconds until exp (negative: expired)")
    pool = mint.add_argument_group("issuer")
    pool.add_argument("--pool", default=_DEFAULT_POOL, help=f"user pool id for iss (default {_DEFAULT_POOL})")
    pool.add_argument("--client-id", default=_DEFAULT_CLIENT, help="app client id (client_id / aud)")
    pool.add_argument("--issuer", metavar="URL", help="iss override (default: the pool's Cognito issuer)")
    pool.add_argument(
        "--issuer-type",
        choices=("original", "updated"),
        default="original",
        help="Cognito issuer form: cognito-idp.REGION (original) or issuer-cognito-idp.REGION (updated)",
    )
    mint.add_argument("--json", action="store_true", help="print token, claims, kid and JWKS as JSON")
    mint.set_defaults(handler=run_mint)

    jwks = commands.add_parser("jwks", help="serve a local JWKS", description="JWKS utilities.")
    actions = jwks.add_subparsers(dest="jwks_command", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve a JWKS on 127.0.0.1 until interrupted",
        description="Serve a JWKS over HTTP on 127.0.0.1 at /POOL/.well-known/jwks.json (and "
        "/.well-known/jwks.json), as Cognito and moto lay it out. The first line of output is the URL. "
        "Stops on Ctrl-C, after --once request or after --duration seconds.",
    )
    serve.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free port)")
    serve.add_argument(
        "--keys",
        metavar="FILE",
        help="a JWKS JSON file or an RSA private key PEM (its public half is served); default: a new key, "
        "with a sample token printed",
    )
    serve.add_argument("--key-out", metavar="PEM", help="save a newly generated key here (mode 0600)")
    serve.add_argument(
        "--pool", default=_DEFAULT_POOL, help=f"user pool id in the path (default {_DEFAULT_POOL})"
    )
    stop = serve.add_mutually_exclusive_group()
    stop.add_argument("--once", action="store_true", help="exit after serving one request")
    stop.add_argument("--duration", type=float, metavar="SECONDS", help="exit after this many seconds")
    serve.set_defaults(handler=run_jwks_serve)


# --- keys ---------------------------------------------------------------------------------------------


def _load_private_key(path: str) -> RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read key {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CliError(f"key {path} is encrypted; export it without a passphrase for dev use") from None
    except ValueError:
        raise CliError(f"{path} is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CliError(f"key {path} is not an RSA key (Cognito signs with RS256)")
    return key


def _save_private_key(key: RSAPrivateKey, path: str) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        # Created 0600 from the start: a private key is never briefly world-readable.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    except OSError as exc:
        raise CliError(f"cannot write key {path}: {exc.strerror or exc}") from None


def _write_text(path: str, text: str, what: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def _issuer(
    pool: str, client_id: str, issuer: str | None, key_path: str | None, issuer_type: str = "original"
) -> LocalIssuer:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from cognito_authz.errors import ConfigError
    from cognito_authz.testing.issuer import LocalIssuer

    # One key, given or generated, signs every token: what --key-out saves is what signed.
    key = (
        _load_private_key(key_path)
        if key_path is not None
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    form: Literal["original", "updated"] = "updated" if issuer_type == "updated" else "original"
    try:
        return LocalIssuer(
            pool, client_id=client_id, issuer=issuer, issuer_type=form, serve=False, signing_key=key
        )
    except ConfigError as exc:
        raise CliError(str(exc)) from None


# --- mint ---------------------------------------------------------------------------------------------


def _pairs(items: list[str], option: str, *, parse_json: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(f"{option} expects NAME=VALUE, got {item!r}")
        if parse_json:
            try:
                out[name] = json.loads(value)
            except json.JSONDecodeError:
                raise CliError(f"{option} {name}: {value!r} is not JSON") from None
        else:
            # Cognito puts custom attributes in tokens as strings, whatever they look like.
            out[name] = value
    return out


def run_mint(args: argparse.Namespace) -> int:
    if args.key is not None and args.key_out is not None:
        raise CliError("--key-out saves a generated key; with --key the key already exists")
    extra = _pairs(args.claim, "--claim", parse_json=False)
    extra.update(_pairs(args.claim_json, "--claim-json", parse_json=True))
    issuer = _issuer(args.pool, args.client_id, args.issuer, args.key, args.issuer_type)
    if args.token_use == "m2m":
        if extra or args.group or args.sub is not None:
            raise CliError("an m2m token has no user: --claim, --group and --sub do not apply")
        token = issuer.mint_m2m_token(
            **({"scopes": args.scope} if args.scope else {}), lifetime=args.lifetime
        )
        return _print_minted(args, issuer, token)
    _warn_missing_from_stock_tokens(extra, args.token_use)
    common: dict[str, Any] = {
        "username": args.username,
        "sub": args.sub,
        "groups": args.group,
        "lifetime": args.lifetime,
        "claims": extra,
    }
    if args.token_use == "access":
        token = issuer.mint_access_token(**common, **({"scopes": args.scope} if args.scope else {}))
    else:
        if args.scope:
            raise CliError("ID tokens carry no scope claim: --scope needs --token-use access")
        token = issuer.mint_id_token(**common)
    return _print_minted(args, issuer, token)


def _warn_missing_from_stock_tokens(claims: dict[str, Any], token_use: str) -> None:
    """Say so when a --claim puts something where stock Cognito never would (lint's claim_not_in_token)."""
    from cognito_authz.claimsets import carried_by_default

    use: Literal["id", "access"] = "id" if token_use == "id" else "access"
    for name in claims:
        if not carried_by_default(name, use):
            print(
                f"note: stock Cognito {use} tokens do not carry {name!r}; on a real pool it takes "
                + (
                    "a pre token generation trigger (cognito_authz.triggers)"
                    if use == "access"
                    else "an access token"
                ),
                file=sys.stderr,
            )


def _print_minted(args: argparse.Namespace, issuer: LocalIssuer, token: str) -> int:
    generated = args.key is None
    if generated and args.key_out is not None:
        _save_private_key(issuer.private_key(), args.key_out)
    jwks = issuer.jwks
    if args.jwks_out is not None:
        _write_text(args.jwks_out, json.dumps(jwks, indent=2) + "\n", "JWKS")
    from cognito_authz.token import parse_token

    parsed = parse_token(token, algorithms=("RS256",))
    if args.json:
        print_json(
            {
                "token": token,
                "header": dict(parsed.header),
                "claims": parsed.claims,
                "kid": issuer.kid,
                "issuer": issuer.issuer,
                "jwks": jwks,
                "key_generated": generated,
            }
        )
        return 0
    print(token)
    if args.jwks_out is None and generated:
        # A new key is useless without its public half: print it so a verifier can load it.
        print(json.dumps(jwks, separators=(",", ":")))
    if generated and args.key_out is None:
        print(
            f"note: signed with a new key (kid {issuer.kid}); --key-out FILE keeps it to mint again",
            file=sys.stderr,
        )
    return 0


# --- jwks serve ---------------------------------------------------------------------------------------


def _served_jwks(args: argparse.Namespace) -> tuple[dict[str, Any], str | None]:
    """The JWKS to serve and, for a generated key, a sample token signed by it."""
    from cognito_authz.jwks import parse_jwks

    if args.keys is not None and args.key_out is not None:
        raise CliError("--key-out saves a generated key; --keys names existing keys")
    if args.keys is None:
        issuer = _issuer(args.pool, _DEFAULT_CLIENT, None, None)
        if args.key_out is not None:
            _save_private_key(issuer.private_key(), args.key_out)
        return issuer.jwks, issuer.mint_access_token()
    text = _peek(args.keys)
    if "PRIVATE KEY-----" in text:
        return _issuer(args.pool, _DEFAULT_CLIENT, None, args.keys).jwks, None
    document = read_json_file(args.keys, "JWKS file")
    # The strict parser the verifier uses: serving a JWKS that no verifier would accept helps nobody.
    parse_jwks(document)
    if not isinstance(document, dict):  # pragma: no cover - parse_jwks requires an object
        raise CliError(f"{args.keys} is not a JWKS object")
    return document, None


def _peek(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(4096)
    except OSError as exc:
        raise CliError(f"cannot read keys {path}: {exc.strerror or exc}") from None


def _handler_class(body: bytes, paths: frozenset[str], served: list[int]) -> type[BaseHTTPRequestHandler]:
    class JwksHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Stock http.server otherwise adds ~40 ms per response (Nagle + delayed ACK).
        disable_nagle_algorithm = True
        server_version = "cognito-authz-jwks"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            status, payload = (200, body) if path in paths else (404, b'{"message":"not found"}')
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True
            served[0] += 1

        def log_message(self, format: str, *args: Any) -> None:
            print(f"{self.address_string()} {format % args}", file=sys.stderr)

    return JwksHandler


def run_jwks_serve(args: argparse.Namespace) -> int:
    from cognito_authz.verifier import cognito_issuer

    if not 0 <= args.port <= 65535:
        raise CliError("--port must be between 0 and 65535")
    if args.duration is not None and args.duration <= 0:
        raise CliError("--duration must be a positive number of seconds")
    issuer_url = cognito_issuer(args.pool)  # validates the pool id before anything listens
    document, sample = _served_jwks(args)
    body = json.dumps(document).encode("utf-8")
    pool_path = f"/{args.pool}/.well-known/jwks.json"
    served = [0]
    handler = _handler_class(body, frozenset({pool_path, "/.well-known/jwks.json"}), served)
    try:
        server = HTTPServer(("127.0.0.1", args.port), handler)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    # handle_request() returns after this long without a request, so --duration and Ctrl-C are noticed.
    server.timeout = 0.2
    port = server.server_address[1]
    with server:
        print(f"serving JWKS at http://127.0.0.1:{port}{pool_path}", flush=True)
        print(f"issuer (iss) of tokens for this pool: {issuer_url}")
        print(f"keys: {', '.join(str(k.get('kid')) for k in document.get('keys', []))}")
        if sample is not None:
            print(f"sample access token (a new key; --key-out keeps it): {sample}")
        if not args.once and args.duration is None:
            print("stop with Ctrl-C")
        sys.stdout.flush()
        deadline = None if args.duration is None else time.monotonic() + args.duration
        try:
            while not (args.once and served[0]) and (deadline is None or time.monotonic() < deadline):
                server.handle_request()
        except KeyboardInterrupt:
            pass  # the normal way to stop
    print(f"stopped after {served[0]} request(s)", file=sys.stderr)
    return 0
