"""Loading policies: YAML, JSON, TOML and dicts; every load error is a PolicyError that names the file,
the rule id and the field, with a stable reason code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cognito_authz.errors import REASONS, PolicyError
from cognito_authz.policy import Policy, Route

RULE = {"id": "read", "routes": ["GET /orders/{orderId}"], "when": {"groups": ["admin"]}}


def _load_error(data: Any, source: str = "policy.yaml") -> PolicyError:
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(data, source=source)
    assert info.value.reason in REASONS, info.value.reason
    assert source in str(info.value)
    return info.value


# --- formats ---------------------------------------------------------------------------------------


def test_yaml_json_and_toml_load_the_same_policy(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "version: 1\nrules:\n  - id: read\n"
        "    routes: ['GET /orders/{orderId}']\n    when: {groups: [admin]}\n"
    )
    (tmp_path / "p.json").write_text(json.dumps({"version": 1, "rules": [RULE]}))
    (tmp_path / "p.toml").write_text(
        'version = 1\n[[rules]]\nid = "read"\n'
        'routes = ["GET /orders/{orderId}"]\nwhen = {groups = ["admin"]}\n'
    )
    loaded = [Policy.from_file(tmp_path / name) for name in ("p.yaml", "p.json", "p.toml")]
    assert {policy.rules for policy in loaded} == {loaded[0].rules}
    assert loaded[0].source == str(tmp_path / "p.yaml")
    assert loaded[0].routes == (Route.parse("GET /orders/{orderId}"),)


def test_yml_extension_and_path_string(tmp_path: Path) -> None:
    (tmp_path / "p.yml").write_text("version: 1\nrules: []\n")
    assert Policy.from_file(str(tmp_path / "p.yml")).rules == ()


def test_from_dict_default_source() -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_dict({"version": 1})
    assert info.value.source == "<dict>"


@pytest.mark.parametrize(
    ("name", "content", "reason", "fragment"),
    [
        ("p.txt", "", "policy_unreadable", "unsupported policy file type"),
        ("p", "", "policy_unreadable", "unsupported policy file type"),
        ("p.yaml", "version: 1\nrules: [\n", "policy_syntax", "invalid YAML"),
        ("p.yaml", "version: 1\nversion: 1\nrules: []\n", "policy_syntax", "duplicate key 'version'"),
        (
            "p.yaml",
            "version: 1\nrules:\n  - id: a\n    routes: ['GET /x']\n"
            "    when: {groups: [a]}\n    when: {groups: [b]}\n",
            "policy_syntax",
            "duplicate key 'when'",
        ),
        ("p.json", '{"version": 1, "rules": [}', "policy_syntax", "invalid JSON at line 1"),
        ("p.json", '{"version": 1, "version": 1, "rules": []}', "policy_syntax", "duplicate key 'version'"),
        ("p.json", '{"version": NaN, "rules": []}', "policy_syntax", "NaN is not allowed"),
        ("p.toml", "version = 1\nversion = 2\n", "policy_syntax", "invalid TOML"),
    ],
)
def test_file_errors(tmp_path: Path, name: str, content: str, reason: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PolicyError) as info:
        Policy.from_file(path)
    assert info.value.reason == reason
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_file(tmp_path / "absent.yaml")
    assert info.value.reason == "policy_unreadable"
    assert "absent.yaml" in str(info.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b'{"version": 1, "rules": [], "description": "\xff"}')
    with pytest.raises(PolicyError) as info:
        Policy.from_file(path)
    assert info.value.reason == "policy_syntax"


def test_yaml_yes_no_are_not_group_names(tmp_path: Path) -> None:
    # YAML 1.1 reads `no` as false: strict typing turns that into an error, never a group called False
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nrules:\n  - id: a\n    routes: ['GET /x']\n    when: {groups: [no]}\n")
    with pytest.raises(PolicyError) as info:
        Policy.from_file(path)
    assert info.value.rule_id == "a"
    assert info.value.field == "rules[0].when.groups[0]"


# --- schema errors name file, rule and field ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_patch", "field", "fragment"),
    [
        ({"grups": ["x"]}, "rules[0].grups", "unknown key 'grups'"),
        ({"when": {"grups": ["admin"]}}, "rules[0].when.grups", "did you mean 'groups'"),
        ({"unless": {"scope": ["x"]}}, "rules[0].unless.scope", "did you mean 'scopes'"),
        ({"effect": "Deny"}, "rules[0].effect", "'allow' or 'deny'"),
        ({"routes": []}, "rules[0].routes", "at least 1 item"),
        ({"routes": [42]}, "rules[0].routes[0]", "must be a string"),
        ({"when": {"groups": []}}, "rules[0].when.groups", "at least 1 item"),
        ({"when": {"groups": [1]}}, "rules[0].when.groups[0]", "valid string"),
        ({"when": {"groups": [""]}}, "rules[0].when.groups[0]", "at least 1 character"),
        ({"when": {"token_use": "idd"}}, "rules[0].when.token_use[0]", "'id' or 'access'"),
        ({"when": {"claims": {}}}, "rules[0].when.claims", "at least 1 item"),
        ({"when": {"claims": {"sub": 1.5}}}, "rules[0].when.claims.sub", "claim condition must be"),
        ({"when": {"claims": {"sub": None}}}, "rules[0].when.claims.sub", "claim condition must be"),
        ({"when": {"claims": {"sub": []}}}, "rules[0].when.claims.sub", "claim condition must be"),
        ({"when": {"claims": {"sub": {"a": 1}}}}, "rules[0].when.claims.sub", "claim condition must be"),
        ({"when": "admin"}, "rules[0].when", "valid dictionary"),
        ({"description": 5}, "rules[0].description", "valid string"),
    ],
)
def test_schema_errors_name_rule_and_field(rule_patch: dict[str, Any], field: str, fragment: str) -> None:
    error = _load_error({"version": 1, "rules": [{**RULE, **rule_patch}]})
    assert error.rule_id == "read"
    assert error.field == field
    assert error.reason == "policy_schema"
    assert fragment in str(error)
    assert "file policy.yaml" in str(error)
    assert "rule 'read'" in str(error)
    assert field in str(error)


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"rules": []}, "version", "required key is missing"),
        ({"version": 2, "rules": []}, "version", "Input should be 1"),
        ({"version": 1}, "rules", "required key is missing"),
        ({"version": 1, "rules": [], "rulez": []}, "rulez", "unknown key 'rulez'"),
        ({"version": 1, "rules": "x"}, "rules", "a list"),
        ({"version": 1, "rules": [], "groups": []}, "groups", "at least 1 item"),
        ({"version": 1, "rules": [{"routes": ["GET /x"]}]}, "rules[0].id", "required key is missing"),
        ({"version": 1, "rules": [{"id": "a"}]}, "rules[0].routes", "required key is missing"),
    ],
)
def test_document_level_errors(data: dict[str, Any], field: str, fragment: str) -> None:
    error = _load_error(data)
    assert error.field == field
    assert fragment in str(error)


def test_several_problems_are_all_listed() -> None:
    error = _load_error({"version": 1, "rules": [{**RULE, "effect": "nope", "when": {"grups": ["a"]}}]})
    assert "also:" in str(error)
    assert "grups" in str(error)


def test_non_mapping_document() -> None:
    error = _load_error(["rules"])
    assert error.reason == "policy_schema"


def test_route_errors_keep_their_reason() -> None:
    error = _load_error({"version": 1, "rules": [{**RULE, "routes": ["GET /x", "GET /orders/{ id}"]}]})
    assert error.reason == "route_literal_brace"
    assert error.field == "rules[0].routes[1]"
    assert error.rule_id == "read"
    error = _load_error({"version": 1, "rules": [{**RULE, "routes": ["GET /orders/"]}]})
    assert error.reason == "invalid_route"


def test_duplicate_rule_ids() -> None:
    error = _load_error({"version": 1, "rules": [RULE, {**RULE, "routes": ["GET /y"]}]})
    assert error.reason == "duplicate_rule_id"
    assert error.rule_id == "read"
    assert error.field == "rules[1].id"
    assert "rules[0]" in str(error)


def test_template_must_name_a_parameter_of_every_route() -> None:
    rule = {
        "id": "own",
        "routes": ["GET /users/{userId}", "GET /me"],
        "when": {"claims": {"sub": "{userId}"}},
    }
    error = _load_error({"version": 1, "rules": [rule]})
    assert error.reason == "unknown_path_param"
    assert error.rule_id == "own"
    assert error.field == "rules[0].when.claims.sub"
    assert "'GET /me'" in str(error)


def test_template_in_unless_and_in_lists_is_checked() -> None:
    rule = {
        "id": "g",
        "effect": "deny",
        "routes": ["ANY /t/{tenantId}"],
        "unless": {"claims": {"t": ["{tenant}"]}},
    }
    error = _load_error({"version": 1, "rules": [rule]})
    assert error.field == "rules[0].unless.claims.t"


def test_malformed_template() -> None:
    rule = {"id": "own", "routes": ["GET /users/{userId}"], "when": {"claims": {"sub": "{ userId}"}}}
    error = _load_error({"version": 1, "rules": [rule]})
    assert error.reason == "unknown_path_param"
    assert "not a valid path-parameter template" in str(error)


def test_template_on_websocket_route() -> None:
    rule = {"id": "ws", "routes": ["$connect"], "when": {"claims": {"sub": "{userId}"}}}
    assert _load_error({"version": 1, "rules": [rule]}).reason == "unknown_path_param"


def test_star_cannot_be_a_list_option() -> None:
    rule = {**RULE, "when": {"claims": {"sub": ["*", "x"]}}}
    assert "'*'" in str(_load_error({"version": 1, "rules": [rule]}))


def test_empty_unless_is_an_error() -> None:
    error = _load_error({"version": 1, "rules": [{**RULE, "unless": {}}]})
    assert error.field == "rules[0].unless"


def test_shorthands_and_defaults() -> None:
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [{"id": "a", "routes": "GET /x", "when": {"groups": "admin", "token_use": "id"}}],
        }
    )
    rule = policy.rules[0]
    assert rule.effect == "allow"
    assert rule.routes == (Route.parse("GET /x"),)
    assert rule.when is not None
    assert rule.when.groups == ("admin",)
    assert rule.when.token_use == ("id",)
    assert rule.unless is None


def test_rules_are_frozen_models() -> None:
    policy = Policy.from_dict({"version": 1, "rules": [RULE]})
    with pytest.raises(Exception, match="frozen"):
        policy.rules[0].id = "other"  # type: ignore[misc]


def test_routes_are_distinct_in_first_seen_order() -> None:
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {"id": "a", "routes": ["GET /b", "GET /a", "GET /b"]},
                {"id": "b", "routes": ["GET /a", "$connect", "ANY /c/{p+}"]},
            ],
        }
    )
    assert [route.text for route in policy.routes] == ["GET /b", "GET /a", "$connect", "ANY /c/{p+}"]
    assert policy.rule("b") is policy.rules[1]
    assert policy.rule("zzz") is None
    assert "rules=2" in repr(policy)
