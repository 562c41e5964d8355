"""The Cedar export means what the policy means: cedarpy (Cedar's own Rust evaluator) answers every
request as ``Policy.decide`` does, on the example policies' decision tables and on >= 20,000 random
policies × principals × requests; what Cedar cannot carry is refused, never exported weaker."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import cedarpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.cli import main
from cognito_authz.errors import REASONS, PolicyError
from cognito_authz.export.cedar import CedarExport, cedar_request, export_cedar
from cognito_authz.policy import DecisionTable, Policy, Route
from cognito_authz.principal import Principal

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "policies"
#: The differential test's floor per default run (the issue's "done when").
MIN_CASES = 20_000


def cedar_allows(export: CedarExport, principal: Principal, method: str, path: str) -> bool:
    """Cedar's answer for one request (no Cedar request means deny)."""
    built = cedar_request(export, principal, method, path)
    if built is None:
        return False
    result = cedarpy.is_authorized(built.request, export.policies, built.entities, export.schema_json())
    assert not result.diagnostics.errors, result.diagnostics.errors
    return result.decision == cedarpy.Decision.Allow


@pytest.mark.parametrize("name", ["design_example", "demo"])
def test_cedar_answers_match_the_decision_tables(name: str) -> None:
    policy = Policy.from_file(EXAMPLES / f"{name}.yaml")
    export = export_cedar(policy)
    table = DecisionTable.from_file(EXAMPLES / f"{name}.cases.yaml")
    assert len(table.cases) > 10
    for case in table.cases:
        principal = Principal.from_claims(case.claims())
        expected = case.expect == "allow"
        assert cedar_allows(export, principal, case.method or "", case.path) is expected, case.name


@pytest.mark.parametrize("name", ["design_example", "demo"])
def test_exported_policies_validate_against_the_exported_schema(name: str) -> None:
    export = export_cedar(Policy.from_file(EXAMPLES / f"{name}.yaml"))
    result = cedarpy.validate_policies(export.policies, export.schema_json())
    assert result.validation_passed, result.errors
    assert export.policy_count == sum(
        len(rule.routes) for rule in Policy.from_file(EXAMPLES / f"{name}.yaml").rules
    )


# --- the differential test ---------------------------------------------------------------------------

# Small pools, so random claims and path parameters collide often (claim = parameter holds sometimes).
_VALUES = [
    "acme",
    "globex",
    "u1",
    "42",
    "acme/p1",
    "true",
    "TRUE",
    "false",
    "a%2Fb",
    "é",
    "x y",
    'q"t',
    "back\\s",
]
_LITERALS = ["orders", "tenants", "users", "a"]
_GROUPS = ["admin", "member", "support"]
_SCOPES = ["r", "w", "orders/read"]
# claim names include ones Cedar's JSON entity format gives a meaning to ("__entity")
_CLAIMS = [
    "sub",
    "custom:tenant_id",
    "custom:n",
    "email_verified",
    "cognito:groups",
    "scope",
    "custom:list",
    "__entity",
]
_CLIENTS = ["c1", "c2"]
_VERBS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


