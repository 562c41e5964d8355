"""Where a new user's authorizer call spends its instructions, outside the fresh verify.

    python -m bench.authorizer_parts            # instructions per call of each part (valgrind)

The whole-invocation rows of ``python -m bench --callgrind`` include a fresh verify (≈ 454k instructions
of the ≈ 600k). This counts the rest, part by part, the same way (``valgrind --tool=callgrind``, collection
switched on only inside ``functools.reduce``, the harness alone subtracted): a verifier stand-in hands the
authorizer a principal nothing has seen yet on every call (each built beforehand from a minted token's
claims by ``Principal._of_verified``, as the verifier builds it), so every call is a new user's first call
as far as everything after the verify can tell. The personas and requests are the authorizer bench's
(``bench/authorizer.py``): a third of the calls allowed as readers, a third as admins, a third denied.

Each part is counted on its own, called as the authorizer calls it; the parts need not add up to the
whole exactly (the whole also pays the adapter's own steps between them).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run"]

_ROOT = Path(__file__).resolve().parents[1]
# Calls counted per case, and principals to hand out: every call of every case (warm-up included) gets
# one nobody has seen.
_CALLS = 200
_WARM = 50
_PRINCIPALS_PER_CASE = _CALLS + _WARM + 8
# The distinct-paths case is warmed until the builder's answer tables are full (1,024 entries), as they
# are in a long run of ``bench/authorizer.py``'s row, so its count includes what keeping an answer evicts.
_PATHS_WARM = 1200


def _claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def _child_cases(fixture: dict[str, Any]) -> dict[str, Callable[[], object]]:
    from bench import authorizer as authorizer_bench
    from cognito_authz.adapters.common import rules_context
    from cognito_authz.adapters.lambda_authorizer import EventKind, LambdaAuthorizer, detect_event_kind
    from cognito_authz.iam import build_principal_policy
    from cognito_authz.policy import Policy
    from cognito_authz.principal import Principal

    claims = fixture["claims"]
    policy = Policy.from_file(authorizer_bench.DATA / "policy.yaml")
    template = authorizer_bench._http_v2_template()

    def fresh_principals(count: int = _PRINCIPALS_PER_CASE) -> Callable[[], Principal]:
        # Built now, handed out one by one: a new user's principal, as the verifier builds it.
        made = [Principal._of_verified(dict(claims[n % len(claims)])) for n in range(count)]
        return iter(made).__next__

    class FreshVerifier:
        """Stands in for the verifier: every call, a principal nothing has seen."""

        def __init__(self, count: int = _PRINCIPALS_PER_CASE) -> None:
            self.next_principal = fresh_principals(count)

        def verify(self, token: Any) -> Principal:
            return self.next_principal()

    def authorizer(count: int = _PRINCIPALS_PER_CASE) -> LambdaAuthorizer:
        return LambdaAuthorizer(FreshVerifier(count), policy)

    tokens = fixture["tokens"]
    rest_events = [authorizer_bench._rest_token_event(t) for t in tokens]
    http_events = [authorizer_bench._http_v2_event(template, t) for t in tokens]

    def cycling(call: Callable[[Any], object], items: list[Any]) -> Callable[[], object]:
        position = [0]
        count = len(items)

        def next_item() -> object:
            index = position[0] = (position[0] + 1) % count
            return call(items[index])

        return next_item

    def whole(events: list[dict[str, Any]]) -> Callable[[], object]:
        return authorizer_bench._cycler(authorizer(), events)

    def new_paths() -> Callable[[], object]:
        # A new user asking ``GET /orders/{n}`` with a new n on every call (the authorizer bench's
        # distinct-paths row). Set up on its first (uncounted) call and warmed then until the answer
        # tables are full; counted last, so its principals and answers weigh on no other case.
        made: list[Callable[[], object]] = []

        def call() -> object:
            if not made:
                events = authorizer_bench.distinct_path_events(tokens)
                made.append(authorizer_bench._cycler(authorizer(_PRINCIPALS_PER_CASE + _PATHS_WARM), events))
                for _ in range(_PATHS_WARM):
                    made[0]()
            return made[0]()

        return call

    def with_principal(part: Callable[[Principal, int], object]) -> Callable[[], object]:
        # A fresh principal per call; the persona is the same position's, as in the whole invocation (the
        # n-th principal is built from claims[n % len(claims)], so the position starts one before 0).
        next_principal = fresh_principals()
        position = [-1]

        def call() -> object:
            index = position[0] = (position[0] + 1) % len(claims)
            return part(next_principal(), index)

        return call

    rest = authorizer()
    rest_arn = rest._route(EventKind.REST_TOKEN, rest_events[0])[2]
    assert rest_arn is not None
    verdicts = [policy.decide(Principal._of_verified(dict(c)), "GET", "/orders/42").allowed for c in claims]

    return {
        "(harness)": lambda: None,
        "(fresh principal alone)": with_principal(lambda principal, index: principal),
        "REST new user, whole invocation (verifier stand-in)": whole(rest_events),
        "HTTP API new user, whole invocation (verifier stand-in)": whole(http_events),
        "detect_event_kind (REST)": cycling(detect_event_kind, rest_events),
        "the token (REST)": cycling(lambda e: rest._token(EventKind.REST_TOKEN, e), rest_events),
        "the token (HTTP API)": cycling(lambda e: rest._token(EventKind.HTTP_V2, e), http_events),
        "the ARN and request (REST)": cycling(lambda e: rest._route(EventKind.REST_TOKEN, e), rest_events),
        "the ARN and request (HTTP API)": cycling(lambda e: rest._route(EventKind.HTTP_V2, e), http_events),
        "decide (Gate.verdict_rules)": with_principal(
            lambda p, i: rest.gate.verdict_rules(p, "GET", "/orders/42")
        ),
        "the context, with its verdict": with_principal(
            lambda p, i: rules_context(p, policy.verdict(p, "GET", "/orders/42")[1], ())
        ),
        "(the verdict for the context)": with_principal(lambda p, i: policy.verdict(p, "GET", "/orders/42")),
        "build_principal_policy, a new caller": with_principal(
            lambda p, i: build_principal_policy(policy, p, rest_arn, allowed=verdicts[i])
        ),
        "REST new user asking a new path, whole invocation (verifier stand-in)": new_paths(),
    }


def _child(fixture_path: str) -> None:
    import logging

    logging.getLogger("cognito_authz").setLevel(logging.ERROR)
    fixture = json.loads(Path(fixture_path).read_text())
    cases = _child_cases(fixture)
    for fn in cases.values():
        for _ in range(_WARM):
            fn()
        functools.reduce(lambda acc, _: fn(), range(_CALLS), None)
    print(json.dumps(list(cases)))


def run() -> dict[str, float]:
    """Instructions per call of each part (the harness subtracted)."""
    from bench import authorizer as authorizer_bench
    from bench.callgrind import _environment, _totals, _valgrind
    from cognito_authz.testing import LocalIssuer

    issuer = LocalIssuer(serve=False)
    tokens = [
        issuer.mint_access_token(
            username=f"user{n}",
            groups=authorizer_bench._PERSONAS[n % 3][0],
            scopes=authorizer_bench._PERSONAS[n % 3][1],
        )
        for n in range(48)
    ]
    fixture = {"tokens": tokens, "claims": [_claims_of(t) for t in tokens]}
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as tmp:
        work = Path(tmp)
        path = work / "fixture.json"
        path.write_text(json.dumps(fixture))
        env = _environment(str(work / "pycache"))
        subprocess.run(
            [sys.executable, "-m", "bench.authorizer_parts", "--child", str(path)],
            env=env,
            check=True,
            capture_output=True,
            cwd=_ROOT,
        )  # bytecode cached before counting
        result = _valgrind(
            ["-m", "bench.authorizer_parts", "--child", str(path)], env, work / "parts", toggle=True
        )
        order = json.loads(result.stdout.strip().splitlines()[-1])
        totals = _totals(work, "parts")
    per_call = dict(zip(order, (total / _CALLS for total in totals), strict=True))
    harness = per_call.pop("(harness)")
    return {name: count - harness for name, count in per_call.items()}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        os.environ.setdefault("PYTHONHASHSEED", "0")
        for name, count in run().items():
            print(f"{name:<72} {count:>10,.0f}")
