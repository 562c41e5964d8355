"""Fuzzing ``CognitoVerifier.verify``: only our errors escape, and nothing altered verifies.

Invariants, each over hypothesis-generated inputs (counts in the session tally):

1. Arbitrary objects, text (surrogates included) and bytes: ``verify`` raises a ``TokenError`` subclass
   from ``cognito_authz.errors`` with a documented reason, nothing else.
2. Encoding-level mutations of a valid token (padding, standard base64, JSON re-serialization, truncation,
   segment swaps and duplication, bit flips in any segment, RSA signature malleability ``s + n``, leading
   zero bytes, splices of segments from other valid tokens, case changes, whitespace): the result
   verifies if and only if the mutated string equals the original (or, spliced back together entirely,
   one of the other valid tokens it borrowed from).
3. Tokens validly re-signed by the pool's real key with hostile headers and claims: the verifier accepts
   exactly when an independent reading of the verifier specification (docs/verifier.md; written here)
   accepts, and an accepted token's Principal carries the token's own sub and client.
4. Structurally bad tokens and tokens naming an unconfigured issuer never cause a JWKS fetch; a flood of
   unknown kids under the configured issuer costs one fetch per cooldown.

test_attacks.py has one test per attack class and random character edits; this file fuzzes the encoding
layer, the accept/reject boundary of the claim checks and the fetch side effects.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_authz import CognitoVerifier
from cognito_authz.errors import TokenError
from cognito_authz.testing import LocalIssuer
from cognito_authz.token import FORBIDDEN_HEADERS, b64url_encode
from tests.hardening.campaign import TALLY, assert_our_error, fuzz_settings, scaled
from tests.support.jwks_server import JwksServer, RsaKey, jwks_of

NOW = 1_700_000_000
MAX_TIMESTAMP = 253402300799
STRING_CLAIMS = ("username", "cognito:username", "jti", "origin_jti", "event_id", "email")
BOOLEAN_CLAIMS = ("email_verified", "phone_number_verified")


def at(t: float) -> Any:
    return lambda: t


class Offline:
    """A pool with its keys loaded (no network), a verifier at NOW + 10 and a few valid tokens."""

    def __init__(self, issuer: LocalIssuer, other: LocalIssuer) -> None:
        self.issuer = issuer
        self.other = other
        self.verifier = issuer.verifier("access", clock=at(NOW + 10))
        self.token = issuer.mint_access_token(now=NOW, groups=["admin"], scopes=["orders/read"])
        # Valid too, with other claims: segments to splice into the first one.
        self.siblings = [
            issuer.mint_access_token(now=NOW, username="mallory", groups=["customer"]),
            issuer.mint_access_token(now=NOW - 5, groups=["admin"], scopes=["orders/read"]),
        ]
        # A valid token of another pool (own key, own kid, own iss): rejected as a whole.
        self.foreign = other.mint_access_token(now=NOW, groups=["admin"])
        for valid in (self.token, *self.siblings):
            assert self.verifier.verify(valid).sub


@pytest.fixture(scope="module")
def pool() -> Iterator[Offline]:
    with LocalIssuer(serve=False) as issuer, LocalIssuer("eu-west-1_OtherPool1", serve=False) as other:
        yield Offline(issuer, other)


def outcome(verifier: CognitoVerifier, token: object) -> str:
    """``"ok"`` or the reason code; anything but our TokenError propagates (or fails the assertion)."""
    try:
        verifier.verify(token)
    except TokenError as exc:
        assert_our_error(exc, TokenError)
        return exc.reason
    return "ok"


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# --- 1. arbitrary input --------------------------------------------------------------------------------

_B64URLISH = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ", max_size=300
)
_SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
ARBITRARY = st.one_of(
    st.text(max_size=600),
    _B64URLISH,
    st.tuples(_B64URLISH, _SURROGATES, _B64URLISH).map("".join),
    st.from_regex(r"[A-Za-z0-9_\-]{0,60}(\.[A-Za-z0-9_\-]{0,60}){0,5}", fullmatch=True),
    st.binary(max_size=400),
    st.binary(max_size=100).map(bytearray),
    st.binary(max_size=100).map(lambda raw: memoryview(raw)),
    _JSONISH,
    st.tuples(st.text(max_size=5), st.text(max_size=5)),
    st.sets(st.integers(), max_size=3),
    st.just(Ellipsis),
    st.just(object()),
    st.integers(9_000, 20_000).map(lambda n: "a" * n),  # over the 8 KiB cap, unicode-free
)


@given(value=ARBITRARY)
@fuzz_settings(300, 5000)
def _arbitrary_input_raises_only_token_errors(pool: Offline, value: object) -> None:
    TALLY.add("inputs:verify.arbitrary")
    assert outcome(pool.verifier, value) != "ok"


def test_arbitrary_input_raises_only_token_errors(pool: Offline) -> None:
    before = TALLY["inputs:verify.arbitrary"]
    _arbitrary_input_raises_only_token_errors(pool)
    assert TALLY["inputs:verify.arbitrary"] - before >= scaled(300, 5000) // 2


# --- 2. encoding-level mutations of a valid token -------------------------------------------------------


def _reserialize(raw: bytes, style: int) -> bytes:
    value = json.loads(raw)
    if style == 0:
        return json.dumps(value).encode()  # ", " and ": " separators
    if style == 1:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    if style == 2:
        return (
            json.dumps(value, separators=(",", ":"), ensure_ascii=True)
            .encode()
            .replace(b'"sub"', b'"\\u0073ub"')
        )
    if style == 3:
        return b" " + raw + b"\n"
    if style == 4:
        return json.dumps(value, indent=1).encode()
    return json.dumps(value, separators=(",", ":")).encode()  # the canonical form LocalIssuer writes: no-op


def mutate(pool: Offline, token: str, kind: str, a: int, b: int) -> str:
    """One encoding-level mutation; ``a`` and ``b`` are free integers that pick where and what."""
    parts = token.split(".")
    index = a % 3
    segment = parts[index]
    if kind == "pad":
        parts[index] = segment + "=" * (1 + b % 2)
    elif kind == "standard-base64":
        parts[index] = segment.replace("-", "+").replace("_", "/")
    elif kind == "padded-standard-base64":
        parts[index] = base64.b64encode(b64decode(segment)).decode()
    elif kind == "reserialize-json":
        which = a % 2
        parts[which] = b64url_encode(_reserialize(b64decode(parts[which]), b % 6))
    elif kind == "truncate":
        return token[: a % len(token)]
    elif kind == "truncate-segment":
        parts[index] = segment[: b % (len(segment) + 1)]
    elif kind == "swap":
        order = [(0, 1, 2), (1, 0, 2), (0, 2, 1), (2, 1, 0), (1, 2, 0), (2, 0, 1), (0, 0, 2), (1, 1, 2)][
            b % 8
        ]
        parts = [parts[i] for i in order]
    elif kind == "bitflip":
        raw = bytearray(b64decode(segment))
        bit = b % (len(raw) * 8)
        raw[bit // 8] ^= 1 << (bit % 8)
        parts[index] = b64url_encode(bytes(raw))
    elif kind == "signature-plus-modulus":
        modulus = pool.issuer.private_key().public_key().public_numbers().n
        s = int.from_bytes(b64decode(parts[2]), "big") + modulus * (1 + b % 3)
        parts[2] = b64url_encode(s.to_bytes((s.bit_length() + 7) // 8, "big"))
    elif kind == "signature-leading-zeros":
        parts[2] = b64url_encode(b"\x00" * (1 + b % 4) + b64decode(parts[2]))
    elif kind == "signature-strip-first-byte":
        parts[2] = b64url_encode(b64decode(parts[2])[1:])
    elif kind == "splice-sibling":
        donor = [*pool.siblings, pool.foreign][b % 3].split(".")
        parts[index] = donor[index]
    elif kind == "case":
        parts[index] = segment.swapcase() if b % 2 else segment.upper()
    elif kind == "whitespace":
        where = b % (len(token) + 1)
        return token[:where] + [" ", "\n", "\t", "\r\n", "\x00", "\u00a0"][a % 6] + token[where:]
    elif kind == "extra-segment":
        return token + [".", "..", "." + parts[2], ".e30"][b % 4]
    elif kind == "bearer":
        return ["Bearer ", "bearer ", "Bearer\t", "JWT "][b % 4] + token
    else:  # pragma: no cover - a kind added to KINDS but not here
        raise AssertionError(kind)
    return ".".join(parts)


KINDS = (
    "pad",
    "standard-base64",
    "padded-standard-base64",
    "reserialize-json",
    "truncate",
    "truncate-segment",
    "swap",
    "bitflip",
    "signature-plus-modulus",
    "signature-leading-zeros",
    "signature-strip-first-byte",
    "splice-sibling",
    "case",
    "whitespace",
    "extra-segment",
    "bearer",
)
_MUTATIONS = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 1 << 16), st.integers(0, 1 << 16)),
    min_size=1,
    max_size=3,
)


@given(mutations=_MUTATIONS)
@fuzz_settings(600, 10_000)
def _mutated_tokens_verify_only_when_unchanged(pool: Offline, mutations: list[tuple[str, int, int]]) -> None:
    mutated = pool.token
    for kind, a, b in mutations:
        if mutated.count(".") != 2 or not mutated:
            break  # the previous mutation left no three segments to work on
        try:
            mutated = mutate(pool, mutated, kind, a, b)
        except (ValueError, ZeroDivisionError):  # binascii.Error and JSONDecodeError are ValueErrors
            break  # this mutation does not apply to what the previous ones left
        TALLY.add(f"inputs:verify.mutation.{kind}")
    TALLY.add("inputs:verify.mutated_tokens")
    if mutated == pool.token:
        TALLY.add("inputs:verify.mutated_tokens.noop")
    result = outcome(pool.verifier, mutated)
    # Splicing every segment of a sibling rebuilds that (valid) sibling: the only other way to "ok".
    assert (result == "ok") == (mutated in (pool.token, *pool.siblings)), (mutations, result)


def test_mutated_tokens_verify_only_when_unchanged(pool: Offline) -> None:
    before = TALLY["inputs:verify.mutated_tokens"]
    _mutated_tokens_verify_only_when_unchanged(pool)
    assert TALLY["inputs:verify.mutated_tokens"] - before >= scaled(600, 10_000) // 2


@pytest.mark.parametrize("kind", KINDS)
def test_every_mutation_kind_is_exercised_and_rejected(pool: Offline, kind: str) -> None:
    # Deterministic floor under the property: each kind, at a few positions, on the pristine token.
    tried = 0
    for a, b in [(0, 1), (1, 2), (2, 3), (5, 700), (1, 13)]:
        mutated = mutate(pool, pool.token, kind, a, b)
        if mutated == pool.token:
            continue
        tried += 1
        assert outcome(pool.verifier, mutated) != "ok", (kind, a, b)
    TALLY.add("inputs:verify.mutation_kind_floor", tried)
    assert tried >= 1


# --- 3. validly re-signed tokens: accept exactly what the specification accepts -------------------------


def _is_time(value: object) -> bool:
    return type(value) in (int, float) and 0 <= value <= MAX_TIMESTAMP  # type: ignore[operator]


def spec_accepts(header: dict[str, Any], claims: dict[str, Any], *, kid: str, iss: str, client: str) -> bool:
    """The verifier specification (docs/verifier.md) read independently of the verifier: RS256 only, exact
    kid, no forbidden header, string (or null) typ; exp and iat required numbers, nbf/auth_time numbers if
    present, exp in the future and nbf not (leeway 0), iat at most 5 s ahead (the default iat allowance);
    exact iss; an access token of our client, its aud (if any) a non-empty string or non-empty list of
    them; Cognito's claim types."""
    now = NOW + 10
    if header.get("alg") != "RS256" or header.get("kid") != kid:
        return False
    if any(name in header for name in FORBIDDEN_HEADERS):
        return False
    if header.get("typ") is not None and not isinstance(header["typ"], str):
        return False  # a null typ counts as absent (tests/test_token_parsing.py says so on purpose)
    if claims.get("iss") != iss:
        return False
    for name in ("exp", "iat"):
        if not _is_time(claims.get(name)):
            return False
    for name in ("nbf", "auth_time"):
        if name in claims and not _is_time(claims[name]):
            return False
    if not claims["exp"] > now or claims["iat"] > now + 5 or claims.get("nbf", 0) > now:
        return False
    if "aud" in claims:
        aud = claims["aud"]
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not auds or not all(isinstance(a, str) and a for a in auds):
            return False
    if claims.get("token_use") != "access" or claims.get("client_id") != client:
        return False
    if not (isinstance(claims.get("sub"), str) and claims["sub"]):
        return False
    groups = claims.get("cognito:groups", [])
    if not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
        return False
    if "scope" in claims and not isinstance(claims["scope"], str):
        return False
    if any(name in claims and not isinstance(claims[name], str) for name in STRING_CLAIMS):
        return False
    if any(name in claims and claims[name] not in (True, False, "true", "false") for name in BOOLEAN_CLAIMS):
        return False
    if any(
        name in claims and type(claims[name]) is not bool and claims[name] in (0, 1)
        for name in BOOLEAN_CLAIMS
    ):
        return False  # 1 == True in Python, but 1 is not a boolean
    return "version" not in claims or type(claims["version"]) is int