def _random_route(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return rng.choice(["$connect", "$default"])
    method = rng.choice([*_VERBS, "ANY", "ANY"])
    depth = rng.randint(0, 3)
    segments: list[str] = []
    params = 0
    for index in range(depth):
        roll = rng.random()
        if roll < 0.5:
            segments.append(rng.choice(_LITERALS))
        elif roll < 0.7 or index < depth - 1:
            params += 1
            segments.append(f"{{p{params}}}")
        else:
            segments.append("{rest+}")
    return f"{method} /" + "/".join(segments)


def _random_claim_spec(rng: random.Random, params: list[str]) -> Any:
    roll = rng.random()
    if roll < 0.35 and params:
        # the greedy parameter half the time when the rule has one: its value spans segments
        return "{" + ("rest" if "rest" in params and rng.random() < 0.5 else rng.choice(params)) + "}"
    if roll < 0.45:
        return "*"
    if roll < 0.6:
        return rng.choice([True, False, 42, 7])
    if roll < 0.75:
        options: list[Any] = rng.sample(_VALUES, 2)
        if params and rng.random() < 0.5:
            options.append("{" + rng.choice(params) + "}")
        if rng.random() < 0.3:
            options.append(rng.choice([True, False, 42]))
        return options
    return rng.choice(_VALUES)


def _random_condition(rng: random.Random, params: list[str]) -> dict[str, Any]:
    condition: dict[str, Any] = {}
    keys = rng.sample(
        ["groups", "all_groups", "scopes", "all_scopes", "token_use", "client_id", "claims"],
        rng.randint(1, 3),
    )
    for key in keys:
        if key in ("groups", "all_groups"):
            condition[key] = rng.sample(_GROUPS, rng.randint(1, 2))
        elif key in ("scopes", "all_scopes"):
            condition[key] = rng.sample(_SCOPES, rng.randint(1, 2))
        elif key == "token_use":
            condition[key] = rng.sample(["id", "access"], rng.randint(1, 2))
        elif key == "client_id":
            condition[key] = rng.sample(_CLIENTS, rng.randint(1, 2))
        else:
            names = rng.sample(_CLAIMS, rng.randint(1, 2))
            condition[key] = {name: _random_claim_spec(rng, params) for name in names}
    return condition


def random_policy(rng: random.Random) -> dict[str, Any]:
    rules = []
    for index in range(rng.randint(1, 6)):
        routes = list(dict.fromkeys(_random_route(rng) for _ in range(rng.randint(1, 3))))
        # a claim template must name a parameter every route of the rule has
        parsed = [
            Policy.from_dict({"version": 1, "rules": [{"id": "x", "routes": [r]}]}).routes[0] for r in routes
        ]
        common = sorted(set.intersection(*(set(route.params) for route in parsed)))
        rule: dict[str, Any] = {"id": f"r{index}", "routes": routes}
        if rng.random() < 0.4:
            rule["effect"] = "deny"
        if rng.random() < 0.85:
            rule["when"] = _random_condition(rng, common)
        if rng.random() < 0.3:
            rule["unless"] = _random_condition(rng, common)
        rules.append(rule)
    return {"version": 1, "rules": rules}


def policy_literals(data: dict[str, Any]) -> list[Any]:
    """Every literal a policy's claim conditions compare with (so principals sometimes hold them)."""
    found: list[Any] = []
    for rule in data["rules"]:
        for part in ("when", "unless"):
            for spec in rule.get(part, {}).get("claims", {}).values():
                for value in spec if isinstance(spec, list) else [spec]:
                    if not (isinstance(value, str) and value.startswith("{")) and value != "*":
                        found.append(value)
    return found


def random_claims(rng: random.Random, literals: list[Any]) -> dict[str, Any]:
    def value() -> Any:
        return rng.choice(literals) if literals and rng.random() < 0.5 else rng.choice(_VALUES)

    claims: dict[str, Any] = {"sub": rng.choice(_VALUES)}
    if rng.random() < 0.8:
        claims["cognito:groups"] = rng.sample(_GROUPS, rng.randint(0, 2))
    if rng.random() < 0.7:
        claims["scope"] = " ".join(rng.sample(_SCOPES, rng.randint(0, 2)))
    if rng.random() < 0.8:
        claims["token_use"] = rng.choice(["id", "access"])
    if rng.random() < 0.8:
        claims["client_id"] = rng.choice(_CLIENTS)
    for name in ("custom:tenant_id", "custom:n", "email_verified", "custom:list", "__entity"):
        if rng.random() < 0.6:
            claims[name] = rng.choice(
                [
                    value(),
                    value(),
                    str(value()),
                    42,
                    7,
                    True,
                    False,
                    "",
                    None,
                    1.5,
                    rng.sample(_VALUES, 2),
                    [],
                    [42, True],
                ]
            )
    return claims


def satisfying_claims(rng: random.Random, rule: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """``claims`` changed so the rule's ``when`` holds, except where a claim must equal a path parameter
    (the request decides that: paths are built from the principal's claim values)."""
    when = rule.get("when", {})
    groups = {
        *when.get("all_groups", []),
        *rng.sample(when.get("groups", []), min(1, len(when.get("groups", [])))),
    }
    scopes = {
        *when.get("all_scopes", []),
        *rng.sample(when.get("scopes", []), min(1, len(when.get("scopes", [])))),
    }
    out = dict(claims)
    if groups:
        out["cognito:groups"] = sorted(groups | set(out.get("cognito:groups") or []))
    if scopes:
        out["scope"] = " ".join(sorted(scopes))
    if "token_use" in when:
        out["token_use"] = rng.choice(when["token_use"])
    if "client_id" in when:
        out["client_id"] = rng.choice(when["client_id"])
    for name, spec in when.get("claims", {}).items():
        if name in ("cognito:groups", "scope"):
            continue
        options = spec if isinstance(spec, list) else [spec]
        choice = rng.choice(options)
        if choice == "*" or (isinstance(choice, str) and choice.startswith("{")):
            choice = rng.choice(_VALUES)
        elif isinstance(choice, bool) and rng.random() < 0.5:
            choice = rng.choice(["true", "TRUE", "True"] if choice else ["false", "FALSE"])
        out[name] = [choice, rng.choice(_VALUES)] if rng.random() < 0.2 else choice
    return out


def _as_segment(value: str) -> str:
    return value.replace(" ", "%20").replace('"', "%22")


def random_path(rng: random.Random, policy: Policy, principal: Principal, prefer: list[str]) -> str:
    """A path, most often built from a route of the policy with parameters the principal's claims hold."""
    held = [
        item
        for value in principal.claims.values()
        for item in (value if isinstance(value, list) else [value])
    ]
    texts = [
        str(item)
        for item in held
        if isinstance(item, str | int) and not isinstance(item, bool) and item != ""
    ]
    pool = [*_VALUES, *texts, *texts]
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(["$connect", "$default"])
    if roll < 0.12:
        return rng.choice(["/", "//", "/orders/", "/a/../b", "/%zz", "/orders/%2e%2e", "/tenants/%61cme/x"])
    if roll < 0.75 and policy.routes:
        preferred = [route for route in policy.routes if route.text in prefer]
        route = rng.choice(preferred if preferred and rng.random() < 0.7 else policy.routes)
        if not route.is_websocket:
            parts = []
            for kind, text in route.pattern:
                if kind == 0:
                    parts.append(text)
                elif kind == 1:
                    parts.append(_as_segment(rng.choice(pool)))
                else:
                    spanning = [text for text in texts if "/" in text]
                    if spanning and rng.random() < 0.5:
                        parts.append(_as_segment(rng.choice(spanning)))
                    else:
                        parts.append(
                            "/".join(_as_segment(rng.choice(pool)) for _ in range(rng.randint(1, 2)))
                        )
            return "/" + "/".join(parts)
    depth = rng.randint(0, 4)
    return "/" + "/".join(rng.choice([*_LITERALS, "acme", "u1", "42"]) for _ in range(depth))


def test_cedar_agrees_with_decide_on_random_policies_principals_and_requests() -> None:
    seed = int(os.environ.get("CEDAR_DIFF_SEED", "20261206"))
    rng = random.Random(seed)
    cases = allowed = denied_by_forbid = 0
    policies = 0
    while cases < MIN_CASES:
        data = random_policy(rng)
        policy = Policy.from_dict(data)
        export = export_cedar(policy)
        parsed = cedarpy.PolicySet.from_str(export.policies)
        policies += 1
        literals = policy_literals(data)
        # half the principals are built to satisfy one rule's `when`, and their requests favour its routes
        targets = [rng.choice(data["rules"]) if index % 2 else None for index in range(6)]
        principals = [
            Principal.from_claims(
                satisfying_claims(rng, target, random_claims(rng, literals))
                if target is not None
                else random_claims(rng, literals)
            )
            for target in targets
        ]
        requests: list[dict[str, Any]] = []
        entities: dict[str, dict[str, Any]] = {}
        expected: list[tuple[bool, str]] = []
        for index, principal in enumerate(principals):
            for _ in range(10):
                method = rng.choice(_VERBS) if rng.random() < 0.97 else rng.choice(["get", "PROPFIND", ""])
                path = random_path(
                    rng,
                    policy,
                    principal,
                    [Route.parse(r).text for r in targets[index]["routes"]] if targets[index] else [],
                )
                decision = policy.decide(principal, method, path)
                built = cedar_request(export, principal, method, path, principal_id=f"p{index}")
                if built is None:
                    # no Cedar request (a verb outside the seven, a path no route can match): decide denies
                    assert not decision.allowed, (method, path)
                    cases += 1
                    continue
                for entity in built.entities:
                    entities[entity["uid"]["type"] + entity["uid"]["id"]] = entity
                requests.append(built.request)
                expected.append(
                    (decision.allowed, f"{decision.reason} {method} {path} {principal} {decision.rules}")
                )
                allowed += decision.allowed
                denied_by_forbid += decision.reason == "explicit_deny"
        results = cedarpy.is_authorized_batch(requests, parsed, list(entities.values()), export.schema_json())
        for (want, what), result in zip(expected, results, strict=True):
            assert not result.diagnostics.errors, (result.diagnostics.errors, export.policies)
            got = result.decision == cedarpy.Decision.Allow
            assert got is want, f"seed {seed}: decide={want} cedar={got}: {what}\n{export.policies}"
            cases += 1
    assert cases >= MIN_CASES
    # the generator must exercise both answers and deny rules, or agreement would mean little
    assert allowed > cases // 20, allowed
    assert denied_by_forbid > cases // 50, denied_by_forbid
    print(f"cedar differential: {cases} cases over {policies} policies, {allowed} allowed (seed {seed})")


# --- what is refused --------------------------------------------------------------------------------


def test_text_cedar_cannot_carry_is_refused_with_a_reason_code() -> None:
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "odd", "routes": ["GET /x"], "when": {"claims": {"c": "\ud800"}}}]}
    )
    with pytest.raises(PolicyError) as raised:
        export_cedar(policy)
    assert raised.value.reason == "cedar_unexportable"
    assert raised.value.rule_id == "odd"
    assert "cedar_unexportable" in REASONS


