"""LocalIssuer: a Cognito user pool in miniature for tests — RSA keys, real-shaped tokens, JWKS over HTTP.

It mints what Cognito mints (docs/testing.md):

* :meth:`LocalIssuer.sign_in` returns the ID and access token of a user sign-in with Cognito's stock
  claim sets: user attributes (``email``, ``custom:*``) in the ID token only; :meth:`mint_m2m_token` a
  client-credentials (machine-to-machine) access token. With ``trigger=`` a pre token generation handler
  (yours, or :class:`cognito_authz.triggers.PreTokenGenerationTrigger`) runs on a version 2 or 3 event
  and its ``claimsAndScopeOverrideDetails`` is applied the way Cognito applies it.
* Two signing keys, as a Cognito pool has: ID tokens are signed with one and access tokens with the other
  ("Amazon Cognito signs access tokens with a different key from the key that signs ID tokens",
  https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html).
* The ORIGINAL or UPDATED issuer (``issuer_type``), and a replica region's ORIGINAL issuer (``region``).
* These tokens are signed with PyJWT, not with anything of ours, so tests of the verifier do not check
  our parser against itself.

:meth:`forge_token` (formerly ``mint``) and the ``claims=``/``omit=``/``headers=`` overrides of
:meth:`mint_access_token` and :meth:`mint_id_token` sign anything at all, for attack tests: such tokens
are not what Cognito would issue.

The JWKS is served over plain HTTP on 127.0.0.1 at ``/{pool_id}/.well-known/jwks.json``, the way moto
does it; :meth:`LocalIssuer.verifier` wires a :class:`CognitoVerifier` to it (``jwks_uri`` plus
``allow_http``). With ``serve=False`` there is no server at all and the verifier gets the keys through
``load_jwks``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cognito_authz.errors import ConfigError
from cognito_authz.partitions import IssuerForm, issuer_url, pool_region
from cognito_authz.testing.trigger_sim import apply_trigger_response, trigger_event
from cognito_authz.token import b64url_encode
from cognito_authz.verifier import CognitoVerifier, TokenUse

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_M2M_SCOPES", "DEFAULT_POOL_ID", "CognitoTokens", "LocalIssuer"]

DEFAULT_POOL_ID = "us-east-1_LocalTest"
DEFAULT_CLIENT_ID = "localtestclient00000000000"  # 26 characters, like a Cognito app client id
DEFAULT_SCOPES = ("aws.cognito.signin.user.admin",)  # what initiate_auth grants
DEFAULT_M2M_SCOPES = ("local-api/read",)  # client credentials grant only custom (resource server) scopes
TriggerHandler = Callable[[dict[str, Any], Any], Any]


class CognitoTokens(NamedTuple):
    """The tokens of one sign-in."""

    id_token: str
    access_token: str


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def _json(value: Mapping[str, Any] | str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _uint(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _cognito_kid(key: rsa.RSAPrivateKey) -> str:
    # Cognito kids are standard base64 of a digest ('+', '/' and '=' included); mimic that so verifiers
    # are exercised with kids that are not URL-safe.
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def _sign(key: rsa.RSAPrivateKey, data: bytes, algorithm: str) -> bytes:
    if algorithm == "none":
        return b""
    family, bits = algorithm[:2], algorithm[2:]
    hash_type = _HASHES.get(bits)
    if hash_type is None or family not in ("RS", "PS"):
        raise ConfigError(f"LocalIssuer cannot sign with {algorithm!r} (RS*, PS* or none)")
    if family == "RS":
        return key.sign(data, padding.PKCS1v15(), hash_type())
    pss = padding.PSS(mgf=padding.MGF1(hash_type()), salt_length=padding.PSS.DIGEST_LENGTH)
    return key.sign(data, pss, hash_type())


class LocalIssuer:
    """A local, Cognito-shaped token issuer. Use as a context manager, or call start()/stop().

    ``signing_key`` signs with an existing RSA key instead of generating one (so do ``add_key``).
    ``rotate_keys()`` adds a new signing key (``keep_previous=False`` also removes the old ones, so tokens
    they signed stop verifying once a verifier refreshes). ``request_count`` counts HTTP requests served.
    """

    def __init__(
        self,
        user_pool_id: str = DEFAULT_POOL_ID,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        issuer: str | None = None,
        issuer_type: IssuerForm = "original",
        region: str | None = None,
        serve: bool = True,
        key_size: int = 2048,
        clock: Callable[[], float] = time.time,
        signing_key: rsa.RSAPrivateKey | None = None,
        trigger: TriggerHandler | None = None,
        trigger_version: Literal["2", "3"] = "2",
    ) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self._custom_issuer = issuer is not None
        self.issuer_type: IssuerForm = issuer_type
        self.issuer = issuer if issuer is not None else issuer_url(user_pool_id, issuer_type, region)
        self.region = region
        if trigger is not None and not callable(trigger):
            raise ConfigError("trigger must be a callable handler(event, context)")
        if trigger_version not in ("2", "3"):
            raise ConfigError("trigger_version must be '2' or '3' (version 1 cannot customize access tokens)")
        self.trigger = trigger
        self.trigger_version = trigger_version
        self.serve = serve
        self.key_size = key_size
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._jwks: dict[str, Any] = {"keys": []}
        self._jwks_body = b""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._request_count = 0
        # Which key signs which token use; rotate_keys/add_key make the new key sign both.
        self._role_kids: dict[TokenUse, str] = {}
        if signing_key is None:
            id_kid = self.rotate_keys()
            self.rotate_keys()  # the newest key signs access tokens, the first ID tokens
            self._role_kids["id"] = id_kid
        else:
            self.add_key(signing_key)

    # -- keys ------------------------------------------------------------------------------------

    def rotate_keys(self, keep_previous: bool = True) -> str:
        """Generate a new RSA key that signs from now on; returns its kid."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
        kid = _cognito_kid(key)
        keys = dict(self._keys) if keep_previous else {}
        keys[kid] = key
        self._publish(keys)
        self._role_kids = {"id": kid, "access": kid}
        return kid

    def add_key(self, key: rsa.RSAPrivateKey, keep_previous: bool = True) -> str:
        """Sign from now on with an existing RSA key (a developer's PEM key); returns its kid."""
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("LocalIssuer signs with RSA private keys")
        kid = _cognito_kid(key)
        keys = dict(self._keys) if keep_previous else {}
        keys.pop(kid, None)  # re-adding a key makes it the newest, so it signs by default
        keys[kid] = key
        self._publish(keys)
        self._role_kids = {"id": kid, "access": kid}
        return kid

    def _publish(self, keys: dict[str, rsa.RSAPrivateKey]) -> None:
        entries = []
        for kid, key in keys.items():
            numbers = key.public_key().public_numbers()
            entries.append(
                {
                    "alg": "RS256",
                    "e": _uint(numbers.e),
                    "kid": kid,
                    "kty": "RSA",
                    "n": _uint(numbers.n),
                    "use": "sig",
                }
            )
        jwks = {"keys": entries}
        body = json.dumps(jwks).encode("utf-8")
        with self._lock:  # the HTTP handler reads both; swap them together
            self._keys = keys
            self._jwks = jwks
            self._jwks_body = body

    @property
    def kid(self) -> str:
        """The kid of the newest key, which signs access tokens."""
        return next(reversed(self._keys))

    @property
    def id_kid(self) -> str:
        """The kid of the key that signs ID tokens (the other key of a fresh issuer, as on Cognito)."""
        return self._role_kids["id"]

    @property
    def kids(self) -> tuple[str, ...]:
        """Every kid in the published JWKS, oldest first."""
        return tuple(self._keys)

    @property
    def jwks(self) -> dict[str, Any]:
        """The public JWKS document (a fresh copy; mutating it changes nothing)."""
        return json.loads(self._jwks_body)  # type: ignore[no-any-return]

    def private_key(self, kid: str | None = None) -> rsa.RSAPrivateKey:
        """The private key for ``kid`` (default: the current one), for tests that sign by hand."""
        key = self._keys.get(kid if kid is not None else self.kid)
        if key is None:
            raise ConfigError(f"LocalIssuer has no key {kid!r}")
        return key

    # -- minting ---------------------------------------------------------------------------------

    def forge_token(
        self,
        claims: Mapping[str, Any] | str | bytes,
        headers: Mapping[str, Any] | str | bytes | None = None,
        *,
        kid: str | None = None,
        algorithm: str = "RS256",
    ) -> str:
        """Sign exactly these claims under exactly these headers (default ``{"kid", "alg"}``): anything at
        all, for attack tests. Nothing checks that Cognito would ever issue such a token.

        ``claims`` and ``headers`` may be JSON text (str/bytes) used verbatim, for tests that need
        duplicate keys or odd numbers. ``kid`` picks the signing key, ``algorithm`` the signature scheme
        (RS256/384/512, PS256/384/512 or ``none``), independently of what the header claims.
        """
        key = self.private_key(kid)
        if headers is None:
            headers = {"kid": kid if kid is not None else self.kid, "alg": algorithm}
        signing_input = f"{b64url_encode(_json(headers))}.{b64url_encode(_json(claims))}"
        signature = _sign(key, signing_input.encode("ascii"), algorithm)
        return f"{signing_input}.{b64url_encode(signature)}"

    #: The old name of :meth:`forge_token`, kept working.
    mint = forge_token

    def _sign_cognito(self, claims: Mapping[str, Any], use: TokenUse, kid: str | None) -> str:
        """Sign a token Cognito could issue: PyJWT, RS256, header ``{"kid", "alg"}`` like Cognito's."""
        chosen = kid if kid is not None else self._role_kids[use]
        # typ=None: Cognito's header has no typ, and PyJWT adds "JWT" unless told not to.
        return jwt.encode(
            dict(claims), self.private_key(chosen), algorithm="RS256", headers={"kid": chosen, "typ": None}
        )

    def _times(self, now: float | None, lifetime: float, auth_time: float | None) -> dict[str, int]:
        issued = int(self._clock() if now is None else now)
        return {
            "auth_time": int(issued if auth_time is None else auth_time),
            "exp": int(issued + lifetime),
            "iat": issued,
        }

    def _finish(
        self,
        use: TokenUse,
        claims: dict[str, Any],
        overrides: Mapping[str, Any] | None,
        omit: Iterable[str],
        headers: Mapping[str, Any] | None,
        omit_headers: Iterable[str],
        kid: str | None,
    ) -> str:
        omit, omit_headers = tuple(omit), tuple(omit_headers)
        if not (overrides or omit or headers or omit_headers):
            return self._sign_cognito(claims, use, kid)
        # Overridden: possibly nothing Cognito would issue, so the free-form signer, which signs anything.
        claims.update(overrides or {})
        for name in omit:
            claims.pop(name, None)
        signer = kid if kid is not None else self._role_kids[use]
        header: dict[str, Any] = {"kid": signer, "alg": "RS256"}
        header.update(headers or {})
        for name in omit_headers:
            header.pop(name, None)
        return self.forge_token(claims, header, kid=signer)

    @staticmethod
    def _sub(username: str) -> str:
        # Stable per username, like a real user's sub across logins.
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cognito-authz-local/{username}"))

    def _access_claims(
        self,
        sub: str | None,
        username: str,
        groups: list[str],
        scope: str,
        client_id: str | None,
        times: Mapping[str, int],
    ) -> dict[str, Any]:
        """A stock access token's claims, in Cognito's order."""
        body: dict[str, Any] = {"sub": sub if sub is not None else self._sub(username)}
        if groups:  # Cognito omits the claim for a user in no group
            body["cognito:groups"] = groups
        body.update(
            {
                "iss": self.issuer,
                "version": 2,
                "client_id": client_id if client_id is not None else self.client_id,
                "origin_jti": str(uuid.uuid4()),
                "event_id": str(uuid.uuid4()),
                "token_use": "access",
                "scope": scope,
                "auth_time": times["auth_time"],
                "exp": times["exp"],
                "iat": times["iat"],
                "jti": str(uuid.uuid4()),
                "username": username,
            }
        )
        return body

    def _id_claims(
        self,
        sub: str | None,
        username: str,
        groups: list[str],
        client_id: str | None,
        times: Mapping[str, int],
        attributes: Mapping[str, Any],
        email_verified: bool,
    ) -> dict[str, Any]:
        """A stock ID token's claims: Cognito's fixed claims and the user's attributes."""
        body: dict[str, Any] = {"sub": sub if sub is not None else self._sub(username)}
        if groups:
            body["cognito:groups"] = groups
        body.update(
            {
                "email_verified": email_verified,
                "iss": self.issuer,
                "cognito:username": username,
                "origin_jti": str(uuid.uuid4()),
                "aud": client_id if client_id is not None else self.client_id,
                "event_id": str(uuid.uuid4()),
                "token_use": "id",
                "auth_time": times["auth_time"],
                "exp": times["exp"],
                "iat": times["iat"],
                "jti": str(uuid.uuid4()),
            }
        )
        body.update(attributes)
        return body

    def mint_access_token(
        self,
        *,
        sub: str | None = None,
        username: str = "testuser",
        groups: Iterable[str] = (),
        scopes: Iterable[str] = DEFAULT_SCOPES,
        client_id: str | None = None,
        lifetime: float = 3600,
        now: float | None = None,
        auth_time: float | None = None,
        claims: Mapping[str, Any] | None = None,
        omit: Iterable[str] = (),
        headers: Mapping[str, Any] | None = None,
        omit_headers: Iterable[str] = (),
        kid: str | None = None,
    ) -> str:
        """An access token shaped like Cognito's; ``claims`` overrides or adds, ``omit`` removes claims,
        ``headers``/``omit_headers`` do the same to the header, ``kid`` picks the signing key.
        """
        times = self._times(now, lifetime, auth_time)
        body = self._access_claims(sub, username, list(groups), " ".join(scopes), client_id, times)
        return self._finish("access", body, claims, omit, headers, omit_headers, kid)

    def mint_id_token(
        self,
        *,
        sub: str | None = None,
        username: str = "testuser",
        groups: Iterable[str] = (),
        client_id: str | None = None,
        email: str | None = None,
        email_verified: bool = True,
        custom_attributes: Mapping[str, str] | None = None,
        lifetime: float = 3600,
        now: float | None = None,
        auth_time: float | None = None,
        claims: Mapping[str, Any] | None = None,
        omit: Iterable[str] = (),
        headers: Mapping[str, Any] | None = None,
        omit_headers: Iterable[str] = (),
        kid: str | None = None,
    ) -> str:
        """An ID token shaped like Cognito's; ``custom_attributes`` become ``custom:*`` string claims.
        The override arguments work as in :meth:`mint_access_token`.
        """
        times = self._times(now, lifetime, auth_time)
        attributes = {"email": email if email is not None else f"{username}@example.com"}
        for name, value in (custom_attributes or {}).items():
            attributes[name if name.startswith("custom:") else f"custom:{name}"] = value
        body = self._id_claims(sub, username, list(groups), client_id, times, attributes, email_verified)
        return self._finish("id", body, claims, omit, headers, omit_headers, kid)

    # -- what Cognito issues ----------------------------------------------------------------------

    def sign_in(
        self,
        username: str = "testuser",
        *,
        groups: Iterable[str] = (),
        attributes: Mapping[str, str] | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        client_id: str | None = None,
        sub: str | None = None,
        lifetime: float = 3600,
        now: float | None = None,
    ) -> CognitoTokens:
        """The ID and access token Cognito issues when ``username`` signs in.

        ``attributes`` are the user's attributes (``email``, ``custom:tenant_id``, ...): the ID token carries
        them, the access token does not, unless the issuer's ``trigger`` copies them there.
        """
        attrs = {"email": f"{username}@example.com", **(attributes or {})}
        for name, value in attrs.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise ConfigError("user attributes are strings, as Cognito stores them")
        group_list = list(groups)
        times = self._times(now, lifetime, None)
        id_claims = self._id_claims(sub, username, group_list, client_id, times, attrs, True)
        access = self._access_claims(sub, username, group_list, " ".join(scopes), client_id, times)
        self._run_trigger("TokenGeneration_Authentication", username, id_claims, attrs, group_list, access)
        return CognitoTokens(
            self._sign_cognito(id_claims, "id", None), self._sign_cognito(access, "access", None)
        )

    def mint_m2m_token(
        self,
        *,
        client_id: str | None = None,
        scopes: Iterable[str] = DEFAULT_M2M_SCOPES,
        lifetime: float = 3600,
        now: float | None = None,
    ) -> str:
        """A client-credentials (machine-to-machine) access token: ``sub`` is the client id, no user, no
        groups. A version 3 ``trigger`` runs on it (version 2 triggers never see client credentials)."""
        client = client_id if client_id is not None else self.client_id
        times = self._times(now, lifetime, None)
        claims: dict[str, Any] = {
            "sub": client,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": times["auth_time"],
            "iss": self.issuer,
            "exp": times["exp"],
            "iat": times["iat"],
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client,
        }
        if self.trigger is not None and self.trigger_version == "3":
            self._run_trigger("TokenGeneration_ClientCredentials", client, None, {}, [], claims)
        return self._sign_cognito(claims, "access", None)

    def _run_trigger(
        self,
        source: str,
        username: str,
        id_claims: dict[str, Any] | None,
        attributes: Mapping[str, str],
        groups: list[str],
        access: dict[str, Any],
    ) -> None:
        """Send the trigger Cognito's event and apply its answer to the claims (testing/trigger_sim.py)."""
        if self.trigger is None:
            return
        event = trigger_event(
            self.trigger_version,
            source,
            region=self._region(),
            user_pool_id=self.user_pool_id,
            username=username,
            id_claims=id_claims,
            attributes=attributes,
            groups=groups,
            access=access,
        )
        apply_trigger_response(self.trigger(event, None), id_claims, access)

    def _region(self) -> str:
        try:
            return pool_region(self.user_pool_id)
        except ConfigError:  # a free-form pool id with an explicit issuer
            return "us-east-1"

    # -- verifier wiring -------------------------------------------------------------------------

    def verifier(self, token_use: TokenUse | None = "access", **kwargs: Any) -> CognitoVerifier:
        """A verifier for this issuer's pool and client; ``kwargs`` override any constructor argument.

        Serving: the verifier fetches from :attr:`jwks_uri` (plain HTTP allowed). ``serve=False``: the
        verifier is offline and holds the current keys (call its ``load_jwks(issuer.jwks)`` after a
        rotation).
        """
        options: dict[str, Any] = {"client_id": self.client_id, "token_use": token_use}
        if self._custom_issuer:
            options["issuer"] = self.issuer
        elif self.region is not None:
            options["replica_regions"] = [self.region]  # tokens name the replica's region
        if self.serve:
            options.update(jwks_uri=self.jwks_uri, allow_http=True)
        else:
            options["offline"] = True
        options.update(kwargs)
        verifier = CognitoVerifier(self.user_pool_id, **options)
        if not self.serve:
            verifier.load_jwks(self.jwks)
        return verifier

    # -- HTTP server -----------------------------------------------------------------------------

    @property
    def jwks_path(self) -> str:
        """The path the JWKS is served at, like moto and Cognito: ``/{pool_id}/.well-known/jwks.json``."""
        return f"/{self.user_pool_id}/.well-known/jwks.json"

    @property
    def jwks_uri(self) -> str:
        """``http://127.0.0.1:{port}/{pool_id}/.well-known/jwks.json`` once started."""
        if self._server is None:
            raise ConfigError("LocalIssuer is not serving: call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.jwks_path}"

    @property
    def request_count(self) -> int:
        """HTTP requests served so far (any path)."""
        with self._lock:
            return self._request_count

    def _respond(self) -> tuple[int, bytes]:
        with self._lock:
            self._request_count += 1
            return 200, self._jwks_body

    def start(self) -> LocalIssuer:
        """Start serving the JWKS on an ephemeral 127.0.0.1 port (no-op with ``serve=False``)."""
        if not self.serve or self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="LocalIssuer", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop the server and release its port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.jwks_uri if self._server is not None else "not serving"
        return f"LocalIssuer({self.user_pool_id!r}, issuer={self.issuer!r}, {where})"


def _handler_for(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class JwksHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without this, stock http.server adds ~40 ms (Nagle + delayed ACK) to each response.
        disable_nagle_algorithm = True
        server_version = "cognito-authz-LocalIssuer"

        def do_GET(self) -> None:
            status, body = issuer._respond()
            if urlsplit(self.path).path != issuer.jwks_path:
                status, body = 404, b'{"message":"not found"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            # One request per connection: a test's verifier is rarely closed, and a kept-alive socket
            # left to the garbage collector surfaces as a ResourceWarning in someone else's test.
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests assert on request_count; access logs on stderr are noise

    return JwksHandler
