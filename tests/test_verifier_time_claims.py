"""Time claims: the verifier's one-expression check of the usual token against the detailed rules.

``CognitoVerifier`` judges the common shape (integer ``exp``/``iat`` in range, unexpired, issued in the
past, no ``nbf``, integer or absent ``auth_time``) in a single expression and sends everything else to
the detailed checks. This property draws every kind of value for the four time claims, with leeway and
``max_age``, and holds ``verify`` to a reference written from the verifier's documented rules
(docs/verifier.md, including the 5 s default allowance for ``iat``): the same error class and claim, or
the same success.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.errors import TokenError
from cognito_authz.testing import LocalIssuer

NOW = 1_700_000_000
MAX = 253402300799
ISSUER = LocalIssuer(serve=False)
MISSING = object()

# Offsets around the boundaries that matter: now, now +/- leeway (30), max_age (600) +/- leeway, and the
# default iat allowance (5).
IAT_ALLOWANCE = 5
OFFSETS = st.sampled_from(
    [-4000, -631, -630, -629, -601, -600, -599, -31, -30, -29, -1, 0, 1, 4, 5, 6, 29, 30, 31, 4000]
)
TIMES = st.one_of(
    st.just(MISSING),
    st.sampled_from([None, True, False, "1700000000", -1, 0, MAX, MAX + 1]),
    OFFSETS.map(lambda offset: NOW + offset),
    OFFSETS.map(lambda offset: NOW + offset + 0.5),
)
USUAL = st.one_of(st.just(MISSING), OFFSETS.map(lambda offset: NOW + offset))


def _reference(claims: dict[str, Any], leeway: float, max_age: float | None) -> tuple[str, str | None]:
    def stamp(name: str, required: bool) -> Any:
        if name not in claims:
            if required:
                raise _Expected("MissingClaimError", name)
            return None
        value = claims[name]
        if type(value) not in (int, float) or not 0 <= value <= MAX:
            raise _Expected("InvalidClaimError", name)
        return value

    try:
        exp, iat = stamp("exp", True), stamp("iat", True)
        nbf, auth_time = stamp("nbf", False), stamp("auth_time", False)
        if auth_time is None and max_age is not None:
            raise _Expected("MissingClaimError", "auth_time")
        if NOW - leeway >= exp:
            raise _Expected("ExpiredTokenError", "exp")
        if nbf is not None and nbf > NOW + leeway:
            raise _Expected("NotYetValidError", "nbf")
        if iat > NOW + max(leeway, IAT_ALLOWANCE):
            raise _Expected("NotYetValidError", "iat")
        if max_age is not None and NOW - auth_time > max_age + leeway:
            raise _Expected("InsufficientClaimsError", "auth_time")
    except _Expected as expected:
        return expected.kind, expected.claim
    return "ok", None


class _Expected(Exception):
    def __init__(self, kind: str, claim: str) -> None:
        super().__init__(kind)
        self.kind, self.claim = kind, claim


@settings(max_examples=300, deadline=None)
@given(
    exp=st.one_of(TIMES, OFFSETS.map(lambda offset: NOW + offset)),
    iat=st.one_of(TIMES, OFFSETS.map(lambda offset: NOW + offset)),
    nbf=st.one_of(st.just(MISSING), TIMES),
    auth_time=st.one_of(USUAL, TIMES),
    leeway=st.sampled_from([0.0, 30.0]),
    max_age=st.sampled_from([None, 600.0]),
)
def test_time_claims_follow_the_detailed_rules(
    exp: Any, iat: Any, nbf: Any, auth_time: Any, leeway: float, max_age: float | None
) -> None:
    claims = {"exp": exp, "iat": iat, "nbf": nbf, "auth_time": auth_time}
    present = {name: value for name, value in claims.items() if value is not MISSING}
    token = ISSUER.mint_access_token(
        claims=present, omit=[name for name, value in claims.items() if value is MISSING]
    )
    verifier = ISSUER.verifier("access", leeway=leeway, max_age=max_age, clock=lambda: NOW)
    expected = _reference(present, leeway, max_age)
    try:
        verifier.verify(token)
        got: tuple[str, str | None] = ("ok", None)
    except TokenError as exc:
        got = (type(exc).__name__, getattr(exc, "claim", None))
    assert got == expected
