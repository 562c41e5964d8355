"""The policy engine: a reviewed policy file compiled into an index that decides, per request, whether
a :class:`~cognito_authz.principal.Principal` may call a route (``docs/policy.md``, and the layers in
``docs/architecture.md``).

Pure and offline: nothing here imports the verifier, the JWKS cache, pyjwt or requests.

    policy = Policy.from_file("policy.yaml")
    decision = policy.decide(principal, "GET", "/orders/42")

Decision tables (``DecisionTable``, ``run_decision_table``...), the linter (``lint_file``, ``lint_data``,
``LintFinding``) and ``import_routes`` (the route table of a SAM template, OpenAPI export or
serverless.yml) load on first access (PEP 562): they are testing, review, CLI and build-time tools, which
an authorizer's cold start should not pay for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cognito_authz.policy.api_table import ApiTable
from cognito_authz.policy.engine import AllowedRoutes, Decision, Policy, RouteGrant
from cognito_authz.policy.model import Condition, PolicyDocument, Rule
from cognito_authz.policy.routes import Route

if TYPE_CHECKING:
    from cognito_authz.policy.api_import import import_routes
    from cognito_authz.policy.findings import LintFinding
    from cognito_authz.policy.lint import lint_data, lint_file
    from cognito_authz.policy.tables import (
        CaseResult,
        DecisionCase,
        DecisionTable,
        TableResult,
        run_decision_table,
    )

__all__ = [
    "AllowedRoutes",
    "ApiTable",
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
    "import_routes",
    "lint_data",
    "lint_file",
    "run_decision_table",
]

_TABLES = ("CaseResult", "DecisionCase", "DecisionTable", "TableResult", "run_decision_table")
_LAZY = {
    **dict.fromkeys(_TABLES, "cognito_authz.policy.tables"),
    "LintFinding": "cognito_authz.policy.findings",
    "lint_data": "cognito_authz.policy.lint",
    "lint_file": "cognito_authz.policy.lint",
    "import_routes": "cognito_authz.policy.api_import",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
