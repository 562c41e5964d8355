"""The IAM builder's worst cost per invocation over hostile token shapes.

Run ``python -m bench.iam_worst_tokens``.

An authorizer invocation must stay within 50 ms and 64 MiB of extra memory whatever the token carries
(docs/performance.md). The builder bounds its work with a deterministic budget (``iam.WORK_BUDGET``); this
scan searches the token shapes that cost it most: list-valued claims bound to one to six path parameters,
one shared claim or one claim per parameter, from 1 to 1,500 values (about what an 8 KiB token holds),
next to a deny carve-out. Each shape is a fresh principal (a first proof, never a memo hit). Time is the
process's CPU time of one ``build_principal_policy`` call; memory is tracemalloc's peak in a second, traced
call (tracing slows the call, so the two are measured apart). Prints the costliest shapes.
"""

from __future__ import annotations

import logging
import time
import tracemalloc
from collections.abc import Iterator

from cognito_authz import Policy, Principal
from cognito_authz.iam import build_principal_policy
from cognito_authz.iam.arn import MethodArn
from cognito_authz.iam.builder import clear_memo

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
VALUES = (1, 2, 5, 10, 20, 40, 80, 160, 400, 1500)


def shapes() -> Iterator[tuple[str, Policy, Principal, MethodArn]]:
    for count in (1, 2, 3, 4, 6):
        params = [f"p{i}" for i in range(count)]
        route = "ANY /" + "/".join("{" + p + "}" for p in params)
        for shared in (True, False):
            claim = (lambda i: "list") if shared else (lambda i: f"c{i}")
            rules: list[dict[str, object]] = [
                {"id": f"r{i}", "routes": [route], "when": {"claims": {claim(i): "{" + p + "}"}}}
                for i, p in enumerate(params)
            ]
            carve_out = {"groups": ["root"]}
            rules.append({"id": "deny", "effect": "deny", "routes": ["ANY /{p0}/admin"], "unless": carve_out})
            policy = Policy.from_dict({"version": 1, "rules": rules})
            for n in VALUES:
                if not shared and n * count > 1500:
                    continue  # more than an 8 KiB token holds
                values = [f"v{i:03d}" for i in range(n)]
                claims = {"sub": f"u{count}{shared}{n}", **{claim(i): values for i in range(count)}}
                arn = MethodArn.parse(PREFIX + "GET/" + "/".join((values * count)[:count]))
                name = f"{count} parameter(s), {'one shared claim' if shared else 'a claim each'}, {n} values"
                yield name, policy, Principal.from_claims(claims), arn


def main() -> None:
    logging.getLogger("cognito_authz").setLevel(logging.CRITICAL)  # fallbacks are expected here
    rows = []
    for name, policy, principal, arn in shapes():
        clear_memo()
        started = time.process_time()
        build_principal_policy(policy, principal, arn)
        elapsed = time.process_time() - started
        clear_memo()
        tracemalloc.start()
        build_principal_policy(policy, principal, arn)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append((elapsed, peak, name))
    rows.sort(reverse=True)
    print(f"{len(rows)} token shapes; the costliest first (CPU time, tracemalloc peak):")
    for elapsed, peak, name in rows[:8]:
        print(f"  {elapsed * 1000:6.1f} ms  {peak / 2**20:5.1f} MiB  {name}")
    print(f"largest memory peak: {max(row[1] for row in rows) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
