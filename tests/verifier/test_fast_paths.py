"""The fresh verify's one-expression fast paths decide exactly as the detailed checks they stand for.

``claim_checks.check_claim_types`` accepts the usual claims in one expression and otherwise runs
``explain_claim_types``, the checks one at a time: the two must give the same verdict on any claims.
``_verify_fresh`` accepts the usual Cognito access token's ``token_use``/``client_id``/``aud`` in one
expression and runs ``_check_token_use_and_client`` only for anything else. Here every combination of
claim values and verifier options is verified for real (signed by a LocalIssuer) and compared with the
verdict of ``_check_token_use_and_client`` alone, the independent oracle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz import claim_checks
from cognito_authz.errors import TokenError
from cognito_authz.testing import LocalIssuer

ISSUER = LocalIssuer(serve=False)
CLIENT = ISSUER.client_id
OTHER = "otherclient0000000000000000"
ABSENT = object()

# Every combination is tried (not sampled): the fast path's accepting region is a small corner.
TOKEN_USES = [ABSENT, None, "access", "id", "ACCESS", 1, ["access"]]
CLIENT_IDS = [ABSENT, None, CLIENT, OTHER, "", 1, [CLIENT]]
AUDS = [ABSENT, None, "", CLIENT, OTHER, 1, True, [CLIENT], [], [1]]
OPTIONS = [
    {"token_use": token_use, "client_id": client_id, "audience": audience}
    for token_use in (None, "access", "id")
    for client_id in (None, CLIENT, [OTHER, CLIENT], OTHER)
    for audience in (None, CLIENT, OTHER)
    if not (audience is not None and token_use == "id")  # a ConfigError by design
]


def _verdict(check: Callable[..., object], *args: object) -> str:
    try:
        check(*args)
    except TokenError as exc:
        return exc.reason
    return "ok"


def test_token_use_and_client_fast_path_matches_the_detailed_check() -> None:
    verifiers = [ISSUER.verifier(**options) for options in OPTIONS]
    accepted = 0
    for values in itertools.product(TOKEN_USES, CLIENT_IDS, AUDS):
        named = dict(zip(("token_use", "client_id", "aud"), values, strict=True))
        claims = {name: value for name, value in named.items() if value is not ABSENT}
        token = ISSUER.mint_access_token(claims=claims, omit=[name for name in named if name not in claims])
        for verifier in verifiers:
            parsed = verifier._parser.parse(token)
            expected = _verdict(verifier._check_token_use_and_client, parsed.claims)
            # Every other claim of the minted token is valid, so the detailed check alone decides.
            assert _verdict(verifier.verify, token) == expected, (named, verifier)
            accepted += expected == "ok"
    assert accepted > 100  # both sides of the fast path were exercised


# -- the claim type checks -------------------------------------------------------------------------

TYPED_CLAIMS = [
    "sub", "cognito:groups", "scope", "username", "cognito:username", "jti", "origin_jti", "event_id",
    "email", "email_verified", "phone_number_verified", "version",
]  # fmt: skip
ODD_VALUES = [ABSENT, "x", "", None, 0, 1, 2.0, True, False, "true", "false", [], ["a"], ["a", 1], [True], {}]


def _type_verdict(check: Callable[[dict[str, Any]], None], claims: dict[str, Any]) -> tuple[str, object]:
    try:
        check(claims)
    except TokenError as exc:
        return exc.reason, exc.details.get("claim")
    return "ok", None


def test_claim_type_fast_path_matches_the_detailed_checks_one_claim_at_a_time() -> None:
    base = {"sub": "u", "cognito:groups": ["g"], "scope": "s", "username": "n", "version": 2}
    for name in TYPED_CLAIMS:
        for value in ODD_VALUES:
            claims = {key: item for key, item in base.items() if key != name}
            if value is not ABSENT:
                claims[name] = value
            fast = _type_verdict(claim_checks.check_claim_types, claims)
            assert fast == _type_verdict(claim_checks.explain_claim_types, claims), (name, value)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(TYPED_CLAIMS), st.sampled_from(ODD_VALUES[1:])))
def test_claim_type_fast_path_matches_the_detailed_checks(claims: dict[str, Any]) -> None:
    fast = _type_verdict(claim_checks.check_claim_types, claims)
    assert fast == _type_verdict(claim_checks.explain_claim_types, claims)
