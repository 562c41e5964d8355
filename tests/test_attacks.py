"""One test per attack class (docs/security.md): each asserts the error class AND its reason code.

Tokens come from the session LocalIssuer (JWKS over loopback HTTP) with a fixed clock, so time-based
cases are exact; attacks that must not cause a key fetch assert the JWKS server saw no request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from cognito_authz import CognitoVerifier
from cognito_authz.errors import (
    REASONS,
    ExpiredTokenError,
    ForbiddenHeaderError,
    InvalidClaimError,
    InvalidKeyError,
    InvalidSignatureError,
    JwksError,
    MalformedTokenError,
    MissingClaimError,
    NotYetValidError,
    TokenError,
    TokenTooLargeError,
    UnknownIssuerError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    WrongClientError,
    WrongTokenUseError,
)
from cognito_authz.testing import LocalIssuer
from cognito_authz.token import b64url_encode

NOW = 1_700_000_000
POOL = "us-east-1_LocalTest"


def at(t: float) -> Callable[[], float]:
    return lambda: t


def raw_token(header: Any, claims: Any, signature: bytes) -> str:
    def enc(value: Any) -> str:
        return b64url_encode(value if isinstance(value, bytes) else json.dumps(value).encode())

    return f"{enc(header)}.{enc(claims)}.{b64url_encode(signature)}"


def signing_input(token: str) -> bytes:
    return token.rsplit(".", 1)[0].encode()


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def rejects(verifier: CognitoVerifier, token: object, cls: type[Exception], reason: str) -> Any:
    with pytest.raises(cls) as info:
        verifier.verify(token)
    error = info.value
    assert getattr(error, "reason", None) == reason, f"got {error!r} [{getattr(error, 'reason', '?')}]"
    assert reason in REASONS
    return error


@pytest.fixture
def verifier(issuer: LocalIssuer) -> CognitoVerifier:
    return issuer.verifier("access", clock=at(NOW + 10))


@pytest.fixture
def good(issuer: LocalIssuer) -> str:
    return issuer.mint_access_token(now=NOW, groups=["admin"])


@pytest.fixture
def no_fetch(issuer: LocalIssuer) -> Iterator[None]:
    """Asserts that the test body caused no request to the issuer's JWKS server."""
    before = issuer.request_count
    yield
    assert issuer.request_count == before, "the attack caused a JWKS fetch"


def test_baseline_the_untampered_token_verifies(verifier: CognitoVerifier, good: str) -> None:
    assert verifier.verify(good).groups == ("admin",)


# -- algorithm confusion ----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"garbage"])
def test_alg_none(
    verifier: CognitoVerifier, issuer: LocalIssuer, alg: str, signature: bytes, no_fetch: None
) -> None:
    claims = claims_of(issuer.mint_access_token(now=NOW))
    rejects(
        verifier,
        raw_token({"kid": issuer.kid, "alg": alg}, claims, signature),
        UnsupportedAlgorithmError,
        "unsupported_alg",
    )


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("pem_format", ["spki", "pkcs1"])
def test_hmac_signed_with_the_public_key(
    verifier: CognitoVerifier, issuer: LocalIssuer, alg: str, pem_format: str, no_fetch: None
) -> None:
    public = issuer.private_key().public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo
        if pem_format == "spki"
        else serialization.PublicFormat.PKCS1,
    )
    header = {"kid": issuer.kid, "alg": alg}
    unsigned = raw_token(header, claims_of(issuer.mint_access_token(now=NOW)), b"")[:-1]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    token = unsigned + "." + b64url_encode(hmac.new(pem, unsigned.encode(), digest).digest())
    rejects(verifier, token, UnsupportedAlgorithmError, "unsupported_alg")


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "PS384", "PS512"])
def test_other_rsa_schemes_against_an_rs256_key(
    verifier: CognitoVerifier, issuer: LocalIssuer, alg: str, no_fetch: None
) -> None:
    token = issuer.mint(claims_of(issuer.mint_access_token(now=NOW)), algorithm=alg)
    rejects(verifier, token, UnsupportedAlgorithmError, "unsupported_alg")


