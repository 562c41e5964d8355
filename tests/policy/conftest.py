"""Fixtures for the policy engine tests: principals from claims, small policies from rule dicts, and the
example policies under ``examples/policies``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"


@pytest.fixture
def principal() -> Callable[..., Principal]:
    """``principal("u1", groups=[...], scopes=[...], claims={...})``: a Principal as the verifier builds
    it from an access token (``token_use=None`` leaves the claim out)."""

    def make(
        sub: str = "u-1",
        *,
        groups: list[str] | None = None,
        scopes: list[str] | None = None,
        token_use: str | None = "access",
        claims: dict[str, Any] | None = None,
    ) -> Principal:
        data: dict[str, Any] = {"sub": sub, **(claims or {})}
        if groups is not None:
            data["cognito:groups"] = groups
        if scopes is not None:
            data["scope"] = " ".join(scopes)
        if token_use is not None:
            data["token_use"] = token_use
        return Principal.from_claims(data)

    return make


@pytest.fixture
def policy_of() -> Callable[..., Policy]:
    """``policy_of(rule, rule, ..., groups=[...])``: a Policy from rule dicts."""

    def make(*rules: dict[str, Any], groups: list[str] | None = None) -> Policy:
        data: dict[str, Any] = {"version": 1, "rules": list(rules)}
        if groups is not None:
            data["groups"] = groups
        return Policy.from_dict(data, source="test.yaml")

    return make


@pytest.fixture(scope="session")
def design_policy() -> Policy:
    """The policy-language example policy (examples/policies/design_example.yaml)."""
    return Policy.from_file(EXAMPLES / "design_example.yaml")


@pytest.fixture(scope="session")
def demo_policy() -> Policy:
    """The richer demo policy (tenants, admin, read-only scopes, contractors)."""
    return Policy.from_file(EXAMPLES / "demo.yaml")
