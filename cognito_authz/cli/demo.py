"""``cognito-authz demo``: the whole path on the embedded demo, with no AWS account.

A :class:`~cognito_authz.testing.LocalIssuer` serves its JWKS on 127.0.0.1 and mints an access token per
persona of the demo decision table; every case of the table is sent as a real API Gateway event through
the :class:`~cognito_authz.adapters.lambda_authorizer.LambdaAuthorizer` (REST TOKEN, REST REQUEST, HTTP
API 2.0, WebSocket ``$connect``) or a handler protected by ``@protect`` (REST and HTTP API proxy events).
Each answer is read the way API Gateway reads it (the returned IAM document evaluated against the method
ARN, ``isAuthorized``, the handler's status code) and compared with the table's expectation. The policy
and the table ship inside the package (``demo_policy.json``, ``demo_cases.json``: the JSON twins of
``examples/policies/demo.yaml`` and ``demo.cases.yaml``), so the demo needs neither ``examples/`` nor
PyYAML.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cognito_authz.cli import matrix_cmd
from cognito_authz.cli.common import CliError, print_json
from cognito_authz.cli.demo_answers import CachedAnswer, cached_answer

if TYPE_CHECKING:
    from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer
    from cognito_authz.policy import DecisionCase, DecisionTable, Policy
    from cognito_authz.testing.issuer import LocalIssuer

__all__ = ["DENY", "FLAVOURS", "WEBSOCKET", "DemoReport", "Row", "register", "run_demo", "run_scenario"]

REST_TOKEN = "REST TOKEN"
REST_REQUEST = "REST REQUEST"
HTTP_V2 = "HTTP API 2.0"
HANDLER_REST = "handler REST v1"
HANDLER_HTTP = "handler HTTP 2.0"
WEBSOCKET = "WebSocket"
#: HTTP cases rotate through these (``--every-flavour``: each case through all of them).
FLAVOURS = (REST_TOKEN, REST_REQUEST, HTTP_V2, HANDLER_REST, HANDLER_HTTP)
_IAM_FLAVOURS = (REST_TOKEN, REST_REQUEST, WEBSOCKET)

DEMO_POOL_ID = "eu-west-1_CognitoDemo"
DEMO_CLIENT_ID = "demowebclient0000000000000"

ALLOW, DENY, UNAUTHORIZED, ERROR = "allow", "deny", "unauthorized", "error"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``demo`` to the command parser."""
    demo = commands.add_parser(
        "demo",
        help="run the demo: local issuer, personas, authorizer and handler, no AWS account",
        description="Start a local Cognito-shaped issuer, mint a token per persona of the demo decision "
        "table, send REST TOKEN, REST REQUEST, HTTP API 2.0 and WebSocket events through the Lambda "
        "authorizer and REST/HTTP proxy events through a @protect handler, print who may do what and "
        "why, then one IAM policy the authorizer returned. Exit 0 when every decision matches the table.",
    )
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.add_argument(
        "--every-flavour", action="store_true", help="send every case through every event flavour"
    )
    demo.add_argument("--policy", metavar="FILE", help="your own policy instead of the demo's (with --cases)")
    demo.add_argument("--cases", metavar="FILE", help="the decision table for --policy")
    demo.add_argument(
        "--policy-scope",
        choices=("request", "principal"),
        default="principal",
        help="authorizer documents: principal-wide (default; cache-safe, every route for the caller) or "
        "request-scoped (this request's ARN only: for caching off or keyed per route)",
    )
    demo.set_defaults(handler=run_demo)