def test_rs384_allowed_but_the_jwk_says_rs256(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", clock=at(NOW + 10), algorithms=("RS256", "RS384"))
    token = issuer.mint(claims_of(issuer.mint_access_token(now=NOW)), algorithm="RS384")
    rejects(verifier, token, InvalidKeyError, "unusable_key")


def test_es256(verifier: CognitoVerifier, issuer: LocalIssuer, no_fetch: None) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    header = {"kid": issuer.kid, "alg": "ES256"}
    unsigned = raw_token(header, claims_of(issuer.mint_access_token(now=NOW)), b"")[:-1]
    signature = key.sign(unsigned.encode(), ec.ECDSA(hashes.SHA256()))
    rejects(verifier, unsigned + "." + b64url_encode(signature), UnsupportedAlgorithmError, "unsupported_alg")


# -- kid --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["<missing>", "", None, 0, 1, True, ["k"], {"kid": "k"}])
def test_kid_missing_empty_or_not_a_string(
    verifier: CognitoVerifier, issuer: LocalIssuer, kid: Any, no_fetch: None
) -> None:
    header: dict[str, Any] = {"alg": "RS256"}
    if kid != "<missing>":
        header["kid"] = kid
    token = issuer.mint(claims_of(issuer.mint_access_token(now=NOW)), header)
    error = rejects(verifier, token, MalformedTokenError, "bad_header")
    assert error.field == "kid"


@pytest.mark.parametrize("kid", ["unknown-kid", "dummy", "../../etc/passwd", "K" * 200])
def test_unknown_kid(issuer: LocalIssuer, kid: str) -> None:
    verifier = issuer.verifier("access", clock=at(NOW + 10))
    token = issuer.mint_access_token(now=NOW, headers={"kid": kid})
    rejects(verifier, token, UnknownKeyError, "unknown_kid")


def test_kid_differing_by_case_or_whitespace_is_unknown(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", clock=at(NOW + 10))
    for kid in (issuer.kid.lower(), issuer.kid + " ", " " + issuer.kid):
        if kid != issuer.kid:
            rejects(
                verifier,
                issuer.mint_access_token(now=NOW, headers={"kid": kid}),
                UnknownKeyError,
                "unknown_kid",
            )


def test_kid_flood_costs_one_fetch_per_cooldown(issuer: LocalIssuer, good: str) -> None:
    verifier = issuer.verifier("access", clock=at(NOW + 10), kid_miss_cooldown=3600)
    verifier.verify(good)  # the initial fetch
    before = issuer.request_count
    for index in range(50):
        token = issuer.mint_access_token(now=NOW, headers={"kid": f"random-{index}"})
        rejects(verifier, token, UnknownKeyError, "unknown_kid")
    assert issuer.request_count - before == 1


# -- header parameters that would pick the key or change what is signed -----------------------------

FORBIDDEN = [
    ("jku", "https://attacker.example/jwks.json"),
    ("x5u", "https://attacker.example/cert.pem"),
    ("jwk", {"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
    ("x5c", ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
    ("crit", ["exp"]),
    ("crit", []),
    ("b64", False),
    ("b64", True),
    ("zip", "DEF"),
    ("cty", "JWT"),
    ("cty", "jwt"),
    ("cty", "application/json"),
]


@pytest.mark.parametrize(("name", "value"), FORBIDDEN)
def test_forbidden_header(
    verifier: CognitoVerifier, issuer: LocalIssuer, name: str, value: Any, no_fetch: None
) -> None:
    token = issuer.mint_access_token(now=NOW, headers={name: value})
    error = rejects(verifier, token, ForbiddenHeaderError, "forbidden_header")
    assert error.header == name


def test_nested_jwt_in_the_payload(verifier: CognitoVerifier, issuer: LocalIssuer, good: str) -> None:
    # A signed token whose payload is itself a token: with cty refused the payload must be an object.
    token = issuer.mint(json.dumps(good), {"kid": issuer.kid, "alg": "RS256", "cty": "JWT"})
    rejects(verifier, token, ForbiddenHeaderError, "forbidden_header")
    token = issuer.mint(json.dumps(good), {"kid": issuer.kid, "alg": "RS256"})
    rejects(verifier, token, MalformedTokenError, "bad_json")


@pytest.mark.parametrize("segments", [1, 2, 4, 5])
def test_wrong_segment_count(verifier: CognitoVerifier, good: str, segments: int, no_fetch: None) -> None:
    parts = good.split(".")
    shaped = (parts * 2)[:segments]  # 5 segments is the shape of a JWE
    rejects(verifier, ".".join(shaped), MalformedTokenError, "bad_segments")


def test_jwe_shaped_token(verifier: CognitoVerifier, no_fetch: None) -> None:
    header = b64url_encode(json.dumps({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "k"}).encode())
    rejects(verifier, f"{header}.AAAA.AAAA.AAAA.AAAA", MalformedTokenError, "bad_segments")


# -- token use, client, issuer ----------------------------------------------------------------------


def test_id_token_where_access_is_required(verifier: CognitoVerifier, issuer: LocalIssuer) -> None:
    error = rejects(verifier, issuer.mint_id_token(now=NOW), WrongTokenUseError, "wrong_token_use")
    assert (error.expected, error.actual) == ("access", "id")


def test_access_token_where_id_is_required(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("id", clock=at(NOW + 10))
    error = rejects(verifier, issuer.mint_access_token(now=NOW), WrongTokenUseError, "wrong_token_use")
    assert (error.expected, error.actual) == ("id", "access")


@pytest.mark.parametrize("token_use", ["refresh", "ID", "", "access "])
def test_token_use_that_is_neither(issuer: LocalIssuer, token_use: str) -> None:
    verifier = issuer.verifier(None, clock=at(NOW + 10))
    token = issuer.mint_access_token(now=NOW, claims={"token_use": token_use})
    rejects(verifier, token, InvalidClaimError, "invalid_claim")


@pytest.mark.parametrize("token_use", ["id", "access"])
@pytest.mark.parametrize(
    "client", ["another-client-id", "LOCALTESTCLIENT00000000000", "localtestclient00000000000 "]
)
def test_another_app_client(issuer: LocalIssuer, token_use: Any, client: str) -> None:
    verifier = issuer.verifier(token_use, clock=at(NOW + 10))
    mint = issuer.mint_id_token if token_use == "id" else issuer.mint_access_token
    error = rejects(verifier, mint(now=NOW, client_id=client), WrongClientError, "wrong_client")
    assert error.claim == ("aud" if token_use == "id" else "client_id")


def test_id_token_client_in_the_wrong_claim(issuer: LocalIssuer) -> None:
    # An ID token names its client in aud; a client_id claim must not stand in for it.
    verifier = issuer.verifier("id", clock=at(NOW + 10))
    token = issuer.mint_id_token(now=NOW, omit=["aud"], claims={"client_id": issuer.client_id})
    error = rejects(verifier, token, MissingClaimError, "missing_claim")
    assert error.claim == "aud"


@pytest.mark.parametrize(
    "iss",
    [
        pytest.param("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool", id="another-pool"),
        pytest.param(f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}", id="another-region"),
        pytest.param(f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}/", id="trailing-slash"),
        pytest.param(f"http://cognito-idp.us-east-1.amazonaws.com/{POOL}", id="http-scheme"),
        pytest.param(f"https://cognito-idp.us-east-1.amazonaws.com.cn/{POOL}", id="china-partition"),
        pytest.param(f"https://COGNITO-IDP.us-east-1.amazonaws.com/{POOL}", id="case"),
        pytest.param(f"https://cognito-idp.us-east-1.amazonaws.com/{POOL.lower()}", id="pool-case"),
        pytest.param(f" https://cognito-idp.us-east-1.amazonaws.com/{POOL}", id="leading-space"),
        pytest.param("https://attacker.example", id="attacker"),
        pytest.param("", id="empty"),
    ],
)
def test_unconfigured_issuer_is_rejected_without_a_fetch(
    verifier: CognitoVerifier, issuer: LocalIssuer, iss: str, no_fetch: None
) -> None:
    assert issuer.issuer != iss
    token = issuer.mint_access_token(now=NOW, claims={"iss": iss})
    rejects(verifier, token, UnknownIssuerError, "unknown_issuer")
    assert verifier.jwks_cache().fetch_count == 0


@pytest.mark.parametrize("iss", [None, 5, True, [f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"], {}])
def test_issuer_of_the_wrong_type(
    verifier: CognitoVerifier, issuer: LocalIssuer, iss: Any, no_fetch: None
) -> None:
    error = rejects(
        verifier, issuer.mint_access_token(now=NOW, claims={"iss": iss}), InvalidClaimError, "invalid_claim"
    )
    assert error.claim == "iss"


def test_missing_issuer(verifier: CognitoVerifier, issuer: LocalIssuer, no_fetch: None) -> None:
    error = rejects(
        verifier, issuer.mint_access_token(now=NOW, omit=["iss"]), MissingClaimError, "missing_claim"
    )
    assert error.claim == "iss"


def test_key_of_one_pool_cannot_sign_for_another() -> None:
    # Two pools in one verifier: a token claiming pool B's issuer but signed by pool A's key must be
    # checked against B's keys only.
    with LocalIssuer("us-east-1_PoolA") as pool_a, LocalIssuer("us-east-1_PoolB") as pool_b:
        verifier = CognitoVerifier(
            ["us-east-1_PoolA", "us-east-1_PoolB"],
            client_id=pool_a.client_id,
            token_use="access",
            jwks_uri={"us-east-1_PoolA": pool_a.jwks_uri, "us-east-1_PoolB": pool_b.jwks_uri},
            allow_http=True,
            clock=at(NOW + 10),
        )
        forged = pool_a.mint_access_token(now=NOW, claims={"iss": pool_b.issuer})
        rejects(verifier, forged, UnknownKeyError, "unknown_kid")
        # ...even when the attacker reuses B's kid in the header.
        forged = pool_a.mint_access_token(now=NOW, claims={"iss": pool_b.issuer}, headers={"kid": pool_b.kid})
        rejects(verifier, forged, InvalidSignatureError, "invalid_signature")
        assert pool_a.request_count == 0
        assert verifier.verify(pool_a.mint_access_token(now=NOW)).issuer == pool_a.issuer


# -- signature --------------------------------------------------------------------------------------


def test_signature_by_another_key_under_our_kid(verifier: CognitoVerifier, issuer: LocalIssuer) -> None:
    with LocalIssuer(serve=False) as other:
        token = other.mint_access_token(now=NOW, headers={"kid": issuer.kid}, claims={"iss": issuer.issuer})
    rejects(verifier, token, InvalidSignatureError, "invalid_signature")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda c: {**c, "cognito:groups": ["admin", "root"]}, id="add-group"),
        pytest.param(lambda c: {**c, "exp": c["exp"] + 86400}, id="extend-exp"),
        pytest.param(lambda c: {**c, "sub": "someone-else"}, id="change-sub"),
        pytest.param(lambda c: {k: v for k, v in c.items() if k != "scope"}, id="drop-scope"),
    ],
)
def test_tampered_payload(
    verifier: CognitoVerifier, good: str, tamper: Callable[[dict[str, Any]], Any]
) -> None:
    header, _, signature = good.split(".")
    payload = b64url_encode(json.dumps(tamper(claims_of(good))).encode())
    rejects(verifier, f"{header}.{payload}.{signature}", InvalidSignatureError, "invalid_signature")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda s: b"", id="empty"),
        pytest.param(lambda s: s[:-1], id="truncated"),
        pytest.param(lambda s: s + b"\x00", id="extended"),
        pytest.param(lambda s: b"\x00" + s, id="leading-zero"),
        pytest.param(lambda s: bytes([s[0] ^ 1]) + s[1:], id="bit-flip"),
        pytest.param(lambda s: b"\xff" * len(s), id="all-ones"),
    ],
)
def test_mangled_signature(verifier: CognitoVerifier, good: str, signature: Callable[[bytes], bytes]) -> None:
    head, sig = good.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    rejects(verifier, f"{head}.{b64url_encode(signature(raw))}", InvalidSignatureError, "invalid_signature")


# -- time claims ------------------------------------------------------------------------------------

TIME_CASES = [
    # (leeway, exp - now, nbf - now or None, iat - now, expected reason or None)
    pytest.param(0, 1, None, -10, None, id="valid"),
    pytest.param(0, 0, None, -10, "token_expired", id="exp-equals-now"),
    pytest.param(0, -1, None, -10, "token_expired", id="expired"),
    pytest.param(60, -59, None, -100, None, id="expired-within-leeway"),
    pytest.param(60, -60, None, -100, "token_expired", id="expired-at-leeway"),
    pytest.param(60, -61, None, -100, "token_expired", id="expired-beyond-leeway"),
    pytest.param(0, 100, 1, -10, "token_not_yet_valid", id="nbf-future"),
    pytest.param(0, 100, 0, -10, None, id="nbf-now"),
    pytest.param(60, 100, 60, -10, None, id="nbf-at-leeway"),
    pytest.param(60, 100, 61, -10, "token_not_yet_valid", id="nbf-beyond-leeway"),
    # iat has its own small default allowance (DEFAULT_IAT_LEEWAY = 5 s); exp and nbf do not.
    pytest.param(0, 100, None, 5, None, id="iat-future-within-default-allowance"),
    pytest.param(0, 100, None, 6, "token_not_yet_valid", id="iat-future"),
    pytest.param(0, 100, None, 0, None, id="iat-now"),
    pytest.param(300, 1000, None, 300, None, id="iat-at-max-leeway"),
    pytest.param(300, 1000, None, 301, "token_not_yet_valid", id="iat-beyond-max-leeway"),
]


@pytest.mark.parametrize(("leeway", "exp", "nbf", "iat", "reason"), TIME_CASES)
def test_time_claims_on_both_sides_of_the_leeway(
    issuer: LocalIssuer, leeway: float, exp: int, nbf: int | None, iat: int, reason: str | None
) -> None:
    verifier = issuer.verifier("access", clock=at(NOW), leeway=leeway)
    claims: dict[str, Any] = {"exp": NOW + exp, "iat": NOW + iat}
    if nbf is not None:
        claims["nbf"] = NOW + nbf
    token = issuer.mint_access_token(now=NOW, claims=claims)
    if reason is None:
        assert verifier.verify(token).sub
        return
    cls = ExpiredTokenError if reason == "token_expired" else NotYetValidError
    rejects(verifier, token, cls, reason)


def test_iat_allowance_can_be_turned_off(issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(now=NOW, claims={"iat": NOW + 1})
    assert issuer.verifier("access", clock=at(NOW)).verify(token).sub
    rejects(
        issuer.verifier("access", clock=at(NOW), iat_leeway=0), token, NotYetValidError, "token_not_yet_valid"
    )


def test_expiry_is_rechecked_on_a_token_cache_hit(issuer: LocalIssuer) -> None:
    now = [float(NOW)]
    verifier = issuer.verifier("access", clock=lambda: now[0])
    token = issuer.mint_access_token(now=NOW, lifetime=60)
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # served from the token cache
    now[0] = NOW + 60
    rejects(verifier, token, ExpiredTokenError, "token_expired")
    now[0] = NOW + 1  # the expired entry was dropped: a clock stepping back re-verifies from scratch
    assert verifier.verify(token) is not first


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_missing_required_time_claim(verifier: CognitoVerifier, issuer: LocalIssuer, claim: str) -> None:
    error = rejects(
        verifier, issuer.mint_access_token(now=NOW, omit=[claim]), MissingClaimError, "missing_claim"
    )
    assert error.claim == claim


BAD_NUMBERS = [
    pytest.param("1700003600", id="numeric-string"),
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param(None, id="null"),
    pytest.param([NOW + 100], id="list"),
    pytest.param({"value": NOW + 100}, id="object"),
    pytest.param(10**20, id="huge-int"),
    pytest.param(1e300, id="huge-float"),
    pytest.param(-1, id="negative"),
    pytest.param(253402300800, id="after-year-9999"),
]


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "auth_time"])
@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_time_claims_of_the_wrong_type_or_range(
    verifier: CognitoVerifier, issuer: LocalIssuer, claim: str, value: Any
) -> None:
    error = rejects(
        verifier, issuer.mint_access_token(now=NOW, claims={claim: value}), InvalidClaimError, "invalid_claim"
    )
    assert error.claim == claim


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_non_finite_numbers_are_not_json(
    verifier: CognitoVerifier, issuer: LocalIssuer, claim: str, literal: str, no_fetch: None
) -> None:
    claims = claims_of(issuer.mint_access_token(now=NOW))
    text = json.dumps(claims).replace(f'"{claim}": {claims[claim]}', f'"{claim}": {literal}')
    assert literal in text
    rejects(verifier, issuer.mint(text), MalformedTokenError, "bad_json")


def test_float_timestamps_are_numbers(verifier: CognitoVerifier, issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(now=NOW, claims={"exp": NOW + 100.5, "iat": NOW - 0.25})
    assert verifier.verify(token).claims["exp"] == NOW + 100.5


# -- other claims of the wrong type -----------------------------------------------------------------

WRONG_TYPES = [
    ("cognito:groups", "admin"),
    ("cognito:groups", "[admin]"),
    ("cognito:groups", [1]),
    ("cognito:groups", ["admin", None]),
    ("cognito:groups", {"admin": True}),
    ("scope", ["aws.cognito.signin.user.admin"]),
    ("scope", 1),
    ("sub", 42),
    ("sub", ""),
    ("sub", ["a"]),
    ("sub", None),
    ("client_id", 7),
    ("client_id", ["localtestclient00000000000"]),
    ("client_id", None),
    ("username", None),
    ("scope", None),
    ("cognito:groups", None),
    ("username", 5),
    ("jti", {"id": 1}),
    ("origin_jti", 1),
    ("event_id", False),
    ("version", "2"),
    ("version", True),
    ("version", 2.0),
    ("token_use", 1),
]


@pytest.mark.parametrize(("claim", "value"), WRONG_TYPES)
def test_access_token_claim_of_the_wrong_type(
    verifier: CognitoVerifier, issuer: LocalIssuer, claim: str, value: Any
) -> None:
    error = rejects(
        verifier, issuer.mint_access_token(now=NOW, claims={claim: value}), InvalidClaimError, "invalid_claim"
    )
    assert error.claim == claim


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("aud", ["localtestclient00000000000"]),
        ("aud", 1),
        ("email_verified", "yes"),
        ("email_verified", 1),
        ("cognito:username", ["bob"]),
        ("email", False),
    ],
)
def test_id_token_claim_of_the_wrong_type(issuer: LocalIssuer, claim: str, value: Any) -> None:
    verifier = issuer.verifier("id", clock=at(NOW + 10))
    error = rejects(
        verifier, issuer.mint_id_token(now=NOW, claims={claim: value}), InvalidClaimError, "invalid_claim"
    )
    assert error.claim == claim


@pytest.mark.parametrize("claim", ["sub", "token_use", "client_id"])
def test_missing_identity_claims(verifier: CognitoVerifier, issuer: LocalIssuer, claim: str) -> None:
    error = rejects(
        verifier, issuer.mint_access_token(now=NOW, omit=[claim]), MissingClaimError, "missing_claim"
    )
    assert error.claim == claim


# -- JSON, size, encoding, input type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "original", "duplicate"),
    [
        ("header", '"alg":"RS256"', '"alg":"RS256","alg":"none"'),
        ("header", '"kid":"', '"kid":"other","kid":"'),
        ("payload", '"sub":"', '"sub":"admin","sub":"'),
        ("payload", '"token_use":"access"', '"token_use":"id","token_use":"access"'),
        ("payload", '"client_id":"', '"client_id":"evil","client_id":"'),
    ],
)
def test_duplicate_json_keys(
    verifier: CognitoVerifier, issuer: LocalIssuer, part: str, original: str, duplicate: str, no_fetch: None
) -> None:
    header = json.dumps({"kid": issuer.kid, "alg": "RS256"}, separators=(",", ":"))
    claims = json.dumps(claims_of(issuer.mint_access_token(now=NOW)), separators=(",", ":"))
    if part == "header":
        assert original in header
        header = header.replace(original, duplicate, 1)
    else:
        assert original in claims
        claims = claims.replace(original, duplicate, 1)
    # Validly signed: only the duplicate-key rule stands between this token and acceptance.
    rejects(verifier, issuer.mint(claims, header), MalformedTokenError, "bad_json")


