"""Whether a policy and its route table give every principal an exact principal-wide document (for lint).

Probes are principals synthesized to satisfy each allow rule (and all of them at once, and none); each
goes through :func:`~cognito_authz.iam.builder.build_principal_policy`, so the verdict is the builder's
own, checked one. ``probes=False`` (an authorizer's cold start) keeps only the known shape that IAM cannot
say: a deny sparing only the caller's own value where another rule allows other values.
"""

from __future__ import annotations

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.iam.arn import MethodArn
from cognito_authz.iam.builder import principal_proof
from cognito_authz.policy import Policy
from cognito_authz.policy.model import Condition, Rule, template_param
from cognito_authz.policy.routes import overlaps
from cognito_authz.principal import Principal

__all__ = ["ADVICE", "SAFE_ADVICE", "CacheSafety", "cache_safety"]

ADVICE = (
    "Some principals get documents that leave out requests decide allows (IAM globs cannot say them) or "
    "answer for the current request only. Such documents never allow what decide denies, but with "
    "authorizer caching on a left-out request is refused until the TTL ends: cache per route (a REQUEST "
    "authorizer with the method and path in the identity sources; HTTP APIs: $context.routeKey) or turn "
    "caching off (TTL 0)."
)
SAFE_ADVICE = "Every principal gets an exact principal-wide document; authorizer caching per token is safe."


class CacheSafety(Frozen):
    """The verdict: ``blocking_rules`` are rules some principal's document could not express."""

    __slots__ = ("advice", "blocking_rules", "findings", "safe")
    safe: bool
    blocking_rules: tuple[str, ...]
    advice: str
    findings: tuple[str, ...]

    def __init__(
        self,
        safe: bool,
        blocking_rules: tuple[str, ...],
        advice: str,
        findings: tuple[str, ...] = (),
    ) -> None:
        set_field(self, "safe", safe)
        set_field(self, "blocking_rules", blocking_rules)
        set_field(self, "advice", advice)
        set_field(self, "findings", findings)


def _templates(condition: Condition | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for claim, spec in (condition.claims or {}).items() if condition is not None else ():
        for value in spec if isinstance(spec, tuple) else (spec,):
            name = template_param(value)
            if name is not None:
                out[name] = claim
    return out


def _shape_findings(rules: tuple[Rule, ...]) -> tuple[list[str], list[str]]:
    blocking: list[str] = []
    findings: list[str] = []
    for rule in rules:
        spared = _templates(rule.unless)
        if rule.effect != "deny" or not spared:
            continue
        for other in rules:
            bound = _templates(other.when)
            if other.effect == "deny" or all(bound.get(p) == c for p, c in spared.items()):
                continue
            if any(
                overlaps((a.method, a.pattern), (b.method, b.pattern))
                for a in rule.routes
                for b in other.routes
            ):
                blocking.append(rule.id)
                findings.append(
                    f"deny rule {rule.id!r} spares only the caller's own {sorted(spared)}, but rule "
                    f"{other.id!r} allows other values on overlapping routes: IAM would need 'any value "
                    "except the caller's'"
                )
                break
    return blocking, findings


def _probe(conditions: list[Condition | None], template_claims: set[str]) -> Principal:
    groups: list[str] = []
    scopes: list[str] = []
    token_use: str | None = None
    client_id: str | None = None
    claims: dict[str, object] = {c: f"probe{n}" for n, c in enumerate(sorted(template_claims))}
    claims.setdefault("sub", "probe-sub")
    for condition in conditions:
        if condition is None:
            continue
        groups += [*(condition.groups or ())[:1], *(condition.all_groups or ())]
        scopes += [*(condition.scopes or ())[:1], *(condition.all_scopes or ())]
        token_use = token_use or next(iter(condition.token_use or ()), None)
        client_id = client_id or next(iter(condition.client_id or ()), None)
        for claim, spec in (condition.claims or {}).items():
            first = spec[0] if isinstance(spec, tuple) else spec
            if template_param(first) is None:
                claims[claim] = "present" if first == "*" else first
    return Principal(
        sub=str(claims["sub"]),
        groups=tuple(dict.fromkeys(groups)),
        scopes=tuple(dict.fromkeys(scopes)),
        token_use=token_use,
        client_id=client_id,
        claims=claims,
    )


_PROBE_ARN = MethodArn("aws", "us-east-1", "123456789012", "probe00000", "probe", "GET", "/")


def probe_principals(policy: Policy) -> list[Principal]:
    """Principals that satisfy each allow rule, all of them at once, and none."""
    template_claims = {
        c for r in policy.rules for part in (r.when, r.unless) for c in _templates(part).values()
    }
    whens = [r.when for r in policy.rules if r.effect == "allow"]
    return [
        *(_probe([w], template_claims) for w in whens),
        _probe(whens, template_claims),
        _probe([], template_claims),
    ]


def cache_safety(policy: Policy, *, probes: bool = True) -> CacheSafety:
    """Whether every probe principal gets an exact principal-wide document; which rules prevent it."""
    # Probes are the builder's own verdicts; the shape check is the cheap stand-in when there are none,
    # and names the deny rule behind an inexact probe (the probe names the allow rules left out).
    shape_rules, shape_findings = _shape_findings(policy.rules)
    blocking, findings = ([], []) if probes else (shape_rules, shape_findings)
    for probe in probe_principals(policy) if probes else ():
        # Judged by the proof itself: the probe ARN only names an API and stage.
        result = principal_proof(policy, probe, _PROBE_ARN)
        if not result.exact:
            blocking.extend([*shape_rules, *result.rules[:3]])
            who = f"groups {list(probe.groups)}, scopes {list(probe.scopes)}"
            findings.append(f"principal with {who}: {result.reason}: {result.detail}")
    rules = tuple(dict.fromkeys(blocking))
    safe = not rules and not findings
    return CacheSafety(safe, rules, SAFE_ADVICE if safe else ADVICE, tuple(dict.fromkeys(findings)))