# --- results ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What API Gateway would do with an adapter's answer."""

    decision: str
    rules: tuple[str, ...] | None  # None: the flavour does not report rules (a handler's status code)
    document: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """One request of the demo: who, how, what was expected and what happened."""

    case: str
    persona: str
    flavour: str
    method: str
    path: str
    expected: str
    expected_rule: str | None
    outcome: Outcome
    ms: float
    note: str = ""

    @property
    def request(self) -> str:
        text = self.path if self.path.startswith("$") else f"{self.method} {self.path}"
        return f"{text} ({self.note})" if self.note else text

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        if self.outcome.decision != self.expected:
            found.append(f"expected {self.expected}")
        rules = self.outcome.rules
        if self.expected_rule is not None and rules is not None and self.expected_rule not in rules:
            found.append(f"expected rule {self.expected_rule}")
        return tuple(found)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "persona": self.persona,
            "flavour": self.flavour,
            "method": self.method,
            "path": self.path,
            "expected": self.expected,
            "expected_rule": self.expected_rule,
            "decision": self.outcome.decision,
            "rules": list(self.outcome.rules) if self.outcome.rules is not None else None,
            "ms": round(self.ms, 3),
            "ok": self.ok,
            "problems": list(self.problems),
        }


@dataclass(slots=True)
class DemoReport:
    """Everything the demo found; ``ok`` when the engine and every adapter matched the table."""

    policy_source: str
    cases_source: str
    policy_scope: str
    rule_count: int
    jwks_uri: str
    personas: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    engine_summary: str = ""
    engine_failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    #: Claims the pre token generation trigger (built from the policy) copies into access tokens.
    trigger_copies: tuple[str, ...] = ()
    #: Per persona, what its principal-wide IAM document promises (see :class:`CachedAnswer`).
    cached_answers: dict[str, CachedAnswer] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.engine_failures and all(row.ok for row in self.rows)

    def sample_document(self) -> tuple[Row, dict[str, Any]] | None:
        """The IAM document returned for the first allowed REST/WebSocket request."""
        for row in self.rows:
            if row.flavour in _IAM_FLAVOURS and row.outcome.decision == ALLOW and row.outcome.document:
                return row, row.outcome.document
        return None


# --- the scenario -------------------------------------------------------------------------------------


def _load_sources(args: argparse.Namespace) -> tuple[Policy, str, DecisionTable, str]:
    from importlib.resources import files

    from cognito_authz.policy import DecisionTable, Policy

    if (args.policy is None) != (args.cases is None):
        raise CliError("--policy and --cases go together (a policy and its decision table)")
    if args.policy is not None:
        return Policy.from_file(args.policy), args.policy, DecisionTable.from_file(args.cases), args.cases
    package = files("cognito_authz.cli")
    policy_data = json.loads(package.joinpath("demo_policy.json").read_text(encoding="utf-8"))
    cases_data = json.loads(package.joinpath("demo_cases.json").read_text(encoding="utf-8"))
    return (
        Policy.from_dict(policy_data, source="demo_policy.json"),
        "demo policy (examples/policies/demo.yaml)",
        DecisionTable.from_data(cases_data, source="demo_cases.json"),
        "demo decision table (examples/policies/demo.cases.yaml)",
    )


def _persona_summary(claims: Mapping[str, Any]) -> str:
    groups = claims.get("cognito:groups") or []
    # API Gateway may forward groups as one string ("[admin support]"): show it as it came.
    shown = groups if isinstance(groups, str) else ", ".join(str(group) for group in groups)
    parts = [f"groups: {shown}" if groups else "no groups"]
    if claims.get("scope"):
        parts.append(f"scopes: {claims['scope']}")
    parts.extend(f"{name}={value}" for name, value in claims.items() if name.startswith("custom:"))
    return "; ".join(parts)