def test_over_long_token(verifier: CognitoVerifier, issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(now=NOW, claims={"pad": "x" * 7000})
    assert len(token) > 8192
    before = issuer.request_count
    rejects(verifier, token, TokenTooLargeError, "token_too_large")
    assert issuer.request_count == before
    roomy = issuer.verifier("access", clock=at(NOW + 10), max_token_bytes=16384)
    assert roomy.verify(token).claims["pad"] == "x" * 7000


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_non_canonical_base64url(
    verifier: CognitoVerifier, issuer: LocalIssuer, segment: int, no_fetch: None
) -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # Pad claims until the segment leaves unused bits, then set one: same bytes, second spelling.
    for pad in range(4):
        parts = issuer.mint_access_token(now=NOW, claims={"pad": "x" * pad}).split(".")
        if len(parts[segment]) % 4 in (2, 3):
            break
    else:  # pragma: no cover - 4 paddings always hit a non-multiple of 3
        pytest.fail("could not build a segment with unused bits")
    last = alphabet.index(parts[segment][-1])
    parts[segment] = parts[segment][:-1] + alphabet[last | 1]
    rejects(verifier, ".".join(parts), MalformedTokenError, "bad_base64")


@pytest.mark.parametrize(
    "mutate", [lambda t: t + "=", lambda t: t.replace("-", "+").replace("_", "/") + "+/"]
)
def test_padded_or_standard_base64(verifier: CognitoVerifier, good: str, mutate: Any, no_fetch: None) -> None:
    rejects(verifier, mutate(good), MalformedTokenError, "bad_base64")


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER ", "Bearer  "])
def test_bearer_prefix(verifier: CognitoVerifier, good: str, prefix: str, no_fetch: None) -> None:
    rejects(verifier, prefix + good, MalformedTokenError, "bearer_prefix")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty_token"),
        (None, "non_string_token"),
        (b"a.b.c", "non_string_token"),
        (42, "non_string_token"),
        (["a.b.c"], "non_string_token"),
    ],
)
def test_empty_and_non_string_input(
    verifier: CognitoVerifier, value: object, reason: str, no_fetch: None
) -> None:
    rejects(verifier, value, MalformedTokenError, reason)


