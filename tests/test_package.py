"""The layering of docs/architecture.md ("Layers"), checked on the real import graph in fresh interpreters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_lambda_cold_start_imports_only_what_a_request_needs() -> None:
    """The bench's Lambda init (an authorizer from a JSON policy and a bundled JWKS, docs/performance.md)
    leaves out what its first request does not use: file-path, socket and URL-parsing modules, the
    linter and decision tables, PyYAML, pydantic and requests."""
    lambda_file = Path(__file__).resolve().parents[1] / "bench" / "data" / "lambda_function.py"
    policy_file = lambda_file.with_name("policy.json")
    modules = loaded_after(
        f"sys.argv = [{str(lambda_file)!r}, {str(policy_file)!r}]; "
        f"exec(compile(open({str(lambda_file)!r}).read(), {str(lambda_file)!r}, 'exec'), "
        f"{{'__name__': '__main__', '__file__': {str(lambda_file)!r}}})"
    )
    assert "cognito_authz.adapters.lambda_authorizer" in modules  # the init did run
    assert (
        not {
            "pathlib",
            "socket",
            "urllib.parse",
            "ipaddress",
            "cognito_authz.policy.lint",
            "cognito_authz.policy.tables",
        }
        & modules
    )
    assert not {"yaml", "pydantic", "requests", "jwt"} & top_level(modules)