# JSON values only (finite floats at any depth): json.dumps would write NaN/Infinity, which is not JSON
# and which the verifier rightly refuses whatever the spec says about the claim it sits in.
_ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_TIMES = st.one_of(
    st.integers(NOW - 4000, NOW + 4000),
    st.floats(NOW - 4000, NOW + 4000),
    st.sampled_from(
        [0, -1, NOW + 10, NOW + 11, NOW + 9, MAX_TIMESTAMP, MAX_TIMESTAMP + 1, 10**30, True, False]
    ),
    st.sampled_from([str(NOW), None, [NOW], {"t": NOW}, 1e308]),
)
_STRINGS = st.one_of(st.text(max_size=12), st.sampled_from(["", "access", "id", None, 0, ["a"], True]))


def _claim_value(name: str) -> st.SearchStrategy[Any]:
    if name in ("exp", "iat", "nbf", "auth_time"):
        return _TIMES
    if name == "cognito:groups":
        return st.one_of(st.lists(st.text(max_size=6), max_size=3), st.lists(_ANY, max_size=2), _STRINGS)
    if name in BOOLEAN_CLAIMS:
        return st.sampled_from([True, False, "true", "false", "True", 1, 0, None, "yes", 1.0])
    if name == "version":
        return st.sampled_from([2, 1, "2", 2.0, True, None, 10**20])
    return st.one_of(_STRINGS, _ANY)