def test_the_token_as_bytes_is_refused(verifier: CognitoVerifier, good: str) -> None:
    rejects(verifier, good.encode(), MalformedTokenError, "non_string_token")


# -- unusable JWKs ----------------------------------------------------------------------------------


def _jwks_with(issuer: LocalIssuer, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    jwks = issuer.jwks
    jwks["keys"] = [change(dict(key)) if key["kid"] == issuer.kid else key for key in jwks["keys"]]
    return jwks


def _without(key: dict[str, Any], name: str) -> dict[str, Any]:
    key.pop(name)
    return key


WEAK_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()

BAD_JWKS = [
    pytest.param(lambda k: {**k, "use": "enc"}, id="use-enc"),
    pytest.param(lambda k: {**k, "use": 1}, id="use-not-a-string"),
    pytest.param(lambda k: {**k, "kty": "oct", "k": b64url_encode(b"secret")}, id="kty-oct"),
    pytest.param(lambda k: {**k, "kty": "EC"}, id="kty-ec"),
    pytest.param(lambda k: _without(k, "kty"), id="kty-missing"),
    pytest.param(lambda k: _without(k, "n"), id="n-missing"),
    pytest.param(lambda k: _without(k, "e"), id="e-missing"),
    pytest.param(lambda k: {**k, "n": ""}, id="n-empty"),
    pytest.param(lambda k: {**k, "e": 65537}, id="e-not-a-string"),
    pytest.param(lambda k: {**k, "n": "!!notbase64!!"}, id="n-garbage"),
    pytest.param(lambda k: {**k, "alg": "RS512"}, id="alg-differs"),
    pytest.param(lambda k: {**k, "alg": "HS256"}, id="alg-hs256"),
    pytest.param(lambda k: {**k, "alg": 256}, id="alg-not-a-string"),
    pytest.param(
        lambda k: {**k, "n": b64url_encode(WEAK_KEY.n.to_bytes(128, "big")), "e": "AQAB"}, id="rsa-1024"
    ),
]


@pytest.mark.parametrize("change", BAD_JWKS)
def test_unusable_jwk(
    issuer: LocalIssuer, good: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    verifier = CognitoVerifier(
        POOL, client_id=issuer.client_id, token_use="access", offline=True, clock=at(NOW + 10)
    )
    verifier.load_jwks(_jwks_with(issuer, change))
    error = rejects(verifier, good, InvalidKeyError, "unusable_key")
    assert error.kid == issuer.kid


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda k: _without(k, "alg"), id="alg-absent"),
        pytest.param(lambda k: _without(k, "use"), id="use-absent"),
    ],
)
def test_optional_jwk_members_may_be_absent(issuer: LocalIssuer, good: str, change: Any) -> None:
    verifier = CognitoVerifier(
        POOL, client_id=issuer.client_id, token_use="access", offline=True, clock=at(NOW + 10)
    )
    verifier.load_jwks(_jwks_with(issuer, change))
    assert verifier.verify(good).groups == ("admin",)


