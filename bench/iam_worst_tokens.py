"""The IAM builder's worst cost per invocation over hostile token shapes.

Run ``python -m bench.iam_worst_tokens``.

An authorizer invocation must stay within 50 ms and 64 MiB of extra memory whatever the token carries
(docs/performance.md). The builder bounds its work with a deterministic budget (``iam.WORK_BUDGET`` units,
each charged before the work it stands for); this scan searches the token shapes that cost it most:

- list-valued claims bound to one to six path parameters, one shared claim or one claim per parameter,
  from 1 to 1,500 values (about what an 8 KiB token holds), next to a deny carve-out;
- the same bound under a greedy parameter (values that hold ``/`` become several segments);
- long values (250 characters, the longest a Resource segment may be);
- the demo policy (``examples/policies/demo.yaml``) with hundreds of groups and scopes, a list-valued
  tenant claim and a list-valued project claim.

Each shape is a fresh principal (a first proof, never a memo hit). Time is the process's CPU time of one
``build_principal_policy`` call, the best of two; memory is tracemalloc's peak in a separate, traced call
(tracing slows the call, so the two are measured apart). Printed: the costliest shapes, with the units
each spent and the time per unit, and the same for the examples' principals, whose most demanding one
sets how low the budget can go: the bound is the budget times the costliest time per unit.
"""

from __future__ import annotations

import logging
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from cognito_authz import Policy, Principal
from cognito_authz.iam import build_principal_policy
from cognito_authz.iam.arn import MethodArn
from cognito_authz.iam.builder import WORK_BUDGET, clear_memo, principal_proof
from cognito_authz.iam.safety import probe_principals

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
VALUES = (1, 2, 5, 10, 20, 40, 80, 160, 400, 1500)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "policies"

Shape = tuple[str, Policy, Principal, MethodArn]


def _bound_shapes() -> Iterator[Shape]:
    for count in (1, 2, 3, 4, 6):
        params = [f"p{i}" for i in range(count)]
        for greedy in (False, True):
            if greedy and count > 3:
                continue
            segments = ["{" + p + ("+}" if greedy and i == count - 1 else "}") for i, p in enumerate(params)]
            route = "ANY /" + "/".join(segments)
            for shared in (True, False):

                def claim(i: int, shared: bool = shared) -> str:
                    return "list" if shared else f"c{i}"

                rules: list[dict[str, object]] = [
                    {"id": f"r{i}", "routes": [route], "when": {"claims": {claim(i): "{" + p + "}"}}}
                    for i, p in enumerate(params)
                ]
                carve_out = {"groups": ["root"]}
                rules.append(
                    {"id": "deny", "effect": "deny", "routes": ["ANY /{p0}/admin"], "unless": carve_out}
                )
                policy = Policy.from_dict({"version": 1, "rules": rules})
                for n in VALUES:
                    if not shared and n * count > 1500:
                        continue  # more than an 8 KiB token holds
                    if greedy:
                        values = [f"v{i:03d}/w{i % 7}" for i in range(n)]
                    else:
                        values = [f"v{i:03d}" for i in range(n)]
                    claims = {"sub": f"u{count}{shared}{n}", **{claim(i): values for i in range(count)}}
                    arn = MethodArn.parse(PREFIX + "GET/" + "/".join((values * count)[:count]))
                    kind = "greedy, " if greedy else ""
                    how = "one shared claim" if shared else "a claim each"
                    yield (
                        f"{count} parameter(s), {kind}{how}, {n} values",
                        policy,
                        Principal.from_claims(claims),
                        arn,
                    )


def _long_value_shapes() -> Iterator[Shape]:
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {"id": "r", "routes": ["ANY /a/{p0}/b/{p1}"], "when": {"claims": {"list": "{p0}"}}},
                {"id": "s", "routes": ["ANY /a/{p0}/b/{p1}"], "when": {"claims": {"list": "{p1}"}}},
            ],
        }
    )
    for n in (1, 4, 16, 30):
        values = [f"{i:03d}" + "v" * 247 for i in range(n)]  # 250 characters each, ~8 KiB at 30
        principal = Principal.from_claims({"sub": f"long{n}", "list": values})
        arn = MethodArn.parse(PREFIX + f"GET/a/{values[0]}/b/{values[-1]}")
        yield f"2 parameters, {n} values of 250 characters", policy, principal, arn


