"""Policy commands: ``lint`` (findings and cache safety), ``explain`` (a decision and why), ``test`` (the
decision-table runner) and ``iam`` (the document a Lambda authorizer would return).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cognito_authz.cli.common import (
    CliError,
    add_principal_options,
    load_policy,
    principal_from_args,
    print_json,
)

if TYPE_CHECKING:
    from cognito_authz.iam import CacheSafety
    from cognito_authz.policy import Decision, LintFinding, Policy
    from cognito_authz.policy.api_table import ApiTable
    from cognito_authz.principal import Principal

__all__ = ["register", "run_explain", "run_iam", "run_lint", "run_test"]


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add lint, explain, test and iam to the command parser."""
    lint = commands.add_parser(
        "lint",
        help="find mistakes in a policy and say whether it is cache-safe",
        description="Lint a policy file: unknown groups, rules that never apply or are shadowed, routes "
        "nobody may call; then whether every principal gets an exact principal-wide IAM document "
        "(cache-safe), and how to configure authorizer caching if not. Exit 1 when there are errors.",
    )
    lint.add_argument("policy", metavar="POLICY", help="policy file (.yaml, .yml, .json, .toml)")
    lint.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    lint.add_argument(
        "--token-use",
        choices=("id", "access"),
        help="the tokens the policy decides on (default: the policy file's token_use): warns about rules "
        "comparing claims such tokens do not carry on a stock Cognito pool",
    )
    lint.add_argument(
        "--require-cache-safe",
        action="store_true",
        help="exit 1 unless the policy is cache-safe (for TOKEN authorizers with caching on)",
    )
    depth = lint.add_mutually_exclusive_group()
    depth.add_argument(
        "--quick",
        action="store_true",
        help="cache safety from rule shapes only, without proving documents for probe principals "
        "(what the authorizer checks at cold start)",
    )
    depth.add_argument("--skip-cache-safety", action="store_true", help="skip the cache-safety analysis")
    lint.add_argument(
        "--api",
        metavar="FILE",
        help="the deployment (SAM template, OpenAPI export or serverless.yml): report a stale 'api:' "
        "table, API routes no rule allows and rule routes the API lacks",
    )
    lint.add_argument("--api-id", metavar="NAME", help="which API of --api FILE, when it describes several")
    lint.add_argument("--json", action="store_true", help="machine-readable output")
    lint.set_defaults(handler=run_lint)

    explain = commands.add_parser(
        "explain",
        help="decide one request and say why",
        description="Decide METHOD PATH for a principal (a claims file, or a token) and explain which "
        "routes and rules matched and which conditions held. WebSocket: METHOD is ignored for PATH $connect.",
    )
    explain.add_argument("policy", metavar="POLICY", help="policy file")
    add_principal_options(explain)
    explain.add_argument("method", metavar="METHOD", help="HTTP method (GET, POST, ...)")
    explain.add_argument("path", metavar="PATH", help="the path as API Gateway routes it, e.g. /orders/42")
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    explain.set_defaults(handler=run_explain)

    test = commands.add_parser(
        "test",
        help="run a decision table against a policy",
        description="Run a decision table (the policy author's unit tests: principal, request, expected "
        "decision, optionally the determining rule and reason). Exit 1 if any case fails.",
    )
    test.add_argument("policy", metavar="POLICY", help="policy file")
    test.add_argument("cases", metavar="CASES", help="decision table file (.yaml, .yml, .json, .toml)")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    test.add_argument("--json", action="store_true", help="machine-readable output")
    test.set_defaults(handler=run_test)

    iam = commands.add_parser(
        "iam",
        help="the IAM policy document an authorizer would return",
        description="Build the execute-api:Invoke document the Lambda authorizer returns for a principal: "
        "principal-wide (correct for every route, so safe to cache per token) when IAM globs can express "
        "the principal's permissions exactly, else request-scoped for --method-arn only, with the reason.",
    )
    iam.add_argument("policy", metavar="POLICY", help="policy file")
    add_principal_options(iam)
    iam.add_argument(
        "--method-arn",
        required=True,
        metavar="ARN",
        help="arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/VERB/PATH (or a WebSocket route ARN)",
    )
    iam.add_argument(
        "--scope",
        choices=("principal", "request"),
        default="principal",
        help="principal-wide (default, what the authorizer returns) or request-scoped",
    )
    iam.add_argument(
        "--max-bytes", type=int, metavar="N", help="size limit for a principal-wide document (default 8192)"
    )
    iam.add_argument("--json", action="store_true", help="machine-readable output")
    iam.set_defaults(handler=run_iam)