def test_duplicate_kid_in_the_jwks_is_unusable(issuer: LocalIssuer, good: str) -> None:
    jwks = issuer.jwks
    with LocalIssuer(serve=False) as other:
        impostor = {**other.jwks["keys"][0], "kid": issuer.kid}
    jwks["keys"].append(impostor)
    verifier = CognitoVerifier(
        POOL, client_id=issuer.client_id, token_use="access", offline=True, clock=at(NOW + 10)
    )
    verifier.load_jwks(jwks)
    rejects(verifier, good, InvalidKeyError, "unusable_key")


def test_keys_unavailable_fail_closed(issuer: LocalIssuer, good: str) -> None:
    with LocalIssuer() as gone:
        uri = gone.jwks_uri
    verifier = issuer.verifier("access", clock=at(NOW + 10), jwks_uri=uri)
    error = rejects(verifier, good, JwksError, "jwks_fetch_failed")
    assert not isinstance(error, TokenError)


# -- properties: nothing but our errors, nothing verifies unless unchanged ---------------------------


@pytest.fixture(scope="module")
def offline() -> Iterator[tuple[LocalIssuer, CognitoVerifier, str]]:
    with LocalIssuer(serve=False) as local:
        verifier = local.verifier("access", clock=at(NOW + 10))
        yield local, verifier, local.mint_access_token(now=NOW, groups=["admin"], scopes=["a", "b"])