def test_every_condition_kind_of_the_language_has_a_cedar_form() -> None:
    # a condition kind added to the policy language must get a Cedar form (and a place in the
    # differential generator) before it can be exported; until then export refuses it
    from cognito_authz.export.cedar import EXPORTED_CONDITIONS
    from cognito_authz.policy import Condition
    from cognito_authz.policy.model import CONDITION_FIELDS

    assert set(Condition.__slots__) == set(CONDITION_FIELDS) == EXPORTED_CONDITIONS


def test_a_bad_namespace_is_refused() -> None:
    with pytest.raises(PolicyError, match="namespace"):
        export_cedar(Policy.from_file(EXAMPLES / "demo.yaml"), namespace="not a name")


def test_requests_without_a_cedar_form_are_none() -> None:
    export = export_cedar(Policy.from_file(EXAMPLES / "demo.yaml"))
    admin = Principal.from_claims({"sub": "op", "cognito:groups": ["platform-admin"]})
    assert cedar_request(export, admin, "PROPFIND", "/health") is None
    assert cedar_request(export, admin, "GET", "/a/../health") is None
    assert cedar_request(export, admin, "get", "/health") is not None


def test_verified_permissions_arguments_match_the_service_model() -> None:
    # botocore's own model of the IsAuthorized input, validated offline (nothing is sent anywhere)
    import botocore.session
    from botocore.validate import ParamValidator

    export = export_cedar(Policy.from_file(EXAMPLES / "demo.yaml"))
    alice = Principal.from_claims({"sub": "alice", "cognito:groups": ["member"], "custom:tenant_id": "acme"})
    built = cedar_request(export, alice, "GET", "/tenants/acme/projects")
    assert built is not None
    arguments = built.is_authorized_arguments("PSEXAMPLEabcdefg111111")
    shape = (
        botocore.session.get_session()
        .get_service_model("verifiedpermissions")
        .operation_model("IsAuthorized")
    )
    report = ParamValidator().validate(arguments, shape.input_shape)
    assert not report.has_errors(), report.generate_report()
    assert arguments["action"] == {"actionType": "CognitoAuthz::Action", "actionId": "GET"}
    assert json.loads(arguments["entities"]["cedarJson"]) == built.entities