# --- lint ---------------------------------------------------------------------------------------------


def run_lint(args: argparse.Namespace) -> int:
    from cognito_authz.errors import PolicyError
    from cognito_authz.policy import Policy
    from cognito_authz.policy.lint import lint_file, lint_policy

    deployed = None
    if args.api_id and not args.api:
        raise CliError("--api-id names an API of --api FILE: give --api too", status=2)
    if args.api:
        from cognito_authz.policy.api_import import import_routes

        deployed = import_routes(args.api, api=args.api_id)
    policy: Policy | None
    try:
        policy = Policy.from_file(args.policy)
    except PolicyError:
        # A policy that does not load is lint's one finding, not a crash: lint_file reports it as such.
        findings = lint_file(args.policy, deployed=deployed)
        policy = None
    else:
        findings = lint_policy(policy, deployed=deployed, token_use=args.token_use)
    safety = None
    if policy is not None and not args.skip_cache_safety:
        from cognito_authz.iam import cache_safety

        safety = cache_safety(policy, probes=not args.quick)

    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    failed = bool(errors) or (args.strict and bool(warnings))
    if args.require_cache_safe and (safety is None or not safety.safe):
        failed = True
    if args.json:
        print_json(
            {
                "policy": args.policy,
                "loaded": policy is not None,
                "rules": len(policy.rules) if policy is not None else None,
                "findings": [_finding_json(f) for f in findings],
                "errors": len(errors),
                "warnings": len(warnings),
                "api_routes": len(policy.api) if policy is not None and policy.api is not None else None,
                "deployment": args.api,
                "cache_safety": _safety_json(safety),
                "cache_safety_depth": None if safety is None else ("shapes" if args.quick else "full"),
                "ok": not failed,
            }
        )
        return 1 if failed else 0
    rules = f"{len(policy.rules)} rules, " if policy is not None else ""
    print(f"{args.policy}: {rules}{_count(len(errors), 'error')}, {_count(len(warnings), 'warning')}")
    for finding in findings:
        print(f"  {finding}")
    if policy is not None and (policy.api is not None or deployed is not None):
        print(f"route table: {_route_table_line(policy, deployed, findings)}")
    if policy is None:
        print("cache-safe: not checked (the policy does not load)")
    elif safety is None:
        print("cache-safe: not checked (--skip-cache-safety)")
    elif safety.safe:
        print(f"cache-safe{_depth(args)}: yes. {safety.advice}")
    else:
        blocking = ", ".join(safety.blocking_rules) or "none named"
        print(f"cache-safe{_depth(args)}: no (blocking rules: {blocking})")
        for detail in safety.findings:
            print(f"  - {detail}")
        print(f"  advice: {safety.advice}")
    return 1 if failed else 0


def _route_table_line(policy: Policy, deployed: ApiTable | None, findings: list[LintFinding]) -> str:
    if policy.api is None:
        return "none in the policy (every path counts as routable)"
    line = f"{_count(len(policy.api), 'route')}"
    if deployed is not None and not any(f.code == "api_table_stale" for f in findings):
        line += f", the same as the deployment ({deployed.source})"
    return line


def _depth(args: argparse.Namespace) -> str:
    return " (rule shapes only, --quick)" if args.quick else ""


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _finding_json(finding: LintFinding) -> dict[str, Any]:
    return {
        "severity": finding.severity,
        "code": finding.code,
        "rule_id": finding.rule_id,
        "message": finding.message,
    }


def _safety_json(safety: CacheSafety | None) -> dict[str, Any] | None:
    if safety is None:
        return None
    return {
        "safe": safety.safe,
        "blocking_rules": list(safety.blocking_rules),
        "findings": list(safety.findings),
        "advice": safety.advice,
    }


# --- explain ------------------------------------------------------------------------------------------


def run_explain(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    source = principal_from_args(args)
    method = "" if args.path.startswith("$") else args.method
    decision = policy.decide(source.principal, method, args.path)
    explanation = policy.explain(source.principal, method, args.path)
    if args.json:
        print_json(
            {
                "allowed": decision.allowed,
                "decision": "allow" if decision.allowed else "deny",
                **_decision_json(decision),
                "explanation": explanation,
                "principal": principal_json(source.principal),
                "verified": source.verified,
                "principal_source": source.origin,
            }
        )
        return 0
    print(f"principal: {describe_principal(source.principal)}  [{source.origin}]")
    if not source.verified:
        print("  (signature NOT verified: the claims are taken as given)")
    print(f"decision: {'ALLOW' if decision.allowed else 'DENY'} ({decision.reason})")
    print(explanation)
    return 0


def _decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "reason": decision.reason,
        "rules": list(decision.rules),
        "route": decision.route,
        "path_params": dict(decision.path_params),
        "considered": list(decision.considered),
        "method": decision.method,
        "path": decision.path,
    }


