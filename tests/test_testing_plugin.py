"""cognito_authz.testing: LocalIssuer (tokens, JWKS server, rotation) and the pytest plugin (via pytester)."""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

import pytest
import requests

from cognito_authz.errors import ConfigError, UnknownKeyError
from cognito_authz.testing import LocalIssuer
from cognito_authz.testing.issuer import DEFAULT_CLIENT_ID, DEFAULT_POOL_ID

pytest_plugins = ["pytester"]

ACCESS_CLAIMS = {
    "sub",
    "cognito:groups",
    "iss",
    "version",
    "client_id",
    "origin_jti",
    "event_id",
    "token_use",
    "scope",
    "auth_time",
    "exp",
    "iat",
    "jti",
    "username",
}
ID_CLAIMS = {
    "sub",
    "cognito:groups",
    "email_verified",
    "iss",
    "cognito:username",
    "origin_jti",
    "aud",
    "event_id",
    "token_use",
    "auth_time",
    "exp",
    "iat",
    "jti",
    "email",
}


def decode(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


# -- LocalIssuer ------------------------------------------------------------------------------------


def test_access_token_is_shaped_like_cognitos(issuer: LocalIssuer) -> None:
    header, claims, _ = issuer.mint_access_token(groups=["admin"], scopes=["a", "b"], now=1000).split(".")
    assert decode(header) == {"kid": issuer.kid, "alg": "RS256"}
    body = decode(claims)
    assert set(body) == ACCESS_CLAIMS
    assert body["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{DEFAULT_POOL_ID}"
    assert body["version"] == 2
    assert body["token_use"] == "access"
    assert body["scope"] == "a b"
    assert body["cognito:groups"] == ["admin"]
    assert (body["iat"], body["auth_time"], body["exp"]) == (1000, 1000, 4600)
    assert all(isinstance(body[name], str) for name in ("sub", "jti", "origin_jti", "event_id", "username"))


def test_id_token_is_shaped_like_cognitos(issuer: LocalIssuer) -> None:
    token = issuer.mint_id_token(groups=["g"], custom_attributes={"tenant_id": "acme", "custom:plan": "gold"})
    body = decode(token.split(".")[1])
    assert set(body) == ID_CLAIMS | {"custom:tenant_id", "custom:plan"}
    assert body["aud"] == issuer.client_id
    assert body["email_verified"] is True
    assert body["custom:tenant_id"] == "acme"


def test_no_groups_means_no_groups_claim(issuer: LocalIssuer) -> None:
    assert "cognito:groups" not in decode(issuer.mint_access_token().split(".")[1])
    assert "cognito:groups" not in decode(issuer.mint_id_token().split(".")[1])


def test_sub_is_stable_per_username(issuer: LocalIssuer) -> None:
    def sub(token: str) -> str:
        return str(decode(token.split(".")[1])["sub"])

    assert sub(issuer.mint_access_token(username="a")) == sub(issuer.mint_id_token(username="a"))
    assert sub(issuer.mint_access_token(username="a")) != sub(issuer.mint_access_token(username="b"))


def test_overrides_and_omissions(issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(
        claims={"custom": 1, "version": 3},
        omit=["jti", "event_id"],
        headers={"typ": "JWT"},
        omit_headers=["alg"],
    )
    header, claims, _ = token.split(".")
    assert decode(header) == {"kid": issuer.kid, "typ": "JWT"}
    body = decode(claims)
    assert body["custom"] == 1
    assert body["version"] == 3
    assert "jti" not in body
    assert "event_id" not in body


def test_raw_mint_uses_json_text_verbatim(issuer: LocalIssuer) -> None:
    token = issuer.mint('{"a":1,"a":2}', '{"alg":"RS256","kid":"k"}')
    header, claims, _ = token.split(".")
    assert base64.urlsafe_b64decode(claims + "==") == b'{"a":1,"a":2}'
    assert base64.urlsafe_b64decode(header + "==") == b'{"alg":"RS256","kid":"k"}'


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "none"])
def test_mint_signs_with_the_requested_scheme(issuer: LocalIssuer, algorithm: str) -> None:
    token = issuer.mint({"sub": "x"}, algorithm=algorithm)
    assert decode(token.split(".")[0])["alg"] == algorithm
    signature = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    assert len(signature) == (0 if algorithm == "none" else 256)


def test_mint_refuses_schemes_it_cannot_sign(issuer: LocalIssuer) -> None:
    with pytest.raises(ConfigError):
        issuer.mint({"sub": "x"}, algorithm="HS256")
    with pytest.raises(ConfigError):
        issuer.mint({"sub": "x"}, kid="no-such-kid")


def test_jwks_document(issuer: LocalIssuer) -> None:
    (key,) = [k for k in issuer.jwks["keys"] if k["kid"] == issuer.kid]
    assert {k: key[k] for k in ("alg", "kty", "use", "e")} == {
        "alg": "RS256",
        "kty": "RSA",
        "use": "sig",
        "e": "AQAB",
    }
    assert len(base64.urlsafe_b64decode(key["n"] + "==")) == 256  # RSA-2048
    issuer.jwks["keys"].clear()  # a copy: mutating it changes nothing
    assert issuer.jwks["keys"]


def test_server_serves_the_jwks_and_counts_requests() -> None:
    with LocalIssuer("eu-west-1_Served1") as local:
        assert local.jwks_uri.startswith("http://127.0.0.1:")
        assert local.jwks_uri.endswith("/eu-west-1_Served1/.well-known/jwks.json")
        with requests.Session() as http:
            response = http.get(local.jwks_uri, timeout=5)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "application/json"
            assert response.json() == local.jwks
            assert http.get(local.jwks_uri.replace("jwks.json", "other"), timeout=5).status_code == 404
        assert local.request_count == 2


def test_stop_releases_the_port() -> None:
    local = LocalIssuer().start()
    host, port = local.jwks_uri.split("/")[2].split(":")
    local.stop()
    local.stop()  # idempotent
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect((host, int(port)))
    with pytest.raises(ConfigError):
        _ = local.jwks_uri


def test_rotation_publishes_and_retires_keys() -> None:
    with LocalIssuer() as local:
        id_key, first = local.id_kid, local.kid  # a fresh issuer has two keys, like a Cognito pool
        assert local.kids == (id_key, first)
        assert id_key != first
        second = local.rotate_keys()
        assert local.kids == (id_key, first, second)
        assert [k["kid"] for k in local.jwks["keys"]] == [id_key, first, second]
        third = local.rotate_keys(keep_previous=False)
        assert local.kids == (third,)
        with requests.Session() as http:
            assert [k["kid"] for k in http.get(local.jwks_uri, timeout=5).json()["keys"]] == [third]


def test_sign_with_a_chosen_key(issuer: LocalIssuer) -> None:
    with LocalIssuer(serve=False) as local:
        old = local.kid
        local.rotate_keys()
        token = local.mint_access_token(kid=old)
        assert decode(token.split(".")[0])["kid"] == old
        verifier = local.verifier("access")
        assert verifier.verify(token)


def test_serverless_issuer_feeds_the_verifier_through_load_jwks() -> None:
    with LocalIssuer(serve=False) as local:
        with pytest.raises(ConfigError):
            _ = local.jwks_uri
        verifier = local.verifier("access")
        assert verifier.verify(local.mint_access_token())
        local.rotate_keys(keep_previous=False)
        with pytest.raises(UnknownKeyError):
            verifier.verify(local.mint_access_token())
        verifier.load_jwks(local.jwks)
        assert verifier.verify(local.mint_access_token())


def test_verifier_kwargs_override_defaults(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("id", client_id=None, leeway=30)
    assert verifier.client_ids is None
    assert verifier.leeway == 30
    assert verifier.token_use == "id"


def test_defaults_are_cognito_shaped() -> None:
    assert len(DEFAULT_CLIENT_ID) == 26
    assert DEFAULT_POOL_ID.startswith("us-east-1_")


# -- the pytest plugin, run in a child pytest session ------------------------------------------------


@pytest.fixture
def child(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        """
        [pytest]
        filterwarnings = error
        """
    )
    return pytester


def test_plugin_fixtures_in_a_users_test_suite(child: pytest.Pytester) -> None:
    child.makepyfile(
        """
        import pytest
        from cognito_authz import CognitoVerifier
        from cognito_authz.errors import WrongClientError

        def test_access(cognito_token, cognito_verifier):
            principal = cognito_verifier.verify(cognito_token(groups=["admin"]))
            assert principal.groups == ("admin",)
            assert principal.token_use == "access"

        def test_id(cognito_token, cognito_verifier):
            principal = cognito_verifier.verify(cognito_token("id", custom_attributes={"tenant_id": "t1"}))
            assert principal.claims["custom:tenant_id"] == "t1"

        def test_other_client_rejected(cognito_token, cognito_verifier):
            with pytest.raises(WrongClientError):
                cognito_verifier.verify(cognito_token(client_id="someone-else"))

        def test_issuer_is_shared_and_serving(cognito_issuer):
            assert cognito_issuer.jwks_uri.startswith("http://127.0.0.1:")
            assert isinstance(cognito_issuer.verifier(), CognitoVerifier)

        def test_bad_token_use(cognito_token):
            from cognito_authz.errors import ConfigError
            with pytest.raises(ConfigError):
                cognito_token("refresh")

        def test_m2m(cognito_token, cognito_verifier):
            principal = cognito_verifier.verify(cognito_token("m2m", scopes=["orders/read"]))
            assert principal.is_machine
            assert principal.scopes == ("orders/read",)
        """
    )
    result = child.runpytest()
    result.assert_outcomes(passed=6)


def test_session_issuer_is_started_once_and_stopped(child: pytest.Pytester) -> None:
    child.makeconftest(
        """
        import pytest
        from cognito_authz.errors import ConfigError

        SEEN = []

        @pytest.fixture(scope="session", autouse=True)
        def check_stopped(request):
            yield
            issuer = SEEN[0]
            with pytest.raises(ConfigError):
                issuer.jwks_uri
        """
    )
    child.makepyfile(
        """
        from conftest import SEEN

        def test_one(cognito_issuer):
            SEEN.append(cognito_issuer)

        def test_two(cognito_issuer, cognito_verifier, cognito_token):
            assert SEEN[0] is cognito_issuer
            cognito_verifier.verify(cognito_token())
            assert cognito_issuer.request_count == 1
        """
    )
    result = child.runpytest()
    result.assert_outcomes(passed=2)


def test_ini_options_configure_the_issuer(child: pytest.Pytester) -> None:
    child.makeini(
        """
        [pytest]
        filterwarnings = error
        cognito_authz_pool_id = ap-south-1_MyPool42
        cognito_authz_client_id = my-app-client
        """
    )
    child.makepyfile(
        """
        def test_configured(cognito_issuer, cognito_token, cognito_verifier):
            assert cognito_issuer.issuer.endswith("ap-south-1.amazonaws.com/ap-south-1_MyPool42")
            assert cognito_verifier.verify(cognito_token()).client_id == "my-app-client"
        """
    )
    child.runpytest().assert_outcomes(passed=1)


def test_plugin_is_registered_through_the_entry_point(child: pytest.Pytester) -> None:
    child.makepyfile("def test_nothing(): pass")
    result = child.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["*cognito_issuer*", "*cognito_verifier*", "*cognito_token*"])