def test_strings_with_quotes_backslashes_and_controls_round_trip() -> None:
    odd = 'a"b\\c\td\u2028é'
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "odd", "routes": ["GET /x"], "when": {"claims": {'c:"n': odd}}}]}
    )
    export = export_cedar(policy)
    assert cedar_allows(export, Principal.from_claims({"sub": "s", 'c:"n': odd}), "GET", "/x")
    assert not cedar_allows(export, Principal.from_claims({"sub": "s", 'c:"n': odd[:-1]}), "GET", "/x")


# --- the command ------------------------------------------------------------------------------------


def test_export_cedar_command_writes_schema_and_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cedar"
    status = main(
        ["export", "cedar", str(EXAMPLES / "demo.yaml"), "--output-dir", str(out), "--namespace", "Tracker"]
    )
    assert status == 0
    schema = json.loads((out / "schema.cedarschema.json").read_text(encoding="utf-8"))
    policies = (out / "policies.cedar").read_text(encoding="utf-8")
    assert "Tracker" in schema
    assert cedarpy.validate_policies(policies, json.dumps(schema)).validation_passed
    assert "policies.cedar" in capsys.readouterr().out


def test_export_cedar_command_prints_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "cedar", str(EXAMPLES / "design_example.yaml")]) == 0
    text = capsys.readouterr().out
    assert "forbid (principal" in text
    assert '"CognitoAuthz"' in text


