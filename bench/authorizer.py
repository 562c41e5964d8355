"""Authorizer rows: a whole ``LambdaAuthorizer`` invocation, event dict in, response dict out.

Budgets (docs/performance.md): a fresh token <= 2.5x the RSA floor, a repeated token <= 1x. The
verifier is warm (keys installed with ``load_jwks``, no network) and every invocation carries a token it
has not seen: with API Gateway's authorizer cache on, a token the gateway has already seen never reaches
the authorizer, so fresh tokens are what an authorizer actually serves. The tokens belong to distinct
users (distinct ``sub``) across three personas of ``bench/data/policy.yaml``: a reader allowed
``GET /orders/{id}``, an admin (allowed everything but other tenants, a principal-wide document with the
tenant guard's carve-outs) and a support user who is denied (a document naming their own profile).

Every fresh-token invocation is a new user's first call as far as the IAM builder can tell: the verifier
hands out a new ``Principal`` (its cache holds half the tokens), and an answer for a caller whose ``sub``
is renamed is keyed by the caller's identity only, never by its values, so a returning ``sub`` with a new
token costs what a first-time user costs (the shape's memoized proof and settled answer are reused, as
they are for every user of the shape after the first). Rows with a repeated token show the cost of
everything but the signature.

In the rows above every user asks the same request (``GET /orders/42``). The row with distinct paths
asks ``GET /orders/{n}`` with a new ``n`` on every call (4,096 of them, more than any answer cache of the
builder holds), as new users of a real API ask for their own resources: an answer settled for one
request cannot be found again by its ARN, so it measures what a new user pays when nobody of its shape
has asked its exact request before.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._rows import Row, Setup
from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer
from cognito_authz.policy import Policy

__all__ = ["AUTHORIZER_BUDGET", "REPEATED_BUDGET", "distinct_path_events", "run"]

AUTHORIZER_BUDGET = 2.5
REPEATED_BUDGET = 1.0
DATA = Path(__file__).resolve().parent / "data"
# Distinct request paths of the distinct-paths row: more than the builder's answer caches hold (1,024).
_DISTINCT_PATHS = 4096
_EVENTS = Path(__file__).resolve().parents[1] / "tests" / "events"

_PERSONAS: tuple[tuple[list[str], list[str]], ...] = (
    ([], ["orders/read"]),  # reader: allowed by read-orders
    (["admin"], []),  # admin: allowed, request-scoped document (tenant-guard needs "except")
    (["support"], ["aws.cognito.signin.user.admin"]),  # no rule: denied
)


def _rest_token_event(token: str, path: str = "/orders/42") -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": f"arn:aws:execute-api:eu-west-1:123456789012:k7xq2v9d1a/prod/GET{path}",
    }


def distinct_path_events(tokens: list[str]) -> list[dict[str, Any]]:
    """The distinct-paths row's events: ``GET /orders/{n}``, a new n on every one, tokens taken in turn."""
    return [_rest_token_event(tokens[n % len(tokens)], f"/orders/{n}") for n in range(_DISTINCT_PATHS)]


def _http_v2_template() -> dict[str, Any]:
    path = _EVENTS / "http_v2_request.json"
    if path.exists():  # the event as AWS documents it, from the test fixtures
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:r2d4f6h8j0/$default/GET/orders/42",
        "identitySource": ["Bearer TOKEN"],
        "routeKey": "GET /orders/{orderId}",
        "rawPath": "/orders/42",
        "headers": {"authorization": "Bearer TOKEN"},
        "requestContext": {"http": {"method": "GET", "path": "/orders/42"}, "stage": "$default"},
    }


def _http_v2_event(template: dict[str, Any], token: str) -> dict[str, Any]:
    event = copy.deepcopy(template)
    event["identitySource"] = [f"Bearer {token}"]
    event.setdefault("headers", {})["authorization"] = f"Bearer {token}"
    return event


def _cycler(handler: LambdaAuthorizer, events: list[dict[str, Any]]) -> Callable[[], object]:
    position = [0]
    count = len(events)

    def invoke() -> object:
        index = position[0] = (position[0] + 1) % count
        try:
            return handler(events[index], None)
        except Exception as exc:  # a 401 is an answer too; anything else is a broken bench
            if str(exc) != "Unauthorized":
                raise
            return None

    return invoke


def run(setup: Setup) -> list[Row]:
    """REST TOKEN and HTTP API 2.0 invocations, fresh tokens of distinct users and a repeated token."""
    issuer = setup.issuer
    policy = Policy.from_file(DATA / "policy.yaml")
    distinct = 48 if setup.quick else 384
    tokens = [
        issuer.mint_access_token(username=f"user{n}", groups=_PERSONAS[n % 3][0], scopes=_PERSONAS[n % 3][1])
        for n in range(distinct)
    ]
    template = _http_v2_template()
    logging.getLogger("cognito_authz").setLevel(logging.ERROR)  # request-scope notices are expected here
    rows: list[Row] = []
    for label, make_event in (
        ("REST TOKEN event", _rest_token_event),
        ("HTTP API 2.0 event", lambda token: _http_v2_event(template, token)),
    ):
        # An LRU half the number of tokens: every invocation verifies a token the verifier has not cached.
        fresh = LambdaAuthorizer(issuer.verifier("access", token_cache_size=distinct // 2), policy)
        measured = setup.against_floor(_cycler(fresh, [make_event(t) for t in tokens]))
        rows.append(
            Row(
                "authorizer",
                f"authorizer, {label} (fresh tokens, distinct users)",
                measured.median_us,
                "us",
                measured.ratio,
                "floor",
                AUTHORIZER_BUDGET,
            )
        )
        if label == "REST TOKEN event":
            paths = LambdaAuthorizer(issuer.verifier("access", token_cache_size=distinct // 2), policy)
            events = distinct_path_events(tokens)
            measured = setup.against_floor(_cycler(paths, events))
            rows.append(
                Row(
                    "authorizer",
                    f"authorizer, {label} (fresh tokens, distinct users, distinct paths)",
                    measured.median_us,
                    "us",
                    measured.ratio,
                    "floor",
                    AUTHORIZER_BUDGET,
                )
            )
        warm = LambdaAuthorizer(issuer.verifier("access"), policy)
        measured = setup.against_floor(_cycler(warm, [make_event(tokens[0])]))
        rows.append(
            Row(
                "authorizer",
                f"authorizer, {label} (repeated token)",
                measured.median_us,
                "us",
                measured.ratio,
                "floor",
                REPEATED_BUDGET,
            )
        )
    return rows
