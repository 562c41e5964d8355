"""``cognito-authz mint`` for Cognito as it is today: M2M tokens, the UPDATED issuer, honest notes."""

from __future__ import annotations

import json

import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.cli import main


def mint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, object], str]:
    assert main(["mint", "--json", *args]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_m2m_token_verifies_as_a_machine(capsys: pytest.CaptureFixture[str]) -> None:
    result, _ = mint(capsys, "--token-use", "m2m", "--scope", "reports/read", "--pool", "eu-west-1_AbC")
    verifier = CognitoVerifier("eu-west-1_AbC", client_id=None, token_use="access", offline=True)
    verifier.load_jwks(result["jwks"])  # type: ignore[arg-type]
    principal = verifier.verify(result["token"])
    assert principal.is_machine
    assert principal.scopes == ("reports/read",)


def test_updated_issuer_form(capsys: pytest.CaptureFixture[str]) -> None:
    result, _ = mint(capsys, "--issuer-type", "updated", "--pool", "eusc-de-east-1_AbC")
    assert result["issuer"] == "https://issuer-cognito-idp.eusc-de-east-1.amazonaws.eu/eusc-de-east-1_AbC"


def test_custom_attribute_in_an_access_token_gets_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    result, err = mint(capsys, "--claim", "custom:tenant_id=acme")
    assert result["claims"]["custom:tenant_id"] == "acme"  # type: ignore[index]
    assert "do not carry 'custom:tenant_id'" in err
    assert "pre token generation trigger" in err
    _, quiet = mint(capsys, "--token-use", "id", "--claim", "custom:tenant_id=acme")
    assert "do not carry" not in quiet


def test_m2m_refuses_user_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mint", "--token-use", "m2m", "--group", "admin"]) != 0
    assert "no user" in capsys.readouterr().err