def outcome(verifier: CognitoVerifier, token: object) -> str:
    """``"ok"`` or the reason; any exception other than TokenError propagates and fails the test."""
    try:
        verifier.verify(token)
    except TokenError as exc:
        error: TokenError = exc
    else:
        return "ok"
    assert type(error).__module__ == "cognito_authz.errors"
    return error.reason


@given(st.one_of(st.text(max_size=400), st.binary(max_size=200), st.integers(), st.none(), st.floats()))
def test_arbitrary_input_never_verifies(
    offline: tuple[LocalIssuer, CognitoVerifier, str], value: object
) -> None:
    assert outcome(offline[1], value) in REASONS


_EDITS = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 10_000), st.characters(codec="ascii")),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.text(max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 8)),
    st.tuples(st.just("swap"), st.integers(0, 2), st.integers(0, 2)),
)


def _edit(token: str, edit: tuple[str, int, Any]) -> str:
    kind, where, what = edit
    index = where % (len(token) + 1)
    if kind == "replace":
        return token[:index] + what + token[index + 1 :]
    if kind == "insert":
        return token[:index] + what + token[index:]
    if kind == "delete":
        return token[:index] + token[index + what :]
    parts = token.split(".")
    first, second = where % len(parts), what % len(parts)
    parts[first], parts[second] = parts[second], parts[first]
    return ".".join(parts)


