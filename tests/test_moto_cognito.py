"""moto's Cognito in server mode on 127.0.0.1 as an independent token issuer (boto3 ``initiate_auth``).

Nothing here reaches AWS: boto3 gets dummy credentials and an ``endpoint_url`` pointing at the in-process
moto server; the verifier fetches moto's JWKS over plain HTTP from the same server.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from cognito_authz import CognitoVerifier
from cognito_authz.errors import REASONS, UnknownIssuerError, WrongClientError, WrongTokenUseError

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

REGION = "eu-west-1"
PASSWORD = "Correct-Horse-9-battery"


@dataclass
class MotoPool:
    endpoint: str
    pool_id: str
    client_id: str
    other_client_id: str
    jwks_uri: str
    cognito: Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_pool() -> Iterator[MotoPool]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }.items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        env.setenv("AWS_CONFIG_FILE", "/dev/null")
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            assert host == "127.0.0.1"
            endpoint = f"http://127.0.0.1:{port}"
            cognito = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint)
            pool_id = cognito.create_user_pool(
                PoolName="orders",
                Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": True}],
            )["UserPool"]["Id"]

            def app_client(name: str) -> str:
                return str(
                    cognito.create_user_pool_client(
                        UserPoolId=pool_id,
                        ClientName=name,
                        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
                        ReadAttributes=["email", "email_verified", "custom:tenant_id"],
                    )["UserPoolClient"]["ClientId"]
                )

            client_id, other_client_id = app_client("web"), app_client("other")
            cognito.create_group(GroupName="admin", UserPoolId=pool_id)
            cognito.admin_create_user(
                UserPoolId=pool_id,
                Username="alice",
                UserAttributes=[
                    {"Name": "email", "Value": "alice@example.com"},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "custom:tenant_id", "Value": "acme"},
                ],
                MessageAction="SUPPRESS",
            )
            cognito.admin_set_user_password(
                UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True
            )
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="alice", GroupName="admin")
            yield MotoPool(
                endpoint=endpoint,
                pool_id=pool_id,
                client_id=client_id,
                other_client_id=other_client_id,
                jwks_uri=f"{endpoint}/{pool_id}/.well-known/jwks.json",
                cognito=cognito,
            )
            cognito.close()
        finally:
            server.stop()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    # Our own session, closed at teardown: moto's server keeps connections alive.
    with requests.Session() as http:
        yield http


def login(pool: MotoPool, client_id: str | None = None) -> dict[str, str]:
    result = pool.cognito.initiate_auth(
        ClientId=client_id or pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return {"access": result["AccessToken"], "id": result["IdToken"]}


def verifier_for(pool: MotoPool, session: requests.Session, token_use: Any, **kwargs: Any) -> CognitoVerifier:
    return CognitoVerifier(
        pool.pool_id,
        client_id=kwargs.pop("client_id", pool.client_id),
        token_use=token_use,
        jwks_uri=pool.jwks_uri,
        allow_http=True,
        session=session,
        **kwargs,
    )


def test_access_token_from_moto_verifies(moto_pool: MotoPool, session: requests.Session) -> None:
    verifier = verifier_for(moto_pool, session, "access", required_groups=["admin"])
    principal = verifier.verify(login(moto_pool)["access"])
    assert principal.username == "alice"
    assert principal.groups == ("admin",)
    assert principal.client_id == moto_pool.client_id
    assert principal.token_use == "access"
    assert principal.issuer == f"https://cognito-idp.{REGION}.amazonaws.com/{moto_pool.pool_id}"
    assert "aws.cognito.signin.user.admin" in principal.scopes
    assert verifier.jwks_cache().kids == ("dummy",)


def test_id_token_from_moto_verifies(moto_pool: MotoPool, session: requests.Session) -> None:
    verifier = verifier_for(moto_pool, session, "id")
    principal = verifier.verify(login(moto_pool)["id"])
    assert principal.username == "alice"
    assert principal.groups == ("admin",)
    assert principal.client_id == moto_pool.client_id  # from aud
    assert principal.claims["custom:tenant_id"] == "acme"
    assert principal.claims["email"] == "alice@example.com"
    # moto sends the string "true"; the Principal normalizes it.
    assert principal.claims["email_verified"] is True


def test_both_tokens_with_one_verifier_and_one_fetch(moto_pool: MotoPool, session: requests.Session) -> None:
    verifier = verifier_for(moto_pool, session, None)
    tokens = login(moto_pool)
    assert verifier.verify(tokens["access"]).token_use == "access"
    assert verifier.verify(tokens["id"]).token_use == "id"
    assert verifier.jwks_cache().fetch_count == 1


def test_token_of_another_app_client_is_rejected(moto_pool: MotoPool, session: requests.Session) -> None:
    verifier = verifier_for(moto_pool, session, None)
    tokens = login(moto_pool, moto_pool.other_client_id)
    for token in tokens.values():
        with pytest.raises(WrongClientError) as info:
            verifier.verify(token)
        assert info.value.reason == "wrong_client"
    # ...and accepted by a verifier configured for that client.
    assert verifier_for(moto_pool, session, "access", client_id=moto_pool.other_client_id).verify(
        tokens["access"]
    )


def test_token_use_is_enforced_on_moto_tokens(moto_pool: MotoPool, session: requests.Session) -> None:
    tokens = login(moto_pool)
    with pytest.raises(WrongTokenUseError) as info:
        verifier_for(moto_pool, session, "access").verify(tokens["id"])
    assert info.value.reason == "wrong_token_use"
    with pytest.raises(WrongTokenUseError):
        verifier_for(moto_pool, session, "id").verify(tokens["access"])


def test_another_moto_pool_is_another_issuer(moto_pool: MotoPool, session: requests.Session) -> None:
    # moto signs every pool with the same key: only the issuer check keeps pools apart.
    other_pool = moto_pool.cognito.create_user_pool(PoolName="other")["UserPool"]["Id"]
    verifier = CognitoVerifier(
        other_pool,
        client_id=None,
        token_use=None,
        jwks_uri=f"{moto_pool.endpoint}/{other_pool}/.well-known/jwks.json",
        allow_http=True,
        session=session,
    )
    with pytest.raises(UnknownIssuerError) as info:
        verifier.verify(login(moto_pool)["access"])
    assert info.value.reason in REASONS
    assert verifier.jwks_cache().fetch_count == 0


def test_moto_jwks_can_be_loaded_offline(moto_pool: MotoPool, session: requests.Session) -> None:
    document = session.get(moto_pool.jwks_uri, timeout=5).json()
    verifier = CognitoVerifier(
        moto_pool.pool_id, client_id=moto_pool.client_id, token_use="access", offline=True
    )
    verifier.load_jwks(document)
    assert verifier.verify(login(moto_pool)["access"]).username == "alice"


# -- issuer forms: moto stands in for a pool that never switched to the UPDATED issuer ------------------


def test_hydrate_and_verify_for_a_pool_with_only_the_original_issuer(moto_pool: MotoPool) -> None:
    from cognito_authz.jwks import HttpFetcher
    from cognito_authz.verifier import cognito_issuers

    original, updated = cognito_issuers(moto_pool.pool_id)
    asked: list[str] = []
    http = HttpFetcher(allow_http=True)
    # The real JWKS URLs the verifier derives, served by moto: the ORIGINAL one is moto's JWKS; moto has
    # no UPDATED issuer, so that URL answers 404 as a pool that never switched would.
    routes = {
        f"{original}/.well-known/jwks.json": moto_pool.jwks_uri,
        f"{updated}/.well-known/jwks.json": f"{moto_pool.endpoint}/{moto_pool.pool_id}/no-updated-issuer",
    }

    def fetch(uri: str) -> Any:
        asked.append(uri)
        return http(routes[uri])

    verifier = CognitoVerifier(
        moto_pool.pool_id, client_id=moto_pool.client_id, token_use=None, fetcher=fetch
    )
    verifier.hydrate()  # the UPDATED fetch fails; the pool's ORIGINAL keys loaded: success
    assert asked == list(routes)
    tokens = login(moto_pool)
    assert verifier.verify(tokens["access"]).issuer == original
    assert verifier.verify(tokens["id"]).issuer == original
    assert len(asked) == 2  # no fetch after hydrate


def test_moto_puts_custom_attributes_in_id_tokens_only(
    moto_pool: MotoPool, session: requests.Session
) -> None:
    # An independent issuer agrees with cognito_authz.claimsets (what lint's claim_not_in_token rests on).
    from cognito_authz.claimsets import carried_by_default

    tokens = login(moto_pool)
    ident = verifier_for(moto_pool, session, "id").verify(tokens["id"])
    access = verifier_for(moto_pool, session, "access").verify(tokens["access"])
    assert ident.claims["custom:tenant_id"] == "acme"
    assert "custom:tenant_id" not in access.claims
    assert not carried_by_default("custom:tenant_id", "access")
    assert all(carried_by_default(name, "access") for name in access.claims)