def _mint(issuer: LocalIssuer, claims: Mapping[str, Any], **options: Any) -> str:
    """The access token a stock Cognito pool with the policy's trigger issues to the case's user.

    The case's user attributes (``custom:tenant_id`` ...) go where Cognito keeps them, in the user's
    record: the access token gets them only through the issuer's pre token generation trigger, as in
    production. A case naming claims no sign-in can produce (a non-string attribute, a standard claim
    with an odd value) is minted as given, with the free-form overrides.
    """
    from cognito_authz.claimsets import ACCESS_TOKEN_CLAIMS
    from cognito_authz.principal import normalize_string_list
    from cognito_authz.testing.issuer import DEFAULT_SCOPES

    rest = dict(claims)
    sub = rest.pop("sub", None)
    groups = rest.pop("cognito:groups", [])
    scope = rest.pop("scope", None)
    username = str(rest.pop("username", sub or "demo-user"))
    # A case may give groups as API Gateway forwards them to a handler ("[admin support]"): the token
    # Cognito issued carries them as a list, so that is what is minted.
    group_list = groups if isinstance(groups, list) else list(normalize_string_list(groups))
    scopes = str(scope).split() if scope else DEFAULT_SCOPES  # Cognito always grants some scope
    signable = all(isinstance(v, str) and k not in ACCESS_TOKEN_CLAIMS for k, v in rest.items())
    if signable and (sub is None or isinstance(sub, str)):
        return issuer.sign_in(
            username, sub=sub, groups=group_list, attributes=rest, scopes=scopes, **options
        ).access_token
    return issuer.mint_access_token(
        sub=sub,
        username=username,
        groups=group_list,
        scopes=str(scope).split() if scope else (),
        claims=rest,
        # No scope in the case means no scope claim, not an empty one.
        omit=() if scope else ("scope",),
        **options,
    )


def _spliced(signed: str, claims_from: str) -> str:
    """``signed``'s header and signature around another token's claims: a forgery that must not verify."""
    header, _, signature = signed.split(".")
    return f"{header}.{claims_from.split('.')[1]}.{signature}"


class _Api:
    """The demo's deployed pieces: an authorizer and a protected handler, and how to call each."""

    def __init__(
        self,
        authorizer: LambdaAuthorizer,
        handler: Callable[[dict[str, Any], Any], Any],
        explain: Callable[[str, str, str], tuple[str, ...]],
    ) -> None:
        self.authorizer = authorizer
        self.handler = handler
        self.explain = explain  # (token, method, path) -> the determining rules, for a handler's 403

    def send(self, flavour: str, token: str, method: str, path: str) -> tuple[Outcome, float]:
        from cognito_authz.cli import demo_events as events

        if flavour == REST_TOKEN:
            event = events.rest_token_event(token, method, path)
        elif flavour == REST_REQUEST:
            event = events.rest_request_event(token, method, path)
        elif flavour == HTTP_V2:
            event = events.http_v2_authorizer_event(token, method, path)
        elif flavour == WEBSOCKET:
            event = events.websocket_connect_event(token)
        elif flavour == HANDLER_REST:
            event = events.rest_v1_proxy_event(token, method, path)
        elif flavour == HANDLER_HTTP:
            event = events.http_v2_proxy_event(token, method, path)
        else:  # pragma: no cover - FLAVOURS is closed
            raise CliError(f"unknown flavour {flavour}")
        if flavour in (HANDLER_REST, HANDLER_HTTP):
            started = time.perf_counter()
            response = self.handler(event, None)
            elapsed = time.perf_counter() - started
            outcome = _handler_outcome(response)
            if outcome.decision == DENY:
                # A 403 never tells the caller why (generic body); the demo names the rule the handler's
                # policy decided by, as an operator reading the decision would see it.
                outcome = Outcome(DENY, self.explain(token, method, path))
            return outcome, elapsed * 1000
        started = time.perf_counter()
        try:
            answer = self.authorizer(event, None)
        except Exception as exc:
            elapsed = time.perf_counter() - started
            # API Gateway maps exactly this message to 401; anything else is a 500 (fail closed).
            decision = UNAUTHORIZED if str(exc) == "Unauthorized" else ERROR
            return Outcome(decision, None), elapsed * 1000
        elapsed = time.perf_counter() - started
        return _authorizer_outcome(answer, event), elapsed * 1000


def _rules_of(context: Any) -> tuple[str, ...]:
    # The authorizer's context carries lists as JSON text (adapters.common.context_list).
    from cognito_authz.adapters.common import read_context_list
    from cognito_authz.errors import EventError

    rules = context.get("rules") if isinstance(context, Mapping) else None
    try:
        return read_context_list(rules, "rules") if rules is not None else ()
    except EventError:
        return ()


