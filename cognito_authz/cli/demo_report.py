"""The ``cognito-authz demo`` report: the aligned table of requests, the summary lines, and what each
Resource of a returned IAM document covers (:func:`explain_document`)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from typing import Any

from cognito_authz.cli.demo import DENY, WEBSOCKET, DemoReport, Row
from cognito_authz.cli.demo_answers import cached_answer_lines

__all__ = ["TIMING_LEGEND", "explain_document", "format_table", "print_report"]

_COLUMNS = ("persona", "flavour", "request", "decision", "determining rule", "call ms", "check")


def _cells(row: Row) -> tuple[str, ...]:
    rules = row.outcome.rules
    if rules is None:
        shown = "-"  # a handler answers with a status code, not with rule names
    elif rules:
        shown = ", ".join(rules)
    else:
        shown = "(default deny)" if row.outcome.decision == DENY else "-"
    check = "ok" if row.ok else "MISMATCH: " + "; ".join(row.problems)
    return (row.persona, row.flavour, row.request, row.outcome.decision, shown, f"{row.ms:.2f}", check)


def format_table(rows: list[Row]) -> list[str]:
    """The aligned table (``call ms`` right-aligned), a header and a rule line."""
    cells = [_cells(row) for row in rows]
    widths = [max([len(title)] + [len(line[i]) for line in cells]) for i, title in enumerate(_COLUMNS)]

    def line(values: tuple[str, ...]) -> str:
        parts = [
            value.rjust(widths[i]) if _COLUMNS[i] == "call ms" else value.ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(_COLUMNS), line(tuple("-" * w for w in widths))]
    previous = None
    for row, values in zip(rows, cells, strict=True):
        if previous is not None and row.persona != previous:
            out.append("")
        previous = row.persona
        out.append(line(values))
    return out


def print_report(report: DemoReport) -> None:
    print(f"cognito-authz demo: {report.policy_source}, {report.rule_count} rules")
    print(f"  cases:      {report.cases_source}")
    print(f"  issuer:     LocalIssuer, JWKS at {report.jwks_uri}")
    print(
        f"  authorizer: LambdaAuthorizer(policy_scope={report.policy_scope!r}); "
        "handler: @protect(verifier, policy)"
    )
    print("personas (one access token each, minted by the local issuer):")
    if report.trigger_copies:
        print(
            f"  (as on a stock pool plus the pre token generation trigger built from the policy, which "
            f"copies {', '.join(report.trigger_copies)} into access tokens)"
        )
    width = max(len(name) for name in report.personas) if report.personas else 0
    for name, summary in report.personas.items():
        print(f"  {name.ljust(width)}  {summary}")
    print()
    for text in format_table(report.rows):
        print(text)
    print()
    for text in TIMING_LEGEND:
        print(text)
    print()
    flavours = list(dict.fromkeys(row.flavour for row in report.rows))
    mismatches = [row for row in report.rows if not row.ok]
    print(f"decision table (engine): {report.engine_summary}")
    for failure in report.engine_failures:
        print(f"  {failure}")
    verdict = (
        "all as the decision table expects"
        if not mismatches
        else f"{len(mismatches)} not as the decision table expects"
    )
    print(f"adapters: {len(report.rows)} requests through {', '.join(flavours)}: {verdict}")
    for line in cached_answer_lines(report.cached_answers):
        print(line)
    sample = report.sample_document()
    if sample is not None:
        row, document = sample
        print()
        print(f"IAM policy the authorizer returned for {row.persona}, {row.flavour} {row.request}:")
        print(json.dumps(document, indent=2))
        for text in explain_document(document, _arn_of(row)):
            print(text)
        if report.policy_scope == "request":
            print(
                "(request-scoped: it covers this request's ARN only, so run the authorizer with caching off "
                "or keyed per route; 'cognito-authz lint POLICY' says whether principal-wide, cache-safe "
                "documents are possible)"
            )
    print()
    print(f"{'OK' if report.ok else 'FAILED'}: finished in {report.elapsed:.2f} s")


#: What the ``call ms`` column measures, printed under the table.
TIMING_LEGEND = (
    "call ms: wall-clock time of this row's one call into the authorizer or the protected handler, in this",
    "  process: token verification (keys already cached, as after a Lambda cold start), the policy decision",
    "  and, for the IAM flavours (REST TOKEN/REQUEST, HTTP API 2.0 with IAM responses, WebSocket), the",
    "  principal-wide IAM document. The first IAM answer for a caller includes proving that document covers",
    "  every route exactly (a few ms); later answers for a caller the policy cannot tell apart reuse it from",
    "  a memo (a fraction of a ms). What this costs in a Lambda: docs/performance.md.",
)


def _arn_of(row: Row) -> str:
    from cognito_authz.cli import demo_events as events

    if row.flavour == WEBSOCKET:
        return str(events.websocket_connect_event("-")["methodArn"])
    return events.method_arn(events.REST_API_ID, events.REST_STAGE, row.method, row.path)


def explain_document(document: Mapping[str, Any], method_arn: str) -> list[str]:
    """One line per Resource of an authorizer's IAM document: what requests it covers, and why it is there.

    API Gateway caches the document per token and checks every later request's method ARN
    (``arn:...:api-id/stage/VERB/path``) against it; an explicit Deny wins over any Allow, and ``*`` matches
    any text, ``/`` and the empty string included (https://docs.aws.amazon.com/apigateway/latest/
    developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html).
    """
    api, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    prefix = f"{api}/{stage}/"
    intro = (
        "What each entry covers (API Gateway caches this document per token and checks each request's ARN "
        f"against it; an explicit Deny beats any Allow; * matches any text, '/' and '' included; {stage}/ is "
        "the stage):"
    )
    lines = textwrap.wrap(intro, width=108)
    statements = document.get("Statement") or []
    for statement in statements if isinstance(statements, list) else []:
        effect = str(statement.get("Effect", "?"))
        resources = statement.get("Resource") or []
        for resource in [resources] if isinstance(resources, str) else resources:
            text = str(resource)
            short = text.removeprefix(api + "/") if text.startswith(prefix) else text
            entry = f"{effect:<5} {short}: {_explain_resource(text.removeprefix(prefix), effect)}"
            lines.extend(textwrap.wrap(entry, width=108, initial_indent="  ", subsequent_indent="    "))
    return lines


def _explain_resource(rest: str, effect: str) -> str:
    if rest == "*%*":
        return (
            "any path holding a percent-escape: IAM compares the raw path and the policy the decoded one, so "
            "a document with Deny carve-outs refuses escaped paths outright rather than risk a mismatch "
            "(fail closed)"
        )
    verb, _, path = rest.partition("/")
    method = "every method" if verb == "*" else verb
    if path == "":
        why = "the policy denies it to this caller, and IAM's * would otherwise let an Allow match the empty"
        why += " path"
        return f"{method} on the root path / ({why})" if effect == "Deny" else f"{method} on the root path /"
    if path == "*":
        return f"{method} on every path"
    detail = " (* spans any text, '/' included)" if "*" in path else ""
    return f"{method} /{path}{detail}"
