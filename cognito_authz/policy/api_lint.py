"""Lint of the API's route table against the policy's rules and against the deployment.

Findings (``code``: severity):

* ``api_table_stale``: error. The policy's ``api:`` table differs from the deployment's (``lint --api
  FILE``): routes the deployment has and the table lacks, or the reverse. Anything that reasons over the
  table (the IAM builder's exact documents) would reason about a different API.
* ``api_table_missing``: warning. ``lint --api FILE`` was given but the policy has no ``api:`` section.
* ``api_route_not_allowed``: warning. A route of the API that no applicable allow rule overlaps: API
  Gateway routes requests there and every caller is denied.
* ``rule_route_not_in_api``: warning. A rule route that matches no route of the API: the rule never
  decides a request that can reach the authorizer (a typo, or a route the API dropped).

A mismatch between rules and table is a finding, never a load error: rule routes are patterns over
requests (``ANY /{proxy+}`` in a rule means every route), the table is what the gateway routes.
"""

from __future__ import annotations

from collections.abc import Collection

from cognito_authz.policy.api_table import ApiTable
from cognito_authz.policy.findings import LintFinding
from cognito_authz.policy.model import PolicyDocument
from cognito_authz.policy.routes import Route, overlaps

__all__ = ["lint_route_table", "table_difference"]


def table_difference(own: ApiTable, deployed: ApiTable) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(routes the deployment has and ``own`` lacks, routes ``own`` has and the deployment lacks)."""
    own_texts, deployed_texts = set(own.texts), set(deployed.texts)
    missing = tuple(text for text in deployed.texts if text not in own_texts)
    extra = tuple(text for text in own.texts if text not in deployed_texts)
    return missing, extra


def lint_route_table(
    document: PolicyDocument, *, deployed: ApiTable | None = None, dead: Collection[str] = ()
) -> list[LintFinding]:
    """Findings about the route table. ``deployed`` is the deployment's table, when known; ``dead`` the
    ids of rules that can never apply (their routes allow nothing)."""
    out: list[LintFinding] = []
    own = ApiTable(document.api, source="the policy's 'api:' table") if document.api is not None else None
    if deployed is not None:
        if own is None:
            out.append(
                LintFinding(
                    "warning",
                    "api_table_missing",
                    f"the policy has no 'api:' route table; the deployment ({deployed.source}) has "
                    f"{len(deployed)} route(s): add them with 'cognito-authz api import {deployed.source} "
                    "--into POLICY'",
                )
            )
        else:
            missing, extra = table_difference(own, deployed)
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"deployed but not in the table: {', '.join(missing)}")
                if extra:
                    parts.append(f"in the table but not deployed: {', '.join(extra)}")
                out.append(
                    LintFinding(
                        "error",
                        "api_table_stale",
                        f"the policy's 'api:' table differs from the deployment ({deployed.source}): "
                        + "; ".join(parts)
                        + ". Re-import it with 'cognito-authz api import'.",
                    )
                )
    table = deployed if deployed is not None else own
    if table is None or not table.routes:
        return out
    allow_routes = [
        route
        for rule in document.rules
        if rule.effect == "allow" and rule.id not in dead
        for route in rule.routes
    ]
    for route in table.routes:
        if not any(_overlap(route, allowed) for allowed in allow_routes):
            out.append(
                LintFinding(
                    "warning",
                    "api_route_not_allowed",
                    f"no applicable allow rule covers any request to API route {route.text}: API Gateway "
                    "routes requests there and every caller is denied",
                )
            )
    reported: set[str] = set()
    for rule in document.rules:
        for route in rule.routes:
            if route.text in reported:
                continue
            if not any(_overlap(route, api_route) for api_route in table.routes):
                reported.add(route.text)
                out.append(
                    LintFinding(
                        "warning",
                        "rule_route_not_in_api",
                        f"route {route.text} matches no route of the API ({table.source}): this rule never "
                        "decides a request that reaches the authorizer",
                        rule.id,
                    )
                )
    return out


def _overlap(first: Route, second: Route) -> bool:
    return overlaps((first.method, first.pattern), (second.method, second.pattern))
