"""Decide-path peers: Cedar (``cedarpy``) and Casbin deciding a request against policies of our size.

Both are the bar for ``Policy.decide`` at 10 and 1,000 rules, beside the same RSA floor. Each peer gets
its fastest documented form: Cedar with a pre-parsed ``PolicySet`` and ``Entities`` (parsing is the
dominant cost of ``is_authorized`` otherwise), Casbin with an enforcer built once from a
``keyMatch2`` model (its matcher is evaluated against every policy line in turn). The policies mirror
``bench/decide.py``: one permit per service route gated on a scope, the request hitting a service in the
middle of the file, allowed. No budget: these rows are for comparison. A peer that is not installed is
skipped (both are in the ``bench`` extra).
"""

from __future__ import annotations

from collections.abc import Callable

from bench._rows import Row, Setup

__all__ = ["RULE_COUNTS", "run"]

RULE_COUNTS = (10, 1_000)


def _cedar(count: int) -> Callable[[], object] | None:
    try:
        import cedarpy
    except ImportError:
        return None
    text = "\n".join(
        f'permit(principal, action == Action::"GET", resource == Route::"/svc{n}/items/{{itemId}}") '
        f'when {{ principal.scopes.contains("svc{n}/read") }};'
        for n in range(count)
    )
    policies = cedarpy.PolicySet.from_str(text)
    middle = count // 2
    entities = cedarpy.Entities.from_json_str(
        '[{"uid": {"type": "User", "id": "user-1"}, "parents": [],'
        f' "attrs": {{"scopes": ["openid", "svc{middle}/read"]}}}}]'
    )
    request = {
        "principal": 'User::"user-1"',
        "action": 'Action::"GET"',
        "resource": f'Route::"/svc{middle}/items/{{itemId}}"',
        "context": {},
    }
    if not cedarpy.is_authorized(request, policies, entities).allowed:
        raise RuntimeError("cedar peer: the request should be allowed")
    return lambda: cedarpy.is_authorized(request, policies, entities)


_CASBIN_MODEL = """
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && keyMatch2(r.obj, p.obj) && r.act == p.act
"""


def _casbin(count: int) -> Callable[[], object] | None:
    try:
        import casbin
    except ImportError:
        return None
    model = casbin.Model()
    model.load_model_from_text(_CASBIN_MODEL)
    enforcer = casbin.Enforcer(model)
    for n in range(count):
        enforcer.add_policy(f"svc{n}/read", f"/svc{n}/items/:itemId", "GET")
    middle = count // 2
    scope, path = f"svc{middle}/read", f"/svc{middle}/items/42"
    if not enforcer.enforce(scope, path, "GET"):
        raise RuntimeError("casbin peer: the request should be allowed")
    return lambda: enforcer.enforce(scope, path, "GET")


def run(setup: Setup) -> list[Row]:
    """Cedar and Casbin at 10 and 1,000 rules, each timed against the floor."""
    rows: list[Row] = []
    if not setup.peers:
        return rows
    peers = (("cedarpy is_authorized (pre-parsed)", _cedar), ("casbin enforce (keyMatch2)", _casbin))
    for name, build in peers:
        for count in RULE_COUNTS:
            call = build(count)
            if call is None:
                break
            measured = setup.against_floor(call)
            label = f"{name}, {count:,} rules"
            rows.append(Row("decide peers", label, measured.median_us, "us", measured.ratio, "floor"))
    return rows