def _authorizer_outcome(answer: Mapping[str, Any], event: Mapping[str, Any]) -> Outcome:
    from cognito_authz.iam import iam_allows

    rules = _rules_of(answer.get("context"))
    if "isAuthorized" in answer:
        return Outcome(ALLOW if answer["isAuthorized"] is True else DENY, rules)
    document = answer.get("policyDocument")
    arn = event.get("methodArn") or event.get("routeArn")
    if not isinstance(document, dict) or not isinstance(arn, str):
        return Outcome(ERROR, rules)
    # Exactly what API Gateway does with the answer: evaluate the document against this request's ARN.
    return Outcome(ALLOW if iam_allows(document, arn) else DENY, rules, document)


def _handler_outcome(response: Any) -> Outcome:
    status = response.get("statusCode") if isinstance(response, Mapping) else None
    decision = {200: ALLOW, 403: DENY, 401: UNAUTHORIZED}.get(status if isinstance(status, int) else 0, ERROR)
    rules: tuple[str, ...] | None = None
    if decision == ALLOW:
        # The demo's handler echoes the Decision @protect handed it; a rejection never reaches it.
        body = json.loads(response.get("body") or "{}")
        rules = tuple(body.get("rules", ()))
    return Outcome(decision, rules)


def _flavours_for(case: DecisionCase, index: int, every: bool) -> tuple[str, ...]:
    if case.path.startswith("$"):
        return (WEBSOCKET,)
    return FLAVOURS if every else (FLAVOURS[index % len(FLAVOURS)],)


def run_scenario(
    policy: Policy,
    table: DecisionTable,
    *,
    policy_source: str = "<policy>",
    cases_source: str = "<cases>",
    every_flavour: bool = False,
    policy_scope: Literal["request", "principal"] = "principal",
) -> DemoReport:
    """Run the whole demo and return what happened (printing is the caller's business)."""
    import logging

    # The table shows every decision; the adapters' own log lines would only repeat them on stderr.
    library_log = logging.getLogger("cognito_authz")
    quiet, propagate = logging.NullHandler(), library_log.propagate
    library_log.addHandler(quiet)
    library_log.propagate = False
    try:
        return _scenario(policy, table, policy_source, cases_source, every_flavour, policy_scope)
    finally:
        library_log.removeHandler(quiet)
        library_log.propagate = propagate