_CLAIM_NAMES = (
    "iss", "exp", "iat", "nbf", "auth_time", "token_use", "client_id", "sub", "cognito:groups", "scope",
    *STRING_CLAIMS, *BOOLEAN_CLAIMS, "version", "aud", "custom:tenant_id",
)  # fmt: skip
_HEADER_CHANGES = st.dictionaries(
    st.sampled_from(
        ["alg", "kid", "typ", "cty", "x5u", "jku", "crit", "b64", "zip", "jwk", "x5c", "x-extra"]
    ),
    st.one_of(st.sampled_from(["RS256", "HS256", "none", "RS512", "JWT", "", None, 0, ["RS256"]]), _ANY),
    max_size=2,
)


@st.composite
def resigned(draw: st.DrawFn, pool: Offline) -> tuple[dict[str, Any], dict[str, Any]]:
    header: dict[str, Any] = {"kid": pool.issuer.kid, "alg": "RS256"}
    if draw(st.booleans()):
        header.update(draw(_HEADER_CHANGES))
    claims = json.loads(b64decode(pool.token.split(".")[1]))
    names = draw(st.lists(st.sampled_from(_CLAIM_NAMES), max_size=4, unique=True))
    for name in names:
        if draw(st.integers(0, 4)) == 0:
            claims.pop(name, None)
        elif name in ("iss", "client_id", "token_use") and draw(st.booleans()):
            claims[name] = draw(
                st.sampled_from([pool.other.issuer, pool.issuer.issuer + "/", "other-client", "id", None])
            )
        else:
            claims[name] = draw(_claim_value(name))
    return header, claims


