"""The bench's 300-route table (``bench/iam.py``): every principal class gets an exact principal-wide
document within the work budget, and what each proof spends stays far below what walking every route
for every verb cost (33,000-165,000 units), so a class walk that stops narrowing or sharing fails here.

Units, not time: time is the bench's (``python -m bench --only iam``). The documents are read by the
naive IAM evaluator of ``naive_iam.py`` on requests built from every table route, with and without a
trailing slash, one segment deeper, and under other tenants and users, against a fresh ``decide`` (on
the routable ones: API Gateway answers any other request itself).
"""

from __future__ import annotations

import pytest
from naive_iam import naive_allows

from bench.iam import ARN, PRINCIPALS, table_policy
from cognito_authz.iam import build_principal_policy, clear_memo
from cognito_authz.iam.builder import principal_proof
from cognito_authz.policy.routes import LITERAL
from cognito_authz.principal import Principal
from cognito_authz.routing import STANDARD_VERBS

POLICY = table_policy()
# Most a class may spend: the admin (every route reachable, one check of its grants' document) and the
# tenant member (a greedy route under a claim-bound tenant) are the costliest; the others touch one to
# three first segments. Each is proved by the grants read as globs (choice.grant_guess) and one check;
# a guess that stopped working would add the choice's walks and overrun these (admin: 20.7k units), and
# so would a check whose classes told the table's routes apart again (admin: 7.3k units) or that stepped
# every service segment under the admin's `/{proxy+}` in full (admin: 4.1k units).
CEILING = {
    "admin": 3_700,
    "tenant member": 4_000,
    "writer of three services": 3_500,
    "reader of one service": 1_700,
    "no group": 1_000,
}


def _requests() -> list[tuple[str, str]]:
    api = POLICY.api
    assert api is not None
    paths: dict[str, None] = {"/": None}
    for route in api.routes:
        for value in ("acme", "globex", "u-admin", "u-m", "u-r", "x1"):
            path = "/" + "/".join(text if kind == LITERAL else value for kind, text in route.pattern)
            for variant in (path, path + "/", path + "/x2", path + "/admin", path + "/x2/admin"):
                paths[variant] = None
    return [(verb, path) for path in paths for verb in sorted(STANDARD_VERBS)]


REQUESTS = _requests()


@pytest.mark.parametrize("name", list(PRINCIPALS))
def test_each_class_is_proved_exact_within_its_ceiling(name: str) -> None:
    principal = Principal.from_claims(PRINCIPALS[name])
    clear_memo()
    proof = principal_proof(POLICY, principal, ARN)
    assert (proof.exact, proof.reason) == (True, ""), proof.detail
    assert proof.units <= CEILING[name], proof.units
    clear_memo()
    result = build_principal_policy(POLICY, principal, ARN)
    assert (result.scope, result.exact) == ("principal", True), result.reason
    api = POLICY.api
    assert api is not None
    checked = 0
    for verb, path in REQUESTS:
        if not api.routable(verb, path):
            continue  # API Gateway answers it itself: no cached answer is ever consulted
        allowed = POLICY.decide(principal, verb, path).allowed
        assert naive_allows(result.document, ARN.with_resource(verb, path)) == allowed, (verb, path)
        checked += 1
    assert checked > 1_000
