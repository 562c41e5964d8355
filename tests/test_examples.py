"""Every example in ``examples/`` runs here: the authorizer Lambda (imported with its environment pointing at
a LocalIssuer, invoked with API Gateway events), its SAM template (cfn-lint and the SAM translator) and its
Serverless Framework twin, the protected proxy handler, the FastAPI and Flask apps through their test
clients, and the ``examples/testing`` suite in its own pytest process.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import tomllib
import yaml

from cognito_authz import Policy, Principal
from cognito_authz.cli import main
from cognito_authz.errors import ConfigError
from cognito_authz.iam import cache_safety, iam_allows
from cognito_authz.testing import LocalIssuer
from cognito_authz.token import parse_token

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
AUTHORIZER = EXAMPLES / "authorizer"
EVENTS = Path(__file__).resolve().parent / "events"
API_ARN = "arn:aws:execute-api:eu-west-1:123456789012:k7xq2v9d1a/prod"

_loaded = itertools.count()


def load_module(path: Path) -> ModuleType:
    """Import an example file afresh (a new module each time: examples build things at import)."""
    spec = importlib.util.spec_from_file_location(
        f"example_{path.parent.name}_{path.stem}_{next(_loaded)}", path
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def token_event(token: str, method: str, path: str) -> dict[str, Any]:
    event = fixture("rest_token")
    event["authorizationToken"] = f"Bearer {token}"
    event["methodArn"] = f"{API_ARN}/{method}{path}"
    return event


def rest_proxy_event(
    method: str,
    path: str,
    *,
    resource: str,
    token: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A REST API proxy event (payload 1.0) for ``method path`` matched to ``resource``."""
    event = fixture("proxy_rest_v1")
    event.update(httpMethod=method, path=path, resource=resource)
    names = re.findall(r"{(\w+)}", resource)
    values = [
        part
        for part, shape in zip(path.split("/"), resource.split("/"), strict=True)
        if shape.startswith("{")
    ]
    event["pathParameters"] = dict(zip(names, values, strict=True)) or None
    event["requestContext"].update(httpMethod=method, resourcePath=resource, path=f"/prod{path}")
    event["requestContext"].pop("authorizer")
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Authorization")
    if token is not None:
        event["headers"]["Authorization"] = f"Bearer {token}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    return event


def http_proxy_event(method: str, path: str, *, token: str | None = None, **params: str) -> dict[str, Any]:
    """An HTTP API proxy event (payload 2.0) on the ``$default`` stage."""
    event = fixture("proxy_http_v2")
    event["requestContext"].pop("authorizer")
    event["requestContext"]["http"].update(method=method, path=path)
    event.update(rawPath=path, routeKey=f"{method} {path}", pathParameters=params or None)
    event["headers"].pop("authorization")
    if token is not None:
        event["headers"]["authorization"] = f"Bearer {token}"
    return event


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


# --- examples/authorizer: the Lambda -----------------------------------------------------------------


