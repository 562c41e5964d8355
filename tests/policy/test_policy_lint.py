"""Lint findings: unknown groups, rules that never apply, allows shadowed by denies, routes nobody may
call, parameter-name conflicts, unconditional greedy allows; load errors (brace mistakes, duplicate ids)
reported as findings by lint_file / lint_data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cognito_authz.policy import LintFinding, Policy, lint_data, lint_file

PolicyOf = Callable[..., Policy]


def _codes(findings: list[LintFinding]) -> list[tuple[str, str, str | None]]:
    return [(f.severity, f.code, f.rule_id) for f in findings]


ADMIN = {"id": "admin", "routes": ["ANY /{p+}"], "when": {"groups": ["admin"]}}


def test_example_policies_lint_clean(design_policy: Policy, demo_policy: Policy) -> None:
    assert design_policy.lint() == []
    assert demo_policy.lint() == []


def test_unknown_groups(policy_of: PolicyOf) -> None:
    policy = policy_of(
        ADMIN,
        {"id": "a", "routes": ["GET /a"], "when": {"groups": ["admin", "suport"]}},
        {"id": "b", "routes": ["GET /b"], "when": {"all_groups": ["ops"]}, "unless": {"groups": ["banned"]}},
        {"id": "c", "routes": ["GET /c"], "when": {"claims": {"cognito:groups": ["admin", "x"]}}},
        groups=["admin"],
    )
    findings = policy.lint()
    assert _codes(findings) == [
        ("error", "unknown_group", "a"),
        ("error", "unknown_group", "b"),
        ("error", "unknown_group", "b"),
        ("error", "unknown_group", "c"),
    ]
    assert "'suport'" in findings[0].message
    assert "unless names group 'banned'" in findings[2].message


def test_groups_are_not_checked_when_not_declared(policy_of: PolicyOf) -> None:
    assert policy_of(ADMIN, {"id": "a", "routes": ["GET /a"], "when": {"groups": ["anything"]}}).lint() == []


def test_never_applies_when_unless_always_holds(policy_of: PolicyOf) -> None:
    policy = policy_of(
        ADMIN,
        {"id": "same", "routes": ["GET /a"], "when": {"groups": ["admin"]}, "unless": {"groups": ["admin"]}},
        {"id": "wider", "routes": ["GET /b"], "when": {"groups": ["a"]}, "unless": {"groups": ["a", "b"]}},
        {"id": "no-when", "routes": ["GET /c"], "unless": {"groups": ["a"]}},
        {
            "id": "template",
            "routes": ["GET /t/{t}"],
            "when": {"claims": {"tenant": "{t}"}},
            "unless": {"claims": {"tenant": "{t}"}},
        },
        {"id": "ok", "routes": ["GET /d"], "when": {"groups": ["a", "b"]}, "unless": {"groups": ["a"]}},
    )
    never = [f.rule_id for f in policy.lint() if f.code == "never_applies"]
    assert never == ["same", "wider", "template"]


def test_never_applies_scopes_on_id_tokens(policy_of: PolicyOf) -> None:
    policy = policy_of(
        ADMIN,
        {"id": "id-scopes", "routes": ["GET /a"], "when": {"token_use": "id", "scopes": ["x"]}},
        {"id": "either", "routes": ["GET /b"], "when": {"token_use": ["id", "access"], "all_scopes": ["x"]}},
    )
    findings = policy.lint()
    assert _codes(findings) == [("error", "never_applies", "id-scopes")]
    assert "access tokens" in findings[0].message


def test_allow_shadowed_by_deny(policy_of: PolicyOf) -> None:
    policy = policy_of(
        ADMIN,
        {"id": "read", "routes": ["GET /orders/{id}"], "when": {"groups": ["support"]}},
        {"id": "write", "routes": ["PUT /orders/{id}", "GET /x"], "when": {"groups": ["support"]}},
        {"id": "no-orders", "effect": "deny", "routes": ["ANY /orders/{p+}"]},
        {"id": "ro", "routes": ["GET /ro"], "when": {"groups": ["ro"], "scopes": ["s"]}},
        {"id": "deny-ro", "effect": "deny", "routes": ["GET /ro"], "when": {"groups": ["ro", "other"]}},
        {"id": "cond", "routes": ["GET /cond"], "when": {"groups": ["a"]}},
        {"id": "deny-cond", "effect": "deny", "routes": ["GET /cond"], "when": {"groups": ["b"]}},
        {"id": "guarded", "routes": ["GET /g"]},
        {"id": "deny-unless", "effect": "deny", "routes": ["GET /g"], "unless": {"groups": ["x"]}},
    )
    shadowed = [(f.rule_id, f.message) for f in policy.lint() if f.code == "shadowed_by_deny"]
    assert [rule for rule, _ in shadowed] == ["read", "ro"]
    assert "no-orders" in shadowed[0][1]


def test_shadowed_across_several_deny_rules(policy_of: PolicyOf) -> None:
    policy = policy_of(
        ADMIN,
        {"id": "two", "routes": ["GET /a", "GET /b"], "when": {"groups": ["g"]}},
        {"id": "deny-a", "effect": "deny", "routes": ["GET /a"]},
        {"id": "deny-b", "effect": "deny", "routes": ["ANY /b"], "when": {"groups": ["g", "h"]}},
    )
    findings = [f for f in policy.lint() if f.code == "shadowed_by_deny"]
    assert [f.rule_id for f in findings] == ["two"]
    assert "deny-a, deny-b" in findings[0].message


def test_routes_no_rule_allows(policy_of: PolicyOf) -> None:
    policy = policy_of(
        {"id": "read", "routes": ["GET /orders/{id}"], "when": {"groups": ["g"]}},
        {"id": "guard", "effect": "deny", "routes": ["ANY /admin/{p+}", "ANY /orders/{id}"]},
        {"id": "dead", "routes": ["GET /dead"], "when": {"groups": ["a"]}, "unless": {"groups": ["a"]}},
    )
    findings = [f for f in policy.lint() if f.code == "route_not_allowed"]
    assert [f.message.split(" (")[0] for f in findings] == [
        "no applicable allow rule covers any request to ANY /admin/{p+}",
        "no applicable allow rule covers any request to GET /dead",
    ]
    assert findings[0].rule_id == "guard"


def test_route_parameter_name_conflicts(policy_of: PolicyOf) -> None:
    policy = policy_of(
        {"id": "a", "routes": ["GET /orders/{id}"], "when": {"groups": ["g"]}},
        {"id": "b", "routes": ["PUT /orders/{orderId}"], "when": {"groups": ["g"]}},
        {"id": "c", "routes": ["GET /orders/{id}/items", "GET /orders/latest"], "when": {"groups": ["g"]}},
    )
    findings = [f for f in policy.lint() if f.code == "route_param_conflict"]
    assert len(findings) == 1
    assert "PUT /orders/{orderId} and GET /orders/{id}" in findings[0].message
    assert findings[0].severity == "warning"


def test_unconditional_greedy_allow(policy_of: PolicyOf) -> None:
    policy = policy_of(
        {"id": "open", "routes": ["ANY /{p+}", "GET /health"]}, {"id": "health", "routes": ["GET /h"]}
    )
    findings = policy.lint()
    assert _codes(findings) == [("warning", "unconditional_allow", "open")]
    assert "ANY /{p+}" in findings[0].message
    assert "GET /health" not in findings[0].message


def test_no_rules(policy_of: PolicyOf) -> None:
    assert _codes(policy_of().lint()) == [("warning", "no_rules", None)]


def test_finding_str() -> None:
    finding = LintFinding("error", "unknown_group", "when names group 'x'", "r")
    assert str(finding) == "error [unknown_group] rule 'r': when names group 'x'"
    assert str(LintFinding("warning", "no_rules", "empty")) == "warning [no_rules] empty"


# --- load errors as findings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "fragment"),
    [
        ("GET /orders/{ id}", "did you mean '{id}'"),
        ("GET /orders/{}", "unnamed"),
        ("GET /a{b}", "whole segment"),
    ],
)
def test_literal_brace_mistakes(route: str, fragment: str) -> None:
    findings = lint_data({"version": 1, "rules": [{"id": "r", "routes": [route]}]}, source="p.yaml")
    assert _codes(findings) == [("error", "route_literal_brace", "r")]
    assert fragment in findings[0].message
    assert "p.yaml" in findings[0].message


def test_duplicate_ids() -> None:
    rule: dict[str, Any] = {"id": "r", "routes": ["GET /a"]}
    findings = lint_data({"version": 1, "rules": [rule, rule]})
    assert _codes(findings) == [("error", "duplicate_rule_id", "r")]


def test_lint_file(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "version": 1,
                "groups": ["a"],
                "rules": [{"id": "r", "routes": ["GET /a"], "when": {"groups": ["b"]}}],
            }
        )
    )
    assert _codes(lint_file(good)) == [("error", "unknown_group", "r")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - id: r\n    routes: ['GET /a']\n    wen: {groups: [a]}\n")
    findings = lint_file(bad)
    assert _codes(findings) == [("error", "policy_schema", "r")]
    assert "did you mean 'when'" in findings[0].message
    assert _codes(lint_file(tmp_path / "missing.yaml")) == [("error", "policy_unreadable", None)]