@given(data=st.data())
@fuzz_settings(400, 6000)
def _resigned_tokens_are_accepted_exactly_by_the_spec(pool: Offline, data: st.DataObject) -> None:
    header, claims = data.draw(resigned(pool))
    token = pool.issuer.mint(claims, header, kid=pool.issuer.kid)
    expected = spec_accepts(
        header, claims, kid=pool.issuer.kid, iss=pool.issuer.issuer, client=pool.issuer.client_id
    )
    TALLY.add("inputs:verify.resigned")
    try:
        principal = pool.verifier.verify(token)
    except TokenError as exc:
        error: TokenError | None = exc
    else:
        error = None
    if error is not None:
        assert_our_error(error, TokenError)
        assert not expected, f"the spec accepts, the verifier says {error.reason}: {header} {claims}"
        return
    TALLY.add("inputs:verify.resigned.accepted")
    assert expected, f"the verifier accepted what the spec rejects: {header} {claims}"
    assert principal.sub == claims["sub"]
    assert principal.client_id == pool.issuer.client_id
    assert principal.token_use == "access"


def test_resigned_tokens_are_accepted_exactly_by_the_spec(pool: Offline) -> None:
    before = TALLY["inputs:verify.resigned"]
    accepted = TALLY["inputs:verify.resigned.accepted"]
    _resigned_tokens_are_accepted_exactly_by_the_spec(pool)
    assert TALLY["inputs:verify.resigned"] - before >= scaled(400, 6000) // 2
    # Both sides of the boundary were exercised, not only rejections.
    assert TALLY["inputs:verify.resigned.accepted"] > accepted


