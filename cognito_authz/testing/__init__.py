"""Test helpers for users' own test suites: a local Cognito-shaped issuer and pytest fixtures.

``LocalIssuer`` is imported lazily so that the pytest plugin (loaded by every pytest run in an
environment where cognito-authz is installed) costs nothing until a fixture is actually used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cognito_authz.testing.issuer import LocalIssuer

__all__ = ["LocalIssuer"]


def __getattr__(name: str) -> Any:
    if name == "LocalIssuer":
        from cognito_authz.testing.issuer import LocalIssuer

        return LocalIssuer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
