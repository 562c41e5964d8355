"""Benchmark: ``Policy.decide`` at 10, 100, 1,000 and 10,000 rules, beside the floor of DESIGN.md
section 8 (cryptography's bare RSA-SHA256 PKCS#1 v1.5 verify of a ~1 KB Cognito-sized token, 2048-bit key).

Run ``python bench/decide.py`` (``--quick`` for fewer repeats). ``run()`` returns the figures as a list of
dicts for a unified ``bench/`` runner. Budgets: decide at 1,000 rules <= 0.25x the floor; 10,000 rules
<= 1.5x the 10-rule time. These are measured and printed here, never asserted in tests.

The generated policies look like a large API: a few broad rules (admin on ``ANY /{proxy+}``, a tenant
guard, own-profile) plus per-service rules (scoped reads, group-gated writes, claim-gated sub-resources,
contractor denies), four rules per service. Each timed call cycles through three requests: one allowed
by a scope rule, one denied by the tenant guard, one denied by default.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

RULE_COUNTS = (10, 100, 1_000, 10_000)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def cognito_sized_token() -> tuple[bytes, bytes, rsa.RSAPublicKey]:
    """A signing input and signature shaped like a Cognito access token (~1 KB), and the public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = {"kid": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG=", "alg": "RS256"}
    now = int(time.time())
    payload = {
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admin", "support", "eu-west-1_AbCdEf123_Google"],
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        "version": 2,
        "client_id": "1example23456789abcdefghij",
        "origin_jti": "aaaaaaaa-1111-2222-3333-444444444444",
        "event_id": "bbbbbbbb-1111-2222-3333-444444444444",
        "token_use": "access",
        "scope": "openid profile email orders/read orders/write",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": "cccccccc-1111-2222-3333-444444444444",
        "username": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    }
    signing_input = _b64(json.dumps(header).encode()) + b"." + _b64(json.dumps(payload).encode())
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input, signature, key.public_key()


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
            rule = {
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


def _median_per_call(func: Callable[[], object], repeat: int, number: int) -> float:
    return statistics.median(t / number for t in timeit.Timer(func).repeat(repeat=repeat, number=number))


def run(
    rule_counts: tuple[int, ...] = RULE_COUNTS, *, repeat: int = 7, number: int = 3_000
) -> list[dict[str, Any]]:
    """Measure the floor and decide at each rule count; one dict per figure (times in microseconds)."""
    signing_input, signature, public_key = cognito_sized_token()

    def verify() -> None:
        public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())

    floor = _median_per_call(verify, repeat, max(200, number // 10))
    results: list[dict[str, Any]] = [
        {
            "name": "floor_rsa2048_verify",
            "token_bytes": len(signing_input) + 1 + len(_b64(signature)),
            "median_us": floor * 1e6,
        }
    ]
    baseline: float | None = None
    for count in rule_counts:
        started = time.perf_counter()
        policy = build_policy(count)
        load_ms = (time.perf_counter() - started) * 1e3
        cases = _requests(count)
        outcomes = [policy.decide(*case) for case in cases]
        assert [d.reason for d in outcomes] == ["allowed", "explicit_deny", "no_matching_rule"], outcomes
        decide = policy.decide
        a, b, c = cases

        def cycle(
            a: tuple[Any, ...] = a,
            b: tuple[Any, ...] = b,
            c: tuple[Any, ...] = c,
            decide: Callable[..., object] = decide,
        ) -> None:
            decide(*a)
            decide(*b)
            decide(*c)

        per_decide = _median_per_call(cycle, repeat, number) / 3
        baseline = baseline or per_decide
        results.append(
            {
                "name": "decide",
                "rules": count,
                "median_us": per_decide * 1e6,
                "ratio_to_floor": per_decide / floor,
                "ratio_to_first": per_decide / baseline,
                "load_ms": load_ms,
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    args = parser.parse_args()
    results = run(repeat=3, number=1_000) if args.quick else run()
    floor = results[0]
    print(
        f"floor: RSA-2048 PKCS1v15 SHA-256 verify, {floor['token_bytes']}-byte token: "
        f"{floor['median_us']:.1f} µs"
    )
    print(f"{'rules':>7}  {'decide':>10}  {'x floor':>8}  {'x 10 rules':>10}  {'load':>9}")
    for row in results[1:]:
        print(
            f"{row['rules']:>7,}  {row['median_us']:>7.2f} µs  {row['ratio_to_floor']:>7.3f}x"
            f"  {row['ratio_to_first']:>9.2f}x  {row['load_ms']:>6.0f} ms"
        )


if __name__ == "__main__":
    main()
