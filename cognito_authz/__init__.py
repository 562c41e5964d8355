"""cognito-authz: may the caller holding this Cognito token do this?

Every public name loads on first access (PEP 562): ``import cognito_authz.policy`` stays pure (no
verifier, no cryptography), and a Lambda cold start pays only for the layers it actually uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the real classes; at runtime __getattr__ loads them on first use
    from cognito_authz.policy import Decision, Policy
    from cognito_authz.principal import Principal
    from cognito_authz.verifier import CognitoVerifier

__all__ = ["CognitoVerifier", "Decision", "Policy", "Principal"]

_LAZY = {
    "CognitoVerifier": "cognito_authz.verifier",
    "Principal": "cognito_authz.principal",
    "Policy": "cognito_authz.policy",
    "Decision": "cognito_authz.policy",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
