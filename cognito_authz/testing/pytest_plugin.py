"""pytest plugin (entry point ``pytest11``): fixtures backed by :class:`LocalIssuer`.

* ``cognito_issuer`` (session): a started :class:`LocalIssuer`; its pool and app client ids come from the
  ini options ``cognito_authz_pool_id`` / ``cognito_authz_client_id`` when set.
* ``cognito_verifier``: a :class:`CognitoVerifier` for that issuer accepting ID and access tokens.
* ``cognito_token``: a factory, ``cognito_token("access" | "id", **kwargs) -> str``, where ``kwargs`` go
  to ``LocalIssuer.mint_access_token`` / ``mint_id_token``.

Everything heavy is imported inside the fixtures: installing the library must not slow down every pytest
run that never asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from cognito_authz.testing.issuer import LocalIssuer
    from cognito_authz.verifier import CognitoVerifier


class TokenFactory(Protocol):
    """The type of the ``cognito_token`` fixture."""

    def __call__(self, token_use: str = "access", **kwargs: Any) -> str: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("cognito_authz_pool_id", "user pool id of the cognito_issuer fixture", default="")
    parser.addini("cognito_authz_client_id", "app client id of the cognito_issuer fixture", default="")


@pytest.fixture(scope="session")
def cognito_issuer(pytestconfig: pytest.Config) -> Iterator[LocalIssuer]:
    """A LocalIssuer serving its JWKS on 127.0.0.1 for the whole session."""
    from cognito_authz.testing.issuer import DEFAULT_CLIENT_ID, DEFAULT_POOL_ID, LocalIssuer

    pool_id = str(pytestconfig.getini("cognito_authz_pool_id") or DEFAULT_POOL_ID)
    client_id = str(pytestconfig.getini("cognito_authz_client_id") or DEFAULT_CLIENT_ID)
    with LocalIssuer(pool_id, client_id=client_id) as issuer:
        yield issuer


@pytest.fixture
def cognito_verifier(cognito_issuer: LocalIssuer) -> CognitoVerifier:
    """A verifier for ``cognito_issuer`` that accepts its ID and access tokens."""
    return cognito_issuer.verifier(token_use=None)


@pytest.fixture
def cognito_token(cognito_issuer: LocalIssuer) -> TokenFactory:
    """Mint a token: ``cognito_token()`` is an access token, ``cognito_token("id", groups=["admin"])``...,
    ``cognito_token("m2m", scopes=["orders/read"])`` a client-credentials token."""

    def mint(token_use: str = "access", **kwargs: Any) -> str:
        if token_use == "access":
            return cognito_issuer.mint_access_token(**kwargs)
        if token_use == "id":
            return cognito_issuer.mint_id_token(**kwargs)
        if token_use == "m2m":
            return cognito_issuer.mint_m2m_token(**kwargs)
        from cognito_authz.errors import ConfigError

        raise ConfigError(f"token_use must be 'access', 'id' or 'm2m', not {token_use!r}")

    return mint