@given(st.lists(_EDITS, min_size=1, max_size=3))
def test_string_mutations_never_verify_unless_unchanged(
    offline: tuple[LocalIssuer, CognitoVerifier, str], edits: list[tuple[str, int, Any]]
) -> None:
    _, verifier, token = offline
    mutated = token
    for edit in edits:
        mutated = _edit(mutated, edit)
    result = outcome(verifier, mutated)
    assert (result == "ok") == (mutated == token), result


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_CLAIM_NAMES = st.sampled_from(
    [
        "sub",
        "iss",
        "exp",
        "iat",
        "nbf",
        "token_use",
        "client_id",
        "scope",
        "cognito:groups",
        "username",
        "kid",
        "alg",
        "jku",
        "crit",
        "version",
        "auth_time",
        "x",
    ]
)


@given(
    segment=st.sampled_from(["header", "payload"]),
    changes=st.dictionaries(_CLAIM_NAMES, _JSON_VALUES | st.just("<delete>"), min_size=1, max_size=3),
)
def test_structured_mutations_never_verify_unless_unchanged(
    offline: tuple[LocalIssuer, CognitoVerifier, str], segment: str, changes: dict[str, Any]
) -> None:
    _, verifier, token = offline
    parts = token.split(".")
    index = 0 if segment == "header" else 1
    decoded = json.loads(base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4)))
    for name, value in changes.items():
        if value == "<delete>":
            decoded.pop(name, None)
        else:
            decoded[name] = value
    parts[index] = b64url_encode(json.dumps(decoded, separators=(",", ":")).encode())
    mutated = ".".join(parts)
    result = outcome(verifier, mutated)
    assert (result == "ok") == (mutated == token), result


@given(changes=st.dictionaries(_CLAIM_NAMES, _JSON_VALUES, min_size=1, max_size=3))
def test_re_signed_claims_only_raise_our_errors(
    offline: tuple[LocalIssuer, CognitoVerifier, str], changes: dict[str, Any]
) -> None:
    # Validly signed by the real key: whatever the claims say, the verifier answers with our errors only.
    local, verifier, token = offline
    claims = {**claims_of(token), **changes}
    assert outcome(verifier, local.mint(claims)) in {"ok", *REASONS}