def _scenario(
    policy: Policy,
    table: DecisionTable,
    policy_source: str,
    cases_source: str,
    every_flavour: bool,
    policy_scope: Literal["request", "principal"],
) -> DemoReport:
    from cognito_authz.adapters.handler import protect
    from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer
    from cognito_authz.policy import run_decision_table
    from cognito_authz.testing.issuer import LocalIssuer

    started = time.perf_counter()
    engine = run_decision_table(policy, table)
    from cognito_authz.triggers import PreTokenGenerationTrigger

    # The demo's pool works like a stock Cognito pool: access tokens carry no user attributes unless
    # the pre token generation trigger built from the policy copies them (docs/id-vs-access-tokens.md).
    trigger = PreTokenGenerationTrigger.from_policy(policy)
    with LocalIssuer(DEMO_POOL_ID, client_id=DEMO_CLIENT_ID, trigger=trigger) as issuer:
        verifier = issuer.verifier(token_use="access")
        verifier.hydrate()  # what a Lambda does at cold start: the first request pays no fetch
        authorizer = LambdaAuthorizer(verifier, policy, policy_scope=policy_scope)

        @protect(verifier=verifier, policy=policy)
        def api_handler(
            event: dict[str, Any], context: Any, *, principal: Any, decision: Any
        ) -> dict[str, Any]:
            body = {"hello": principal.sub, "rules": list(decision.rules)}
            return {"statusCode": 200, "body": json.dumps(body)}

        def explain(token: str, method: str, path: str) -> tuple[str, ...]:
            return policy.decide(verifier.verify(token), method, path).rules

        api = _Api(authorizer, api_handler, explain)
        report = DemoReport(policy_source, cases_source, policy_scope, len(policy.rules), issuer.jwks_uri, {})
        report.trigger_copies = trigger.copy_attributes
        tokens: dict[str, str] = {}
        firsts: dict[str, tuple[DecisionCase, str, str]] = {}
        answered: set[str] = set()
        for index, case in enumerate(table.cases):
            claims = case.claims()
            persona = str(claims.get("sub") or f"case {index}")
            report.personas.setdefault(persona, _persona_summary(claims))
            key = json.dumps(claims, sort_keys=True, default=str)
            if key not in tokens:
                tokens[key] = _mint(issuer, claims)
            if not case.path.startswith("$"):
                firsts.setdefault(case.expect, (case, persona, tokens[key]))
                if key not in answered:
                    # One entry per distinct token: a persona with two claim sets gets two lines.
                    label = (
                        persona
                        if persona not in report.cached_answers
                        else (f"{persona} ({_persona_summary(claims)})")
                    )
                    answered.add(key)
                    report.cached_answers[label] = cached_answer(
                        policy, verifier.verify(tokens[key]), case.method or "GET", case.path
                    )
            for flavour in _flavours_for(case, index, every_flavour):
                outcome, ms = api.send(flavour, tokens[key], case.method or "", case.path)
                report.rows.append(
                    Row(
                        case.label(index),
                        persona,
                        flavour,
                        case.method or "",
                        case.path,
                        case.expect,
                        case.rule,
                        outcome,
                        ms,
                    )
                )
        # Tokens the verifier must refuse whatever the policy says: an allowed request with an expired
        # token, and a denied caller's signature around the allowed caller's claims.
        refused: list[tuple[str, DecisionCase, str, str]] = []
        if ALLOW in firsts:
            case, persona, _ = firsts[ALLOW]
            expired = _mint(issuer, case.claims(), now=time.time() - 7200, lifetime=3600)
            refused.append(("expired token", case, persona, expired))
            if DENY in firsts and firsts[DENY][2] != firsts[ALLOW][2]:
                _, impostor, signed = firsts[DENY]
                refused.append(
                    (
                        f"forged: {persona}'s claims on {impostor}'s signature",
                        case,
                        impostor,
                        _spliced(signed, firsts[ALLOW][2]),
                    )
                )
        for label, case, persona, token in refused:
            outcome, ms = api.send(REST_TOKEN, token, case.method or "", case.path)
            report.rows.append(
                Row(
                    label,
                    persona,
                    REST_TOKEN,
                    case.method or "",
                    case.path,
                    UNAUTHORIZED,
                    None,
                    outcome,
                    ms,
                    note=label,
                )
            )
    report.engine_summary = engine.summary()
    report.engine_failures = [result.describe() for result in engine.failures]
    report.elapsed = time.perf_counter() - started
    return report


def run_demo(args: argparse.Namespace) -> int:
    policy, policy_source, table, cases_source = _load_sources(args)
    report = run_scenario(
        policy,
        table,
        policy_source=policy_source,
        cases_source=cases_source,
        every_flavour=args.every_flavour,
        policy_scope=args.policy_scope,
    )
    if args.json:
        sample = report.sample_document()
        print_json(
            {
                "ok": report.ok,
                "elapsed_s": round(report.elapsed, 3),
                "policy": report.policy_source,
                "cases": report.cases_source,
                "policy_scope": report.policy_scope,
                "jwks_uri": report.jwks_uri,
                "personas": report.personas,
                "trigger_copies": list(report.trigger_copies),
                "cached_answers": {name: answer.to_json() for name, answer in report.cached_answers.items()},
                "engine": {"summary": report.engine_summary, "failures": report.engine_failures},
                "rows": [row.to_json() for row in report.rows],
                "iam_policy": None
                if sample is None
                else {
                    "request": sample[0].request,
                    "flavour": sample[0].flavour,
                    "persona": sample[0].persona,
                    "document": sample[1],
                },
            }
        )
    else:
        from cognito_authz.cli.demo_report import print_report  # demo_report reads this module's types

        print_report(report)
        matrix_cmd.print_persona_matrix(policy, table)  # the demo ends with who may do what
    return 0 if report.ok else 1
