"""Decision tables: both example policies pass their tables; failures and table errors are reported
precisely."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cognito_authz.errors import PolicyError
from cognito_authz.policy import DecisionTable, Policy, run_decision_table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"


def test_design_example_decides_as_its_comments_say(design_policy: Policy) -> None:
    result = run_decision_table(design_policy, EXAMPLES / "design_example.cases.yaml")
    assert result.passed, "\n".join(r.describe() for r in result.failures)
    assert len(result.results) >= 20
    # every rule of the example is exercised as a determining rule
    determining = {rule for r in result.results for rule in r.decision.rules}
    assert determining == {rule.id for rule in design_policy.rules}
    assert {r.decision.reason for r in result.results} == {"allowed", "explicit_deny", "no_matching_rule"}


def test_demo_policy_table(demo_policy: Policy) -> None:
    result = run_decision_table(demo_policy, str(EXAMPLES / "demo.cases.yaml"))
    assert result.passed, "\n".join(r.describe() for r in result.failures)
    assert result.summary() == f"{len(result.results)} cases, {len(result.results)} passed"
    determining = {rule for r in result.results for rule in r.decision.rules}
    assert determining == {rule.id for rule in demo_policy.rules}


def test_failures_say_what_differed(design_policy: Policy) -> None:
    cases: list[dict[str, Any]] = [
        {"principal": {"sub": "u"}, "method": "GET", "path": "/orders", "expect": "allow"},
        {
            "name": "wrong rule",
            "principal": {"sub": "a", "groups": ["admin"]},
            "method": "GET",
            "path": "/orders",
            "expect": "allow",
            "rule": "read-orders",
        },
        {
            "principal": {"sub": "a", "groups": "admin"},
            "method": "GET",
            "path": "/x",
            "expect": "allow",
            "rule": "no-such-rule",
        },
        {
            "principal": {"sub": "u"},
            "method": "GET",
            "path": "/x",
            "expect": "deny",
            "reason": "explicit_deny",
        },
        {
            "principal": {"sub": "u", "scopes": "orders/read"},
            "method": "GET",
            "path": "/orders",
            "expect": "allow",
        },
    ]
    result = run_decision_table(design_policy, {"cases": cases})
    assert not result.passed
    assert [r.passed for r in result.results] == [False, False, False, False, True]
    assert result.failures[0].problems == ("expected allow, got deny",)
    assert result.failures[1].problems == ("expected determining rule 'read-orders', got admin-everything",)
    assert result.failures[2].problems == ("expected rule 'no-such-rule' is not a rule of the policy",)
    assert result.failures[3].problems == ("expected reason explicit_deny, got no_matching_rule",)
    assert (
        result.failures[1]
        .describe()
        .startswith("FAIL wrong rule: allow (allowed by admin-everything); expected")
    )
    assert result.results[4].describe().startswith("PASS #4 GET /orders: allow (allowed by read-orders)")
    assert result.summary() == "5 cases, 1 passed, 4 failed"


def test_bare_list_json_and_loaded_table(tmp_path: Path, design_policy: Policy) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([{"principal": {"sub": "u"}, "path": "$connect", "expect": "deny"}]))
    result = run_decision_table(design_policy, path)
    assert result.passed
    assert result.source == str(path)
    table = DecisionTable.from_file(path)
    assert run_decision_table(design_policy, table).passed
    assert run_decision_table(
        design_policy, [{"principal": {}, "method": "GET", "path": "/", "expect": "deny"}]
    ).passed


def test_shorthand_expansion() -> None:
    table = DecisionTable.from_data(
        [
            {
                "principal": {"sub": "u", "groups": "admin", "scopes": ["a", "b"]},
                "method": "GET",
                "path": "/",
                "expect": "deny",
            }
        ]
    )
    assert table.cases[0].claims() == {"sub": "u", "cognito:groups": ["admin"], "scope": "a b"}


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"cases": []}, "cases", "at least 1 item"),
        (
            {"cases": [{"principal": {}, "path": "$connect", "expect": "deny"}], "case": []},
            "case",
            "unknown key",
        ),
        (
            [{"principal": {}, "method": "GET", "path": "/", "expect": "allowed"}],
            "cases[0].expect",
            "'allow' or 'deny'",
        ),
        (
            [{"principal": {}, "method": "GET", "path": "/", "expect": "deny", "extra": 1}],
            "cases[0].extra",
            "unknown key",
        ),
        ([{"principal": {}, "path": "/x", "expect": "deny"}], "cases[0].method", "required for HTTP"),
        ([{"method": "GET", "path": "/", "expect": "deny"}], "cases[0].principal", "Field required"),
        (
            [
                {
                    "principal": {"groups": ["a"], "cognito:groups": ["a"]},
                    "method": "GET",
                    "path": "/",
                    "expect": "deny",
                }
            ],
            "cases[0].principal",
            "not both",
        ),
        (
            [{"principal": {"groups": [1]}, "method": "GET", "path": "/", "expect": "deny"}],
            "cases[0].principal.groups",
            "list of strings",
        ),
        (
            [{"principal": {}, "method": "GET", "path": "/", "expect": "allow", "reason": "explicit_deny"}],
            "cases[0].reason",
            "contradicts",
        ),
        (
            [{"principal": {}, "method": "GET", "path": "/", "expect": "deny", "reason": "allowed"}],
            "cases[0].reason",
            "contradicts",
        ),
    ],
)
def test_table_errors(data: Any, field: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        DecisionTable.from_data(data, source="cases.yaml")
    assert info.value.reason == "invalid_decision_table"
    assert info.value.field == field
    assert fragment in str(info.value)
    assert "cases.yaml" in str(info.value)


def test_table_file_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        DecisionTable.from_file(tmp_path / "none.yaml")
    assert info.value.reason == "policy_unreadable"
    assert "decision table" in str(info.value)
    scalar = tmp_path / "s.json"
    scalar.write_text("3")
    with pytest.raises(PolicyError) as info:
        DecisionTable.from_file(scalar)
    assert info.value.reason == "invalid_decision_table"


def _case(principal: dict[str, Any]) -> dict[str, Any]:
    return {"name": "typo", "principal": principal, "method": "GET", "path": "/orders", "expect": "allow"}


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("scops", "scopes"), ("grups", "groups"), ("cognito:group", "cognito:groups"), ("usename", "username")],
)
def test_unknown_principal_key_is_rejected_with_a_suggestion(
    design_policy: Policy, key: str, suggestion: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        run_decision_table(design_policy, [_case({"sub": "u", key: ["orders/read"]})])
    error = caught.value
    assert error.reason == "invalid_decision_table"
    assert error.details["field"] == f"cases[0].principal.{key}"
    assert f"did you mean {suggestion!r}?" in str(error)
    assert "'typo'" in str(error)


def test_known_principal_keys_are_accepted() -> None:
    """Shorthands, Cognito's claims, custom:/dev: attributes and any claim the policy reads."""
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [{"id": "r", "routes": ["GET /orders"], "when": {"claims": {"tenant": "acme"}}}],
        }
    )
    principal = {
        "sub": "u",
        "groups": ["g"],
        "scopes": "a b",
        "email": "u@example.com",
        "client_id": "c",
        "custom:tenant_id": "acme",
        "dev:flag": "x",
        "tenant": "acme",  # not a Cognito claim, but the policy reads it (a pre token generation claim)
    }
    result = run_decision_table(policy, [_case(principal)])
    assert result.passed, result.results[0].describe()
    # The same claim with a policy that does not read it is a typo for all the table can tell.
    other = Policy.from_dict({"version": 1, "rules": [{"id": "r", "routes": ["GET /orders"]}]})
    with pytest.raises(PolicyError, match="unknown principal key 'tenant'"):
        run_decision_table(other, [_case(principal)])