def test_export_cedar_command_prints_one_part(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "cedar", str(EXAMPLES / "demo.yaml"), "--part", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert main(["export", "cedar", str(EXAMPLES / "demo.yaml"), "--part", "policies"]) == 0
    policies = capsys.readouterr().out
    assert cedarpy.validate_policies(policies, json.dumps(schema)).validation_passed


def test_export_cedar_command_refuses_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.json"
    policy.write_text(
        json.dumps({"version": 1, "rules": [{"id": "ok", "routes": ["GET /x"]}]}), encoding="utf-8"
    )
    assert main(["export", "cedar", str(policy), "--namespace", "1bad"]) == 1
    assert "cedar_unexportable" in capsys.readouterr().err


# --- Cedar text for any claim value (property) ---------------------------------------------------------

_TEXT = st.text(min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(name=_TEXT, value=_TEXT, other=_TEXT)
def test_any_claim_name_and_value_survive_cedar_quoting(name: str, value: str, other: str) -> None:
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "r", "routes": ["GET /x"], "when": {"claims": {name: value}}}]}
    )
    export = export_cedar(policy)
    for held in (value, other):
        principal = Principal.from_claims({"sub": "s", name: held})
        assert cedar_allows(export, principal, "GET", "/x") is policy.decide(principal, "GET", "/x").allowed