def principal_json(principal: Principal) -> dict[str, Any]:
    """The principal's identity fields and claims, JSON-ready."""
    return {
        "sub": principal.sub,
        "username": principal.username,
        "groups": list(principal.groups),
        "scopes": list(principal.scopes),
        "token_use": principal.token_use,
        "client_id": principal.client_id,
        "claims": dict(principal.claims),
    }


def describe_principal(principal: Principal) -> str:
    """One line: sub, username, groups, scopes and custom attributes."""
    parts = [f"sub={principal.sub or '(none)'}"]
    if principal.username and principal.username != principal.sub:
        parts.append(f"username={principal.username}")
    parts.append(f"groups=[{', '.join(principal.groups)}]")
    if principal.scopes:
        parts.append(f"scopes=[{' '.join(principal.scopes)}]")
    for name, value in principal.claims.items():
        if name.startswith("custom:"):
            parts.append(f"{name}={value}")
    return " ".join(parts)


# --- test ---------------------------------------------------------------------------------------------


def run_test(args: argparse.Namespace) -> int:
    from cognito_authz.policy import run_decision_table

    policy = load_policy(args.policy)
    result = run_decision_table(policy, args.cases)
    if args.json:
        print_json(
            {
                "policy": args.policy,
                "cases": args.cases,
                "passed": result.passed,
                "total": len(result.results),
                "failed": len(result.failures),
                "results": [
                    {
                        "name": r.name,
                        "passed": r.passed,
                        "expected": r.case.expect,
                        "actual": "allow" if r.decision.allowed else "deny",
                        "reason": r.decision.reason,
                        "rules": list(r.decision.rules),
                        "problems": list(r.problems),
                    }
                    for r in result.results
                ],
            }
        )
        return 0 if result.passed else 1
    for case in result.results:
        if args.verbose or not case.passed:
            print(case.describe())
    print(f"{args.cases}: {result.summary()}")
    return 0 if result.passed else 1


# --- iam ----------------------------------------------------------------------------------------------


def run_iam(args: argparse.Namespace) -> int:
    from cognito_authz.iam import (
        DEFAULT_MAX_BYTES,
        MethodArn,
        build_principal_policy,
        document_size,
        iam_allows,
        request_policy,
    )

    policy = load_policy(args.policy)
    arn = MethodArn.parse(args.method_arn)
    source = principal_from_args(args)
    max_bytes = DEFAULT_MAX_BYTES if args.max_bytes is None else args.max_bytes
    if max_bytes <= 0:
        raise CliError("--max-bytes must be a positive number of bytes")
    if args.scope == "principal":
        result = build_principal_policy(policy, source.principal, arn, max_bytes=max_bytes)
        document, scope, reason, detail = result.document, result.scope, result.reason, result.detail
        rules = list(result.rules)
    else:
        document = request_policy(policy, source.principal, arn)
        scope, reason, detail, rules = "request", "requested", "--scope request", []
    size = document_size(document)
    decision = policy.decide(source.principal, arn.verb or "", arn.path)
    allows = iam_allows(document, args.method_arn)
    if args.json:
        print_json(
            {
                "scope": scope,
                "reason": reason or None,
                "detail": detail or None,
                "blocking_rules": rules,
                "size": size,
                "max_bytes": max_bytes,
                "method_arn": args.method_arn,
                "allows_method_arn": allows,
                "decision": {"allowed": decision.allowed, **_decision_json(decision)},
                "principal": principal_json(source.principal),
                "verified": source.verified,
                "document": document,
            }
        )
        return 0
    print(f"principal: {describe_principal(source.principal)}  [{source.origin}]")
    verb = f"{arn.verb} {arn.path}" if arn.verb else arn.path
    rule_text = f" by {', '.join(decision.rules)}" if decision.rules else ""
    print(f"request {verb}: {'allow' if decision.allowed else 'deny'} ({decision.reason}{rule_text})")
    if scope == "principal" and not reason:
        print("scope: principal (exact for every routable request: safe to cache per token)")
    elif scope == "principal":
        shown = ", ".join(rules)
        print(f"scope: principal, not exact (never allows what decide denies; {detail}; rules {shown})")
    else:
        why = f"{reason}: {detail}" if detail else reason
        print(f"scope: request (covers {args.method_arn} only; {why})")
    print(f"size: {size} bytes (principal-wide limit {max_bytes})")
    print_json(document)
    return 0
