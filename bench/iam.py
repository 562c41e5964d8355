"""IAM builder rows: a principal-wide document's first proof per principal class on a 300-route table.

"First proof" means nothing memoized: ``clear_memo()`` runs before every build, so each timing is the
whole choose-render-check of ``build_principal_policy`` for a caller the authorizer has not seen. The
budget is at most 5 ms (``docs/performance.md``); the row's budget is that, expressed as a ratio to the
floor of the run. The principal-wide document is proved over the table: every route class of the first
segments the principal's rules reach, and for the admin (whose ``ANY /{proxy+}`` reaches every one) all
300 routes, walked once per shape of first segment. Each class's document is the grants read as globs
(``iam.choice.grant_guess``), which the check finds exact, so each proof is one check. The check tells
the table's routes apart only as routable or not, and reads only the routes of deny rules and of the
allow rules that may apply (``docs/architecture.md``, step 3): the admin's 300 routes make 20 classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench._rows import Row, Setup
from cognito_authz.iam import MethodArn, build_principal_policy, clear_memo
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

ARN = MethodArn.parse("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/svc1/items")
BUDGET_MS = 5.0
SERVICES = 58  # x 5 routes, plus 10 others: 300


def table_policy() -> Policy:
    """58 services x 5 routes, users, tenants and a few more: 300 routes; a rule per service and role."""
    api: list[str] = []
    rules: list[dict[str, Any]] = []
    for i in range(SERVICES):
        base = f"/svc{i}/items"
        reads = [f"GET {base}", f"GET {base}/{{id}}"]
        writes = [f"POST {base}", f"PUT {base}/{{id}}", f"DELETE {base}/{{id}}"]
        api += reads + writes
        rules.append(
            {"id": f"svc{i}-read", "routes": reads, "when": {"groups": [f"svc{i}-reader", f"svc{i}-writer"]}}
        )
        rules.append({"id": f"svc{i}-write", "routes": writes, "when": {"groups": [f"svc{i}-writer"]}})
    api += [
        "GET /users/{userId}",
        "PUT /users/{userId}",
        "GET /tenants/{t}",
        "ANY /tenants/{t}/{proxy+}",
        "GET /health",
    ]
    api += ["GET /", "GET /status", "GET /version", "GET /docs", "GET /docs/{page}"]
    rules += [
        {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
        {"id": "health", "routes": ["GET /health"]},
        {
            "id": "own-profile",
            "routes": ["GET /users/{userId}", "PUT /users/{userId}"],
            "when": {"claims": {"sub": "{userId}"}},
        },
        {
            "id": "tenant",
            "routes": ["ANY /tenants/{t}/{proxy+}"],
            "when": {"groups": ["member"], "claims": {"custom:tenant_id": "{t}"}},
        },
        {
            "id": "no-tenant-admin",
            "effect": "deny",
            "routes": ["ANY /tenants/{t}/admin"],
            "unless": {"groups": ["admin"]},
        },
    ]
    assert len(api) == 300, len(api)
    return Policy.from_dict({"version": 1, "api": api, "rules": rules})


PRINCIPALS: dict[str, dict[str, Any]] = {
    "admin": {"sub": "u-admin", "cognito:groups": ["admin"]},
    "reader of one service": {"sub": "u-r", "cognito:groups": ["svc7-reader"]},
    "writer of three services": {
        "sub": "u-w",
        "cognito:groups": ["svc1-writer", "svc2-writer", "svc3-writer"],
    },
    "tenant member": {"sub": "u-m", "cognito:groups": ["member"], "custom:tenant_id": "acme"},
    "no group": {"sub": "u-n"},
}


def first_proof(policy: Policy, principal: Principal) -> Callable[[], object]:
    def build() -> object:
        clear_memo()
        return build_principal_policy(policy, principal, ARN)

    return build


def run(setup: Setup) -> list[Row]:
    policy = table_policy()
    rows: list[Row] = []
    for name, claims in PRINCIPALS.items():
        principal = Principal.from_claims(claims)
        result = build_principal_policy(policy, principal, ARN)
        measured = setup.against_floor(first_proof(policy, principal))
        # The budget is absolute (5 ms): expressed as a ratio to this run's floor, so the table's verdict
        # and its budget count include it. A proof that ran out of its work budget answers for the current
        # request only: the row's name says so, whatever its time.
        budget = BUDGET_MS * 1000 / measured.reference_us
        proved = (
            "exact" if result.scope == "principal" and result.exact else f"{result.scope}: {result.reason}"
        )
        note = f"{result.scope}, exact={result.exact}, {result.size} B"
        rows.append(
            Row(
                "iam",
                f"iam first proof, 300 routes: {name} ({proved})",
                measured.median_us,
                "us",
                measured.ratio,
                "floor",
                budget,
                note,
                {"floor_us": measured.reference_us},
            )
        )
    return rows
