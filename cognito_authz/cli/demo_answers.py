"""What the demo says of cached answers: per persona, whether its principal-wide IAM document is exact.

API Gateway caches an authorizer's document per token; ``cognito-authz demo`` builds each persona's
document as the authorizer does and reports whether it allows exactly what ``decide`` allows over the
API's route table (docs/architecture.md, "Cached authorizer answers are exact").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cognito_authz.policy import Policy

__all__ = ["CachedAnswer", "cached_answer", "cached_answer_lines"]


@dataclass(frozen=True)
class CachedAnswer:
    """What API Gateway may reuse for one persona's token: the authorizer's principal-wide document.

    ``exact``: the document allows every routable request ``decide`` allows and nothing it denies, checked
    after rendering on one request of every route class; otherwise ``reason`` and ``rules`` say what IAM
    globs could not express (docs/architecture.md, "Cached authorizer answers are exact").
    """

    scope: str
    exact: bool
    reason: str
    rules: tuple[str, ...]
    routes: int

    def describe(self) -> str:
        where = f"every one of the {self.routes} routes" if self.routes else "every path"
        if self.scope == "principal" and self.exact:
            return f"exact: principal-wide, {where} answered as decide answers it"
        named = f" (rules: {', '.join(self.rules)})" if self.rules else ""
        if self.scope == "principal":
            return (
                f"sound, not exact: IAM globs cannot say everything decide allows{named}; with caching "
                "on, a left-out request is refused until the TTL ends"
            )
        return f"this request only ({self.reason}){named}"

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "exact": self.exact,
            "reason": self.reason,
            "rules": list(self.rules),
        }


def cached_answer(policy: Policy, principal: Any, method: str, path: str) -> CachedAnswer:
    """The principal-wide document the authorizer builds for this caller, and what it promises."""
    from cognito_authz.cli import demo_events as events
    from cognito_authz.iam import MethodArn, build_principal_policy

    arn = MethodArn.parse(events.method_arn(events.REST_API_ID, events.REST_STAGE, method, path))
    result = build_principal_policy(policy, principal, arn)
    routes = len(policy.api.routes) if policy.api is not None else 0
    return CachedAnswer(result.scope, result.exact, result.reason, result.rules, routes)


def cached_answer_lines(answers: Mapping[str, CachedAnswer]) -> list[str]:
    """The demo's lines on cached answers: a count, then one line per persona (none without answers)."""
    if not answers:
        return []
    exact = sum(answer.exact and answer.scope == "principal" for answer in answers.values())
    lines = [
        f"cached answers: {exact} of {len(answers)} personas get an exact principal-wide IAM document "
        "(checked after rendering against decide on every route class):"
    ]
    width = max(len(name) for name in answers)
    lines.extend(f"  {name.ljust(width)}  {answer.describe()}" for name, answer in answers.items())
    return lines
