"""The value the policy reads is the value that was checked: client ids, aud, key_ops; M2M principals."""

from __future__ import annotations

from typing import Any

import pytest

from cognito_authz import CognitoVerifier, Policy
from cognito_authz.errors import InvalidClaimError, InvalidKeyError, MissingClaimError, WrongClientError
from cognito_authz.principal import Principal
from cognito_authz.testing import LocalIssuer

ADMIN_CLIENT_POLICY = {
    "version": 1,
    "rules": [{"id": "admin-client", "routes": ["ANY /admin/{proxy+}"], "when": {"client_id": ["admin"]}}],
}


def test_an_id_tokens_client_id_claim_is_not_its_client(issuer: LocalIssuer) -> None:
    # Signed by the pool, aud = the public client, plus a "client_id" claim naming the admin client.
    token = issuer.mint_id_token(claims={"client_id": "admin"})
    principal = issuer.verifier("id").verify(token)
    assert principal.client_id == issuer.client_id  # aud, the value the verifier checked
    assert principal.claims["client_id"] == "admin"  # still visible as a plain claim
    decision = Policy.from_dict(ADMIN_CLIENT_POLICY).decide(principal, "GET", "/admin/users")
    assert not decision.allowed


def test_principal_from_claims_reads_aud_for_id_tokens_and_client_id_for_access_tokens() -> None:
    id_claims = {"sub": "u", "token_use": "id", "aud": "public", "client_id": "admin"}
    assert Principal.from_claims(id_claims).client_id == "public"
    assert Principal.from_claims({"sub": "u", "token_use": "id", "client_id": "admin"}).client_id is None
    access = {"sub": "u", "token_use": "access", "aud": "admin", "client_id": "public"}
    assert Principal.from_claims(access).client_id == "public"


def test_a_key_whose_key_ops_exclude_verify_is_unusable(issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token()
    kid = issuer.kid
    for ops, usable in [(["encrypt"], False), (["sign"], False), ([], False), ("verify", False), ([1], False),
                        (["verify"], True), (["sign", "verify"], True)]:  # fmt: skip
        jwks = issuer.jwks
        for key in jwks["keys"]:
            key["key_ops"] = ops
        verifier = issuer.verifier("access", offline=True, jwks_uri=None, allow_http=False)
        verifier.load_jwks(jwks)
        if usable:
            assert verifier.verify(token).sub
            continue
        with pytest.raises(InvalidKeyError) as info:
            verifier.verify(token)
        assert info.value.reason == "unusable_key"
        assert info.value.kid == kid  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("aud", "error"),
    [
        (None, None),  # Cognito's access tokens carry no aud
        ("api.example", None),
        (["api.example", "other"], None),
        (5, InvalidClaimError),
        ("", InvalidClaimError),
        ([], InvalidClaimError),
        (["api.example", 5], InvalidClaimError),
        ({"aud": "x"}, InvalidClaimError),
        (True, InvalidClaimError),
    ],
)
def test_aud_on_access_tokens_is_type_checked_when_present(
    issuer: LocalIssuer, aud: Any, error: type[Exception] | None
) -> None:
    token = issuer.mint_access_token(claims={} if aud is None else {"aud": aud})
    verifier = issuer.verifier("access")
    if error is None:
        assert verifier.verify(token).sub
        return
    with pytest.raises(error) as info:
        verifier.verify(token)
    assert info.value.reason == "invalid_claim"  # type: ignore[attr-defined]


def test_audience_requirement(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", audience=["https://api.example"])
    assert verifier.verify(issuer.mint_access_token(claims={"aud": "https://api.example"})).sub
    assert verifier.verify(issuer.mint_access_token(claims={"aud": ["x", "https://api.example"]})).sub
    with pytest.raises(WrongClientError) as wrong:
        verifier.verify(issuer.mint_access_token(claims={"aud": "https://other.example"}))
    assert wrong.value.reason == "wrong_audience"
    with pytest.raises(MissingClaimError) as missing:
        verifier.verify(issuer.mint_access_token())
    assert missing.value.claim == "aud"  # type: ignore[attr-defined]


# -- machine-to-machine ---------------------------------------------------------------------------------


def test_m2m_tokens_are_first_class(issuer: LocalIssuer) -> None:
    token = issuer.mint_m2m_token(scopes=["orders/read", "orders/write"])
    principal = issuer.verifier("access").verify(token)
    assert principal.sub == issuer.client_id == principal.client_id
    assert principal.username is None
    assert principal.groups == ()
    assert principal.scopes == ("orders/read", "orders/write")
    assert principal.is_machine
    assert not issuer.verifier("access").verify(issuer.sign_in("ada").access_token).is_machine
    assert set(principal.claims) == {
        "sub", "token_use", "scope", "auth_time", "iss", "exp", "iat", "version", "jti", "client_id"
    }  # fmt: skip


def test_policy_conditions_on_client_id_and_scopes_decide_m2m_calls(issuer: LocalIssuer) -> None:
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {
                    "id": "billing-service",
                    "routes": ["POST /invoices"],
                    "when": {"client_id": ["billing-service-client"], "scopes": ["invoices/write"]},
                }
            ],
        }
    )
    verifier = issuer.verifier("access", client_id=["billing-service-client", issuer.client_id])
    good = verifier.verify(
        issuer.mint_m2m_token(client_id="billing-service-client", scopes=["invoices/write"])
    )
    assert policy.decide(good, "POST", "/invoices").allowed
    other_client = verifier.verify(issuer.mint_m2m_token(scopes=["invoices/write"]))
    assert not policy.decide(other_client, "POST", "/invoices").allowed
    no_scope = verifier.verify(issuer.mint_m2m_token(client_id="billing-service-client", scopes=["x/read"]))
    assert not policy.decide(no_scope, "POST", "/invoices").allowed


def test_m2m_token_of_an_unconfigured_client_is_refused(issuer: LocalIssuer) -> None:
    with pytest.raises(WrongClientError):
        issuer.verifier("access").verify(issuer.mint_m2m_token(client_id="some-other-client"))


def test_tokens_are_signed_by_pyjwt_with_cognitos_header(issuer: LocalIssuer) -> None:
    import jwt

    tokens = issuer.sign_in("ada")
    for token, kid in ((tokens.id_token, issuer.id_kid), (tokens.access_token, issuer.kid)):
        assert jwt.get_unverified_header(token) == {"kid": kid, "alg": "RS256"}
        public = issuer.private_key(kid).public_key()
        assert jwt.decode(token, public, algorithms=["RS256"], options={"verify_aud": False})["sub"]
    assert issuer.id_kid != issuer.kid  # ID and access tokens are signed with different keys


def test_one_offline_key_store_serves_both_forms_of_a_pool(issuer: LocalIssuer) -> None:
    # Offline, a pool has one key store: the keys loaded once serve the ORIGINAL and UPDATED issuer.
    verifier = CognitoVerifier(issuer.user_pool_id, client_id=None, token_use=None, offline=True)
    assert len(verifier.issuers) == 2
    verifier.load_jwks(issuer.jwks)
    assert verifier.verify(issuer.mint_access_token()).issuer == issuer.issuer
