"""The fresh verify's one-expression fast paths decide exactly as the detailed checks they stand for.

``_verify_fresh`` accepts the usual Cognito access token's ``token_use``/``client_id``/``aud`` in one
expression and runs ``_check_token_use_and_client`` only for anything else. Here every combination of
claim values and verifier options is verified for real (signed by a LocalIssuer) and compared with the
verdict of ``_check_token_use_and_client`` alone, the independent oracle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

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
