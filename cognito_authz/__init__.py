"""cognito-authz: may the caller holding this Cognito token do this?

``CognitoVerifier`` and ``Principal`` are imported eagerly (every user needs them); ``Policy`` and
``Decision`` load on first access (PEP 562) so that ``import cognito_authz`` in a Lambda cold start does
not pay for the policy engine and pydantic until a policy is actually used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cognito_authz.principal import Principal
from cognito_authz.verifier import CognitoVerifier

if TYPE_CHECKING:  # type checkers see the real classes; at runtime __getattr__ loads them on first use
    from cognito_authz.policy import Decision, Policy

__all__ = ["CognitoVerifier", "Decision", "Policy", "Principal"]

_LAZY = {"Policy": "cognito_authz.policy", "Decision": "cognito_authz.policy"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