@pytest.fixture
def authorizer_env(issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The function's environment, pointing at the session's LocalIssuer through a bundled JWKS file."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks))
    monkeypatch.setenv("USER_POOL_ID", issuer.user_pool_id)
    monkeypatch.setenv("APP_CLIENT_IDS", f"anotherappclient0000000000,{issuer.client_id}")
    monkeypatch.setenv("JWKS_FILE", str(jwks))
    monkeypatch.delenv("JWKS_URI", raising=False)
    return jwks


@pytest.fixture
def authorizer(authorizer_env: Path) -> ModuleType:
    return load_module(AUTHORIZER / "handler.py")


def test_authorizer_cold_start_finds_the_policy_cache_safe(
    authorizer_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cognito_authz"):
        module = load_module(AUTHORIZER / "handler.py")
    assert module.handler.cache_safety.safe
    assert not [r for r in caplog.records if r.name.startswith("cognito_authz")]


def test_authorizer_answer_is_exact_for_every_route(authorizer: ModuleType, issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(username="rita", scopes=["orders/read"])
    answer = authorizer.handler(token_event(token, "GET", "/orders/42"), None)
    principal = Principal.from_claims({"sub": answer["principalId"], "scope": "orders/read"})
    document = answer["policyDocument"]
    assert answer["context"]["rules"] == '["read-orders"]'
    assert answer["context"]["username"] == "rita"
    # API Gateway caches this answer for 300 s and applies it to every route the token calls: it must
    # say exactly what the policy says, everywhere.
    policy = Policy.from_file(AUTHORIZER / "policy.yaml")
    requests = [
        ("GET", "/orders"),
        ("GET", "/orders/42"),
        ("GET", "/orders/42/secret"),
        ("POST", "/orders"),
        ("PUT", "/orders/42"),
        ("POST", "/orders/42/refund"),
        ("GET", f"/users/{principal.sub}"),
        ("PUT", f"/users/{principal.sub}"),
        ("GET", "/users/someone-else"),
        ("GET", "/health"),
        ("DELETE", "/orders/42"),
    ]
    for method, path in requests:
        expected = policy.decide(principal, method, path).allowed
        assert iam_allows(document, f"{API_ARN}/{method}{path}") is expected, (method, path)


def test_authorizer_denies_with_a_deny_answer(authorizer: ModuleType, issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(scopes=["orders/read"])
    answer = authorizer.handler(token_event(token, "POST", "/orders/42/refund"), None)
    assert not iam_allows(answer["policyDocument"], f"{API_ARN}/POST/orders/42/refund")


@pytest.mark.parametrize("kind", ["garbage", "expired", "wrong client", "id token"])
def test_authorizer_bad_tokens_are_401(authorizer: ModuleType, issuer: LocalIssuer, kind: str) -> None:
    token = {
        "garbage": "not.a.token",
        "expired": issuer.mint_access_token(groups=["admin"], now=time.time() - 7200, lifetime=3600),
        "wrong client": issuer.mint_access_token(groups=["admin"], client_id="strangerclient000000000000"),
        "id token": issuer.mint_id_token(groups=["admin"]),
    }[kind]
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(token_event(token, "GET", "/orders"), None)


def test_authorizer_fetches_keys_at_cold_start_without_a_bundle(
    authorizer_env: Path, issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWKS_FILE")
    monkeypatch.setenv("JWKS_URI", issuer.jwks_uri)
    before = issuer.request_count
    module = load_module(AUTHORIZER / "handler.py")
    assert issuer.request_count == before + 1  # hydrate() at import
    token = issuer.mint_access_token(groups=["admin"])
    answer = module.handler(token_event(token, "DELETE", "/orders/42"), None)
    assert iam_allows(answer["policyDocument"], f"{API_ARN}/DELETE/orders/42")
    assert issuer.request_count == before + 1  # no fetch per request


def test_authorizer_without_configuration_fails_the_cold_start(
    authorizer_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("USER_POOL_ID")
    with pytest.raises(ConfigError, match="USER_POOL_ID is not set"):
        load_module(AUTHORIZER / "handler.py")


def test_orders_function_behind_the_authorizer(authorizer: ModuleType, issuer: LocalIssuer) -> None:
    orders = load_module(AUTHORIZER / "orders.py")
    token = issuer.mint_access_token(username="sam", groups=["support"])
    answer = authorizer.handler(token_event(token, "POST", "/orders/42/refund"), None)
    # API Gateway hands the authorizer's context (plus principalId) to the integration.
    upstream = {**answer["context"], "principalId": answer["principalId"], "integrationLatency": 41}
    event = rest_proxy_event(
        "POST", "/orders/42/refund", resource="/orders/{orderId}/refund", authorizer=upstream
    )
    response = orders.handler(event, None)
    assert response["statusCode"] == 202
    assert body(response) == {"refund": "42", "approved_by": "sam"}
    profile = orders.handler(
        rest_proxy_event(
            "GET", f"/users/{answer['principalId']}", resource="/users/{userId}", authorizer=upstream
        ),
        None,
    )
    assert body(profile)["groups"] == ["support"]
    # Reached without an authorizer (a misconfigured route): nobody, so 401.
    assert orders.handler(rest_proxy_event("GET", "/orders", resource="/orders"), None)["statusCode"] == 401


def test_authorizer_policy_lints_clean_and_passes_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    policy = AUTHORIZER / "policy.yaml"
    assert main(["lint", "--require-cache-safe", str(policy)]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out
    assert main(["test", str(policy), str(AUTHORIZER / "policy.cases.yaml")]) == 0
    assert "11 cases, 11 passed" in capsys.readouterr().out


# --- examples/authorizer: SAM and Serverless Framework -----------------------------------------------


def sam_template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    template: dict[str, Any] = yaml_parse((AUTHORIZER / "template.yaml").read_text())
    return template


def sam_routes(template: dict[str, Any]) -> set[str]:
    return {
        f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    }


def test_sam_template_passes_cfn_lint() -> None:
    from cfnlint.api import lint_file

    matches = lint_file(AUTHORIZER / "template.yaml")
    assert [str(match) for match in matches] == []


class StaticManagedPolicies:
    """Stands in for the IAM call that lists AWS managed policies: the transform never reaches AWS."""

    def load(self) -> dict[str, str]:
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        }


def test_sam_template_transforms(monkeypatch: pytest.MonkeyPatch) -> None:
    from samtranslator.translator.transform import transform

    # The translator only reads the region name from a boto3 session; it makes no call.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    template = sam_template()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # What `sam package` does before deploying: code goes to S3, the template names it there.
            resource["Properties"]["CodeUri"] = "s3://example-artifacts/orders.zip"
    output = transform(
        template,
        {"UserPoolId": "eu-west-1_AbCdEf123", "AppClientIds": ["clientone", "clienttwo"]},
        StaticManagedPolicies(),
    )
    resources = output["Resources"]
    api = next(r for r in resources.values() if r["Type"] == "AWS::ApiGateway::RestApi")
    swagger = api["Properties"]["Body"]
    authorizer = swagger["securityDefinitions"]["CognitoAuthz"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token"
    assert authorizer["authorizerResultTtlInSeconds"] == 300
    assert authorizer["authorizerUri"]["Fn::Sub"][1]["__FunctionArn__"] == {
        "Fn::GetAtt": ["AuthorizerFunction", "Arn"]
    }
    operations = {f"{m.upper()} {p}": op for p, ops in swagger["paths"].items() for m, op in ops.items()}
    assert set(operations) == sam_routes(sam_template())
    assert all(op["security"] == [{"CognitoAuthz": []}] for op in operations.values())
    # API Gateway may invoke the authorizer function.
    assert any(
        r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
        for r in resources.values()
    )
    env = resources["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert set(env) == {"USER_POOL_ID", "APP_CLIENT_IDS"}


def test_authorizer_caching_matches_the_policys_cache_safety() -> None:
    """A TOKEN authorizer cached per token is only right for a cache-safe policy; otherwise the cache
    must be keyed per route (REQUEST with context.httpMethod + context.resourcePath) or off."""
    policy = Policy.from_file(AUTHORIZER / "policy.yaml")
    template = sam_template()
    auth = template["Resources"]["OrdersApi"]["Properties"]["Auth"]["Authorizers"]["CognitoAuthz"]
    identity = auth.get("Identity", {})
    ttl = identity.get("ReauthorizeEvery", 300)  # SAM's default is 300 s
    per_route = {"httpMethod", "resourcePath"} <= set(identity.get("Context", []))
    if ttl > 0 and not (auth.get("FunctionPayloadType") == "REQUEST" and per_route):
        assert cache_safety(policy).safe, "per-token caching needs a cache-safe policy"
    # Every route the API exposes is one the policy names, so no route is denied by omission.
    policy_routes = {route.text for route in policy.routes}
    assert sam_routes(template) <= policy_routes


def test_serverless_yml_is_the_same_deployment() -> None:
    config = yaml.safe_load((AUTHORIZER / "serverless.yml").read_text())
    template = sam_template()
    assert config["provider"]["name"] == "aws"
    assert config["provider"]["runtime"] == template["Globals"]["Function"]["Runtime"]
    functions = config["functions"]
    assert functions["authorizer"]["handler"] == "handler.handler"
    assert set(functions["authorizer"]["environment"]) == {"USER_POOL_ID", "APP_CLIENT_IDS"}
    assert functions["orders"]["handler"] == "orders.handler"
    sam_auth = template["Resources"]["OrdersApi"]["Properties"]["Auth"]["Authorizers"]["CognitoAuthz"]
    routes = set()
    for event in functions["orders"]["events"]:
        http = event["http"]
        routes.add(f"{http['method'].upper()} /{http['path']}")
        authorizer = http["authorizer"]
        assert authorizer["name"] in functions
        assert functions[authorizer["name"]]["handler"] == "handler.handler"
        assert authorizer["type"] == sam_auth["FunctionPayloadType"].lower() == "token"
        assert authorizer["identitySource"] == f"method.request.header.{sam_auth['Identity']['Header']}"
        assert authorizer["resultTtlInSeconds"] == sam_auth["Identity"]["ReauthorizeEvery"]
        assert authorizer["identityValidationExpression"] == sam_auth["Identity"]["ValidationExpression"]
    assert routes == sam_routes(template)
    # The handlers the configs name exist.
    assert (AUTHORIZER / "handler.py").is_file()
    assert (AUTHORIZER / "orders.py").is_file()


# --- examples/handler ---------------------------------------------------------------------------------


@pytest.fixture
def proxy_handler(authorizer_env: Path) -> ModuleType:
    return load_module(EXAMPLES / "handler" / "handler.py")


def test_handler_rest_event_allowed(proxy_handler: ModuleType, issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(scopes=["orders/read"])
    response = proxy_handler.handler(
        rest_proxy_event("GET", "/orders", resource="/orders", token=token), None
    )
    assert response["statusCode"] == 200
    assert body(response)["orders"][0]["id"] == "42"
    one = proxy_handler.handler(
        rest_proxy_event("GET", "/orders/42", resource="/orders/{orderId}", token=token), None
    )
    assert body(one)["item"] == "coffee beans"


def test_handler_rest_event_forbidden_and_unauthorized(
    proxy_handler: ModuleType, issuer: LocalIssuer
) -> None:
    token = issuer.mint_access_token(scopes=["orders/read"])
    denied = proxy_handler.handler(rest_proxy_event("POST", "/orders", resource="/orders", token=token), None)
    assert denied["statusCode"] == 403
    assert body(denied) == {"message": "Forbidden"}
    anonymous = proxy_handler.handler(rest_proxy_event("GET", "/orders", resource="/orders"), None)
    assert anonymous["statusCode"] == 401
    assert anonymous["headers"]["WWW-Authenticate"] == "Bearer"


def test_handler_http_api_event(proxy_handler: ModuleType, issuer: LocalIssuer) -> None:
    support = issuer.mint_access_token(username="sam", groups=["support"])
    response = proxy_handler.handler(
        http_proxy_event("POST", "/orders/42/refund", token=support, orderId="42"), None
    )
    assert response["statusCode"] == 202
    assert body(response) == {"refund": "42", "approved_by": "sam"}
    expired = issuer.mint_access_token(groups=["admin"], now=time.time() - 7200, lifetime=3600)
    assert proxy_handler.handler(http_proxy_event("GET", "/orders", token=expired), None)["statusCode"] == 401


def test_handler_group_requirement(proxy_handler: ModuleType, issuer: LocalIssuer) -> None:
    admin = issuer.mint_access_token(username="ada", groups=["admin"])
    reader = issuer.mint_access_token(scopes=["orders/read"])
    allowed = proxy_handler.admin_handler(http_proxy_event("GET", "/admin/stats", token=admin), None)
    assert allowed["statusCode"] == 200
    assert body(allowed) == {"orders": 1, "admin": "ada"}
    refused = proxy_handler.admin_handler(http_proxy_event("GET", "/admin/stats", token=reader), None)
    assert refused["statusCode"] == 403


# --- examples/fastapi_app and examples/flask_app -----------------------------------------------------

Client = Callable[..., Any]


@pytest.fixture(params=["fastapi", "flask"])
def web_client(request: pytest.FixtureRequest, issuer: LocalIssuer) -> Any:
    """The same checks through both apps' real test clients (Starlette TestClient, Flask test client)."""
    if request.param == "fastapi":
        from fastapi.testclient import TestClient

        app = load_module(EXAMPLES / "fastapi_app" / "app.py").create_app(verifier=issuer.verifier())
        with TestClient(app) as client:
            yield client
    else:
        app = load_module(EXAMPLES / "flask_app" / "app.py").create_app(verifier=issuer.verifier())
        yield app.test_client()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_web_app_health_needs_no_token(web_client: Any) -> None:
    response = web_client.get("/health")
    assert response.status_code == 200
    assert _json(response) == {"status": "ok"}


def test_web_app_requires_a_token(web_client: Any, issuer: LocalIssuer) -> None:
    response = web_client.get("/orders")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    forged = issuer.mint_access_token(scopes=["orders/read"])[:-4] + "AAAA"
    assert web_client.get("/orders", headers=auth(forged)).status_code == 401


def _json(response: Any) -> Any:
    return response.json() if callable(getattr(response, "json", None)) else response.get_json()


def test_web_app_policy_decides(web_client: Any, issuer: LocalIssuer) -> None:
    reader = issuer.mint_access_token(username="rita", scopes=["orders/read"])
    listed = web_client.get("/orders", headers=auth(reader))
    assert listed.status_code == 200
    assert _json(listed)["caller"] == parse_token(reader, algorithms=["RS256"]).claims["sub"]
    assert web_client.get("/orders/42", headers=auth(reader)).status_code == 200
    assert web_client.get("/orders/43", headers=auth(reader)).status_code == 404  # allowed, but no such order
    refused = web_client.post("/orders/42/refund", headers=auth(reader))
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'


def test_web_app_route_requirement(web_client: Any, issuer: LocalIssuer) -> None:
    support = issuer.mint_access_token(username="sam", groups=["support"])
    response = web_client.post("/orders/42/refund", headers=auth(support))
    assert response.status_code == 202
    assert _json(response) == {"refund": "42", "approved_by": "sam"}


def test_fastapi_app_extras(issuer: LocalIssuer) -> None:
    from fastapi.testclient import TestClient

    module = load_module(EXAMPLES / "fastapi_app" / "app.py")
    with TestClient(module.create_app(verifier=issuer.verifier())) as client:
        assert client.get("/openapi.json").status_code == 200  # excluded: docs need no token
        me = client.get("/me", headers=auth(issuer.mint_access_token(username="nobody")))
        assert me.status_code == 200
        assert me.json()["username"] == "nobody"


def test_web_apps_read_the_environment_in_production(
    issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a verifier argument both factories build one from USER_POOL_ID / APP_CLIENT_IDS (no fetch
    # until a request arrives, so this makes no network call).
    monkeypatch.setenv("USER_POOL_ID", "eu-west-1_AbCdEf123")
    monkeypatch.setenv("APP_CLIENT_IDS", "clientone,clienttwo")
    from fastapi.testclient import TestClient

    with TestClient(load_module(EXAMPLES / "fastapi_app" / "app.py").create_app()) as client:
        assert client.get("/health").status_code == 200
    flask_app = load_module(EXAMPLES / "flask_app" / "app.py").create_app()
    assert flask_app.test_client().get("/health").status_code == 200
    assert tomllib.loads((EXAMPLES / "flask_app" / "policy.toml").read_text())["version"] == 1


# --- examples/testing ---------------------------------------------------------------------------------


def test_testing_example_suite_passes_in_its_own_pytest() -> None:
    # Its own process and its own pytest.ini, as a user runs it: the plugin comes from the installed
    # package's pytest11 entry point, not from our conftest.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(EXAMPLES / "testing")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # 7 tests, one of which holds only with examples/testing/pytest.ini's pool id (its own config is used).
    assert re.search(r"\b7 passed\b", result.stdout), result.stdout


def test_root_test_run_does_not_collect_examples() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert config["testpaths"] == ["tests"]
    assert (EXAMPLES / "testing" / "pytest.ini").is_file()
