"""lint knows the token use: rules comparing claims stock Cognito tokens of that use lack are flagged."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cognito_authz import Policy
from cognito_authz.errors import PolicyError
from cognito_authz.policy.lint import token_use_findings

ROOT = Path(__file__).resolve().parents[2]


def readme_tour_policy() -> str:
    """The YAML block of the README tour ("# policy.yaml"), as a reader would copy it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n# policy\.yaml\n(.*?)```", readme, re.S)
    assert block is not None, "README tour has no policy.yaml block"
    return block.group(1)


def test_readme_tour_policy_with_access_tokens_says_what_they_lack(tmp_path: Path) -> None:
    data = yaml.safe_load(readme_tour_policy())
    data["token_use"] = "access"
    policy = Policy.from_dict(data)
    findings = [f for f in policy.lint() if f.code == "claim_not_in_token"]
    assert [(f.rule_id, f.severity) for f in findings] == [
        ("tenant-guard", "warning"),
        ("tenant-members", "warning"),
    ]
    message = findings[0].message
    assert "'custom:tenant_id'" in message
    assert "access tokens do not carry" in message
    assert "ID tokens" in message  # remedy one
    assert "pre token generation trigger" in message  # remedy two
    # The CLI says the same, from the file field or from the flag.
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data))
    for extra, target in (([], path), (["--token-use", "access"], _without_token_use(data, tmp_path))):
        run = subprocess.run(
            [sys.executable, "-m", "cognito_authz.cli", "lint", str(target), "--skip-cache-safety", *extra],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert "claim_not_in_token" in run.stdout, run.stdout + run.stderr
        assert "custom:tenant_id" in run.stdout


def _without_token_use(data: dict[str, object], tmp_path: Path) -> Path:
    plain = {key: value for key, value in data.items() if key != "token_use"}
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(plain))
    return path


def test_without_a_token_use_lint_says_nothing_about_claims() -> None:
    policy = Policy.from_dict(yaml.safe_load(readme_tour_policy()))
    assert not [f for f in policy.lint() if f.code == "claim_not_in_token"]


def test_id_token_policies_are_fine_with_attributes_and_flagged_for_scope_claims() -> None:
    policy = Policy.from_dict(
        {
            "version": 1,
            "token_use": "id",
            "rules": [
                {"id": "tenant", "routes": ["GET /t/{t}"], "when": {"claims": {"custom:tenant_id": "{t}"}}},
                {"id": "email", "routes": ["GET /e"], "when": {"claims": {"email_verified": True}}},
                {"id": "scope-claim", "routes": ["GET /s"], "when": {"claims": {"scope": "a"}}},
            ],
        }
    )
    assert [f.rule_id for f in token_use_findings(policy.document, "id")] == ["scope-claim"]
    # The same rules decided on access tokens: the attributes are what is missing.
    assert [f.rule_id for f in token_use_findings(policy.document, "access")] == ["tenant", "email"]


@pytest.mark.parametrize(
    "claim", ["sub", "username", "cognito:groups", "scope", "client_id", "iss", "auth_time"]
)
def test_claims_stock_access_tokens_carry_are_not_flagged(claim: str) -> None:
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "r", "routes": ["GET /x"], "when": {"claims": {claim: "*"}}}]}
    )
    assert token_use_findings(policy.document, "access") == []


def test_token_use_field_is_validated() -> None:
    with pytest.raises(PolicyError):
        Policy.from_dict({"version": 1, "token_use": "refresh", "rules": []})
    assert Policy.from_dict({"version": 1, "token_use": "access", "rules": []}).token_use == "access"


def test_claimsets_is_pure_data() -> None:
    # lint (policy layer), triggers and LocalIssuer all read it: it must import nothing of ours.
    import ast

    source = (ROOT / "cognito_authz" / "claimsets.py").read_text(encoding="utf-8")
    modules = [
        node.module or "" for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [name for name in modules if name.startswith("cognito_authz")]
