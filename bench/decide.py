"""Benchmark: ``Policy.decide`` at 10, 100, 1,000 and 10,000 rules, beside the floor of
docs/performance.md (cryptography's bare RSA-SHA256 PKCS#1 v1.5 verify of a ~1 KB Cognito access token's
signature, 2048-bit key).

    python bench/decide.py            # this group alone, as a small table
    python bench/decide.py --quick    # fewer, shorter rounds (noisier)
    python -m bench --only decide     # the same rows inside the unified runner

Budgets: decide at 1,000 rules <= 0.25x the floor; 10,000 rules <= 1.5x the 10-rule time. They are
measured and printed here, never asserted in tests. Each case is timed interleaved with its reference
(``bench._timing``), so the ratios hold up on a busy machine even when absolute times drift.

The generated policies look like a large API: three broad rules (admin on ``ANY /{proxy+}``, a tenant
guard, own-profile) plus four rules per service (scoped reads, group-gated writes, claim-gated
sub-resources, contractor denies). Each timed call decides three requests, one allowed by a scope rule,
one denied by the tenant guard, one denied by default; figures are per decision (a third of a call).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, overload

if __package__ in (None, ""):  # run as a script: make ``bench`` and the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._rows import Row, Setup
from bench._timing import measure
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

__all__ = ["FLOOR_BUDGET_AT_1000", "RULE_COUNTS", "SCALING_BUDGET", "build_policy", "run"]

RULE_COUNTS = (10, 100, 1_000, 10_000)
FLOOR_BUDGET_AT_1000 = 0.25
SCALING_BUDGET = 1.5


def build_policy(rule_count: int) -> Policy:
    """A policy with exactly ``rule_count`` rules (three broad ones, the rest per service)."""
    rules: list[dict[str, Any]] = [
        {"id": "admin-everything", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
        {
            "id": "tenant-guard",
            "effect": "deny",
            "routes": ["ANY /tenants/{tenantId}/{proxy+}"],
            "unless": {"claims": {"custom:tenant_id": "{tenantId}"}},
        },
        {"id": "own-profile", "routes": ["GET /users/{userId}"], "when": {"claims": {"sub": "{userId}"}}},
    ]
    for index in range(rule_count - len(rules)):
        service, kind = divmod(index, 4)
        base = f"/svc{service}/items"
        if kind == 0:
            rule: dict[str, Any] = {
                "routes": [f"GET {base}", f"GET {base}/{{itemId}}"],
                "when": {"scopes": [f"svc{service}/read"]},
            }
        elif kind == 1:
            rule = {
                "routes": [f"POST {base}", f"PUT {base}/{{itemId}}"],
                "when": {"groups": [f"team{service % 50}"], "scopes": [f"svc{service}/write"]},
            }
        elif kind == 2:
            rule = {
                "routes": [f"GET {base}/{{itemId}}/{{proxy+}}"],
                "when": {"claims": {"custom:tenant_id": "*"}, "token_use": "access"},
            }
        else:
            rule = {
                "effect": "deny",
                "routes": [f"DELETE {base}/{{itemId}}"],
                "when": {"groups": ["contractor"]},
            }
        rules.append({"id": f"svc{service}-{kind}", **rule})
    return Policy.from_dict({"version": 1, "rules": rules[:rule_count]}, source=f"<bench {rule_count} rules>")


def _requests(rule_count: int) -> list[tuple[Principal, str, str]]:
    service = max(0, (rule_count - 3) // 8)  # a service in the middle of the file
    user = Principal.from_claims(
        {
            "sub": "user-1",
            "cognito:groups": ["support"],
            "scope": f"openid svc{service}/read",
            "token_use": "access",
            "custom:tenant_id": "acme",
        }
    )
    return [
        (user, "GET", f"/svc{service}/items/42"),  # allowed by the scope rule
        (user, "GET", "/tenants/globex/orders/7"),  # denied by the tenant guard
        (user, "POST", f"/svc{service}/items"),  # denied by default
    ]


class _Three:
    """Decides the three requests in one call; rows divide by three (one timed call costs less
    harness overhead than three would)."""

    def __init__(self, policy: Policy, requests: list[tuple[Principal, str, str]]) -> None:
        outcomes = [policy.decide(*request).reason for request in requests]
        if outcomes != ["allowed", "explicit_deny", "no_matching_rule"]:  # a broken bench, not a slow one
            raise RuntimeError(f"unexpected decisions {outcomes}")
        decide = policy.decide
        (p1, m1, q1), (p2, m2, q2), (p3, m3, q3) = requests

        def three() -> object:
            decide(p1, m1, q1)
            decide(p2, m2, q2)
            return decide(p3, m3, q3)

        self.call = three


def _rows(setup: Setup, rule_counts: tuple[int, ...]) -> list[Row]:
    rows: list[Row] = []
    cases: dict[int, _Three] = {}
    for count in rule_counts:
        started = time.perf_counter()
        policy = build_policy(count)
        load_ms = (time.perf_counter() - started) * 1e3
        cases[count] = case = _Three(policy, _requests(count))
        measured = setup.against_floor(case.call)
        rows.append(
            Row(
                "decide",
                f"decide, {count:,} rules",
                measured.median_us / 3,
                "us",
                measured.ratio / 3,
                "floor",
                FLOOR_BUDGET_AT_1000 if count == 1_000 else None,
                extra={"rules": count, "load_ms": round(load_ms, 1), "floor_us": measured.reference_us},
            )
        )
    smallest, largest = min(cases), max(cases)
    if largest != smallest:
        # Interleave the largest policy with the smallest directly: their ratio is the scaling budget.
        measured = measure(
            cases[largest].call, cases[smallest].call, rounds=setup.rounds, block_seconds=setup.block_seconds
        )
        rows.append(
            Row(
                "decide",
                f"decide, {largest:,} rules vs {smallest:,}",
                measured.median_us / 3,
                "us",
                measured.ratio,
                f"decide at {smallest:,} rules",
                SCALING_BUDGET if (smallest, largest) == (10, 10_000) else None,
            )
        )
    return rows


@overload
def run(setup: Setup, *, rule_counts: tuple[int, ...] = ...) -> list[Row]: ...


@overload
def run(
    setup: None = None, *, quick: bool = ..., rule_counts: tuple[int, ...] = ...
) -> list[dict[str, Any]]: ...


def run(
    setup: Setup | None = None, *, quick: bool = False, rule_counts: tuple[int, ...] = RULE_COUNTS
) -> list[Row] | list[dict[str, Any]]:
    """The decide rows. Given the unified runner's ``Setup`` (``python -m bench``), its ``Row`` objects;
    called alone, the same rows as JSON-ready dicts (``median`` in microseconds, ``ratio`` to
    ``against``, ``budget``, ``passed``)."""
    if setup is not None:
        return _rows(setup, rule_counts)
    return [row.as_dict() for row in _rows(Setup(quick=quick, peers=False), rule_counts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (noisier)")
    args = parser.parse_args()
    setup = Setup(quick=args.quick, peers=False)
    rows = _rows(setup, RULE_COUNTS)
    floor = [row.extra["floor_us"] for row in rows if "floor_us" in row.extra]
    floor_us = sorted(floor)[len(floor) // 2]
    print(
        f"floor: cryptography RSA-2048 PKCS1v15 SHA-256 verify of a {len(setup.token)}-byte Cognito "
        f"access token's signature: {floor_us:.1f} us (median)"
    )
    print(f"{'case':<32} {'median':>10} {'ratio':>8}  {'of':<22} {'budget':>8}")
    for row in rows:
        budget = f"<= {row.budget:g}x" if row.budget is not None else ""
        mark = {None: "", True: "ok", False: "MISS"}[row.passed]
        print(
            f"{row.name:<32} {row.median:>7.2f} us {row.ratio:>7.3f}x  {row.against:<22} {budget:>8} {mark}"
        )


if __name__ == "__main__":
    main()