# --- 4. fetch side effects: nothing malformed or foreign reaches the network ---------------------------


@pytest.fixture(scope="module")
def signer() -> RsaKey:
    return RsaKey.generate("fuzz-signer")


def _sign(key: RsaKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = (
        f"{b64url_encode(json.dumps(header).encode())}.{b64url_encode(json.dumps(claims).encode())}"
    )
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"


@given(
    value=ARBITRARY,
    iss=st.one_of(st.text(max_size=40), st.sampled_from(["https://cognito-idp.us-east-1.amazonaws.com/x"])),
    kid=st.text(min_size=1, max_size=30),
)
@fuzz_settings(200, 3000)
def _no_fetch_for_malformed_or_foreign_tokens(
    verifier: CognitoVerifier, server: JwksServer, signer: RsaKey, value: object, iss: str, kid: str
) -> None:
    foreign = _sign(
        signer, {"kid": kid, "alg": "RS256"}, {"iss": iss, "sub": "x", "exp": NOW + 60, "iat": NOW}
    )
    for token in (value, foreign):
        assert outcome(verifier, token) != "ok"
        TALLY.add("inputs:verify.no_fetch")
    assert server.request_count == 0, "a malformed or foreign token caused a JWKS fetch"


def test_no_fetch_for_malformed_or_foreign_tokens(signer: RsaKey) -> None:
    with JwksServer(jwks_of(signer)) as server:
        verifier = CognitoVerifier(
            "us-east-1_FuzzPool1",
            client_id="c",
            token_use="access",
            jwks_uri=server.url,
            allow_http=True,
            fetch_timeout=1.0,
            clock=at(NOW + 10),
        )
        before = TALLY["inputs:verify.no_fetch"]
        _no_fetch_for_malformed_or_foreign_tokens(verifier, server, signer)
        assert TALLY["inputs:verify.no_fetch"] - before >= scaled(200, 3000)
        assert server.request_count == 0


@given(kid=st.text(min_size=1, max_size=40))
@fuzz_settings(300, 3000)
def _kid_flood(verifier: CognitoVerifier, signer: RsaKey, iss: str, kid: str) -> None:
    token = _sign(signer, {"kid": kid, "alg": "RS256"}, {"iss": iss, "sub": "x", "exp": NOW + 60, "iat": NOW})
    result = outcome(verifier, token)
    # The signer's own kid is published: its token gets past the key lookup to the claim checks.
    assert result != "ok"
    assert result == "unknown_kid" or kid == signer.kid
    TALLY.add("inputs:verify.kid_flood")


def test_kid_flood_under_the_configured_issuer_costs_one_fetch_per_cooldown(signer: RsaKey) -> None:
    cooldown = 30.0
    with JwksServer(jwks_of(signer)) as server:
        verifier = CognitoVerifier(
            "us-east-1_FuzzPool1",
            client_id="c",
            token_use="access",
            jwks_uri=server.url,
            allow_http=True,
            kid_miss_cooldown=cooldown,
            clock=at(NOW + 10),
        )
        started = time.monotonic()
        _kid_flood(verifier, signer, verifier.issuers[0])
        elapsed = time.monotonic() - started
        bound = 1 + int(elapsed // cooldown) + 1  # the cold fetch, then one per started cooldown
        TALLY.add("fetches:verify.kid_flood.observed", server.request_count)
        TALLY.add("fetches:verify.kid_flood.bound", bound)
        assert 1 <= server.request_count <= bound
