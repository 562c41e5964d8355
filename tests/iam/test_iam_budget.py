"""The work budget that bounds one proof: a hard, counted cap (never a timer), honest about what it counts.

Time itself is measured in ``bench/iam_worst_tokens.py``, never asserted here; these tests pin what the
bound rests on: hostile tokens stop at the budget, deterministically; the examples fit within it; what a
proof charges grows with what it does; and the paused garbage collector leaves no garbage behind.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from cognito_authz.iam import MethodArn, build_principal_policy, clear_memo
from cognito_authz.iam.builder import WORK_BUDGET, principal_proof
from cognito_authz.iam.safety import probe_principals
from cognito_authz.iam.world import binding_count, decide_cost, policy_facts
from cognito_authz.policy import Policy
from cognito_authz.policy.conditions import MAX_ALTERNATIVES
from cognito_authz.principal import Principal

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
ARN = MethodArn.parse(PREFIX + "GET/")


@pytest.fixture(autouse=True)
def _cold() -> None:
    clear_memo()


def _bound(params: int, values: int) -> tuple[Policy, Principal]:
    names = [f"p{i}" for i in range(params)]
    route = "ANY /" + "/".join("{" + p + "}" for p in names)
    rules = [
        {"id": f"r{i}", "routes": [route], "when": {"claims": {"list": "{" + p + "}"}}}
        for i, p in enumerate(names)
    ]
    policy = Policy.from_dict({"version": 1, "rules": rules})
    return policy, Principal.from_claims({"sub": "u", "list": [f"v{i:03d}" for i in range(values)]})


def _many_groups_demo() -> tuple[Policy, Principal]:
    claims = {
        "sub": "u",
        "cognito:groups": ["platform-admin", "member", "contractor", *(f"g{i}" for i in range(400))],
        "scope": " ".join(["projects/read", *(f"s{i}/x" for i in range(400))]),
        "custom:tenant_id": [f"t{i}" for i in range(40)],
        "custom:project_id": [f"p{i}" for i in range(40)],
    }
    return Policy.from_file(EXAMPLES / "demo.yaml"), Principal.from_claims(claims)


HOSTILE = {
    "six parameters, one value": _bound(6, 1),
    "four parameters, twenty values": _bound(4, 20),
    "one parameter, 1,500 values": _bound(1, 1500),
    "demo, 400 groups and scopes, 40 x 40 tenant and project bindings": _many_groups_demo(),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_tokens_stop_at_the_budget_and_stop_the_same_way_every_time(name: str) -> None:
    policy, principal = HOSTILE[name]
    first = principal_proof(policy, principal, ARN)
    assert (first.reason, first.units) == ("analysis_budget", WORK_BUDGET), (first.reason, first.units)
    clear_memo()
    again = principal_proof(policy, principal, ARN)
    assert (again.reason, again.units, again.document) == (first.reason, first.units, first.document)
    # The caller still gets the current request answered as decide answers it, never a wide Allow.
    result = build_principal_policy(policy, principal, MethodArn.parse(PREFIX + "GET/x0/x1/x2"))
    assert result.scope == "request"


def test_the_multiplied_bindings_are_charged_before_they_are_enumerated() -> None:
    # 40 tenants x 40 projects on three contractor routes: far more bindings than the budget pays for, so
    # the proof stops with its first charge, before Policy.allowed_routes builds a single binding (it
    # would allocate them all; stopping first keeps the peak to a few kilobytes).
    policy, principal = _many_groups_demo()
    tracemalloc.start()
    proof = principal_proof(policy, principal, ARN, budget=50_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert proof.reason == "analysis_budget"
    assert peak < 64 * 1024, peak
    one = Principal.from_claims({**principal.claims, "custom:project_id": "p0", "custom:tenant_id": "t0"})
    assert principal_proof(policy, one, ARN, budget=10**7).document is not None


def test_binding_count_multiplies_list_claims_per_route_and_caps_each_product() -> None:
    policy, principal = _many_groups_demo()
    # Counted by hand from demo.yaml: own-profile binds sub on 2 routes (1 value each); tenant-read (3
    # routes), tenant-write (4), tenant-billing (1) and tenant-isolation's `unless` (2) bind 40 tenants;
    # the contractor rule binds 40 tenants x 40 projects on 3 routes, each product capped at
    # MAX_ALTERNATIVES + 1.
    expected = 2 * 1 + (3 + 4 + 1 + 2) * 40 + 3 * (MAX_ALTERNATIVES + 1)
    assert binding_count(policy, principal) == expected
    single = Principal.from_claims({"sub": "u", "custom:tenant_id": "t0", "custom:project_id": "p0"})
    assert binding_count(policy, single) == 2 + 10 + 3


def test_a_decide_costs_more_the_longer_the_list_it_compares() -> None:
    # decide compares a path parameter with every value of a list claim (0.17 us each): a proof's
    # charge per decide must grow with the list, or a long list would buy time for free.
    policy, few = _bound(2, 6)
    _, many = _bound(2, 600)
    facts = policy_facts(policy)
    assert decide_cost(facts, many) - decide_cost(facts, few) >= 2 * (600 - 6) // 6


def test_every_example_principal_fits_the_budget_with_a_margin() -> None:
    # The budget is set just above what the examples need (docs/performance.md): if charges drift up,
    # this fails before the demo turns inexact; if the budget is raised, the worst token's time grows.
    most = 0
    for name in ("demo.yaml", "tour.yaml", "design_example.yaml"):
        policy = Policy.from_file(EXAMPLES / name)
        for principal in probe_principals(policy):
            proof = principal_proof(policy, principal, ARN)
            assert proof.reason != "analysis_budget", (name, principal.groups)
            most = max(most, proof.units)
    assert 0.5 * WORK_BUDGET < most <= 0.95 * WORK_BUDGET, most


def test_what_a_proof_charges_grows_with_the_values_it_compares() -> None:
    # decide compares a path parameter with every value of a list claim: one more value per decide
    # must cost more units, or a long list would buy time for free.
    small = principal_proof(*_bound(1, 10), ARN, budget=10**7)
    clear_memo()
    large = principal_proof(*_bound(1, 200), ARN, budget=10**7)
    assert small.units < large.units
    assert large.units >= 200 * 20  # each value's bindings and candidate globs are charged


@pytest.mark.parametrize("name", ["demo.yaml", "design_example.yaml", "tour.yaml"])
def test_a_proof_leaves_no_reference_cycles_for_the_paused_collector(name: str) -> None:
    # _prove pauses the cyclic collector on the grounds that nothing it allocates is a cycle.
    policy = Policy.from_file(EXAMPLES / name)
    for principal in [*probe_principals(policy), *(HOSTILE[k][1] for k in list(HOSTILE)[:2])]:
        principal_proof(policy, principal, ARN)  # warm every lazily built cache first
        clear_memo()
        gc.collect()
        was = gc.isenabled()
        gc.disable()
        try:
            principal_proof(policy, principal, ARN)
            assert gc.collect() == 0
        finally:
            if was:
                gc.enable()


def test_the_collector_is_resumed_and_never_started_by_a_proof() -> None:
    policy, principal = _bound(2, 3)
    assert gc.isenabled()
    principal_proof(policy, principal, ARN)
    assert gc.isenabled()
    clear_memo()
    gc.disable()
    try:
        principal_proof(policy, principal, ARN)
        assert not gc.isenabled()
    finally:
        gc.enable()