def _demo_shapes() -> Iterator[Shape]:
    demo = Policy.from_file(EXAMPLES / "demo.yaml")
    for n in (10, 100, 400):
        groups = ["platform-admin", "member", "contractor", *(f"g{i}" for i in range(n))]
        scopes = ["projects/read", "projects/write", "billing/read", *(f"s{i}/x" for i in range(n))]
        claims = {
            "sub": f"demo{n}",
            "cognito:groups": groups,
            "scope": " ".join(scopes),
            "custom:tenant_id": [f"t{i}" for i in range(max(1, n // 10))],
            "custom:project_id": [f"p{i}" for i in range(max(1, n // 10))],
        }
        arn = MethodArn.parse(PREFIX + "GET/tenants/t0/projects")
        yield (
            f"demo.yaml, {n} extra groups and scopes, {max(1, n // 10)} tenants and projects",
            demo,
            (Principal.from_claims(claims)),
            arn,
        )


def shapes() -> Iterator[Shape]:
    yield from _bound_shapes()
    yield from _long_value_shapes()
    yield from _demo_shapes()


def example_shapes() -> Iterator[Shape]:
    """The principals ``lint`` probes for the README tour, demo.yaml and design_example.yaml."""
    arn = MethodArn.parse(PREFIX + "GET/")
    for name in ("demo.yaml", "tour.yaml", "design_example.yaml"):
        policy = Policy.from_file(EXAMPLES / name)
        for k, principal in enumerate(probe_principals(policy)):
            yield f"{name} probe {k} (groups {list(principal.groups)})", policy, principal, arn


def measure(shape: Shape) -> tuple[float, int, int, str]:
    """(best CPU seconds of two first proofs, units the proof spent, tracemalloc peak bytes, answer)."""
    _name, policy, principal, arn = shape
    best = float("inf")
    for _ in range(2):
        clear_memo()
        started = time.process_time()
        result = build_principal_policy(policy, principal, arn)
        best = min(best, time.process_time() - started)
    units = principal_proof(policy, principal, arn).units  # the proof just made, from the memo
    clear_memo()
    tracemalloc.start()
    build_principal_policy(policy, principal, arn)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    answer = ", ".join(
        [result.scope, *(["exact"] if result.exact else []), *([result.reason] if result.reason else [])]
    )
    return best, units, peak, answer


def _row(elapsed: float, units: int, name: str) -> str:
    return (
        f"  {elapsed * 1000:6.1f} ms  {units:6d} units  {elapsed * 1e6 / max(units, 1):4.2f} us/unit  {name}"
    )


def main() -> None:
    logging.getLogger("cognito_authz").setLevel(logging.CRITICAL)  # fallbacks are expected here
    hostile = sorted(((*measure(shape), shape[0]) for shape in shapes()), reverse=True)
    examples = sorted(((*measure(shape), shape[0]) for shape in example_shapes()), reverse=True)
    print(f"{len(hostile)} token shapes; the costliest first (budget {WORK_BUDGET:,} units):")
    for elapsed, units, peak, answer, name in hostile[:10]:
        print(_row(elapsed, units, f"{peak / 2**20:4.1f} MiB  {name}: {answer}"))
    print(f"largest memory peak: {max(row[2] for row in hostile) / 2**20:.1f} MiB")
    per_unit = max(row[0] * 1e6 / row[1] for row in hostile if row[1] >= 1000)
    print(f"costliest time per unit (shapes spending 1,000 units or more): {per_unit:.2f} us")
    print("the examples' principals, most demanding first:")
    for elapsed, units, _peak, answer, name in examples[:4]:
        print(_row(elapsed, units, f"{name}: {answer}"))


if __name__ == "__main__":
    main()
