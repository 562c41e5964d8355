"""The layering of DESIGN.md section 2, checked on the real import graph in fresh interpreters."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; import json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out))


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_policy_engine_is_pure() -> None:
    """The policy decides offline: no verifier, JWKS cache, pyjwt, requests or cryptography."""
    modules = loaded_after("import cognito_authz.policy")
    assert not {"cognito_authz.verifier", "cognito_authz.jwks", "cognito_authz.token"} & modules
    assert not {"jwt", "requests", "cryptography"} & top_level(modules)


def test_package_import_is_light() -> None:
    """`import cognito_authz` loads no layer until a name is used."""
    modules = loaded_after("import cognito_authz")
    assert not {"cognito_authz.verifier", "cognito_authz.policy"} & modules
    assert not {"jwt", "requests", "pydantic", "yaml", "starlette", "flask"} & top_level(modules)


@pytest.mark.parametrize(
    "statement",
    [
        "from cognito_authz import CognitoVerifier",
        "from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer",
        "from cognito_authz.adapters.handler import protect",
    ],
)
def test_frameworks_and_requests_are_not_imported_by_core_paths(statement: str) -> None:
    modules = top_level(loaded_after(statement))
    assert not {"requests", "starlette", "fastapi", "flask", "aws_lambda_powertools"} & modules


def test_public_names_resolve() -> None:
    import cognito_authz

    for name in cognito_authz.__all__:
        assert getattr(cognito_authz, name).__name__ == name
    with pytest.raises(AttributeError):
        _ = cognito_authz.NoSuchThing  # type: ignore[attr-defined]
