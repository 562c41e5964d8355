"""The policy engine: a reviewed policy file compiled into an index that decides, per request, whether
a :class:`~cognito_authz.principal.Principal` may call a route (DESIGN.md section 6).

Pure and offline: nothing here imports the verifier, the JWKS cache, pyjwt or requests.

    policy = Policy.from_file("policy.yaml")
    decision = policy.decide(principal, "GET", "/orders/42")
"""

from __future__ import annotations

from cognito_authz.policy.engine import AllowedRoutes, Decision, Policy, RouteGrant
from cognito_authz.policy.lint import LintFinding, lint_data, lint_file
from cognito_authz.policy.model import Condition, PolicyDocument, Rule
from cognito_authz.policy.routes import Route
from cognito_authz.policy.tables import (
    CaseResult,
    DecisionCase,
    DecisionTable,
    TableResult,
    run_decision_table,
)

__all__ = [
    "AllowedRoutes",
    "CaseResult",
    "Condition",
    "Decision",
    "DecisionCase",
    "DecisionTable",
    "LintFinding",
    "Policy",
    "PolicyDocument",
    "Route",
    "RouteGrant",
    "Rule",
    "TableResult",
    "lint_data",
    "lint_file",
    "run_decision_table",
]
