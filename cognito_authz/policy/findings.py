"""A lint finding: one thing a reviewer should look at, with a stable code. Its own room so every check
(:mod:`~cognito_authz.policy.lint`, :mod:`~cognito_authz.policy.api_lint`) can produce findings without
importing the others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LintFinding", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One lint result. ``code`` is stable; ``message`` is for people."""

    severity: Severity
    code: str
    message: str
    rule_id: str | None = None

    def __str__(self) -> str:
        where = f" rule {self.rule_id!r}:" if self.rule_id else ""
        return f"{self.severity} [{self.code}]{where} {self.message}"
