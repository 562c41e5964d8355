"""Shared fixtures: one LocalIssuer serving JWKS on 127.0.0.1 for the session, verifiers, token factories.

Hypothesis profiles: ``dev`` (default, modest example counts so the whole suite stays fast on 2 cores)
and ``thorough`` (select with ``HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from cognito_authz import CognitoVerifier
from cognito_authz.testing import LocalIssuer

settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def issuer() -> Iterator[LocalIssuer]:
    """The session's LocalIssuer. Do not rotate its keys: make your own LocalIssuer for that."""
    with LocalIssuer() as local:
        yield local


@pytest.fixture
def access_verifier(issuer: LocalIssuer) -> CognitoVerifier:
    """A fresh verifier (own caches) requiring access tokens of the issuer's app client."""
    return issuer.verifier(token_use="access")


@pytest.fixture
def id_verifier(issuer: LocalIssuer) -> CognitoVerifier:
    """A fresh verifier (own caches) requiring ID tokens of the issuer's app client."""
    return issuer.verifier(token_use="id")


@pytest.fixture
def access_token(issuer: LocalIssuer) -> Callable[..., str]:
    """``access_token(groups=[...], scopes=[...], claims={...}, ...)``: see LocalIssuer.mint_access_token."""
    return issuer.mint_access_token


@pytest.fixture
def id_token(issuer: LocalIssuer) -> Callable[..., str]:
    """``id_token(groups=[...], custom_attributes={...}, ...)``: see LocalIssuer.mint_id_token."""
    return issuer.mint_id_token
