"""The deployable examples, built and checked with the real tools: ``sam build`` and ``sam validate --lint``
for the SAM templates, cfn-lint and the SAM translator for the HTTP API template, ``cdk synth`` then
cfn-lint on its output for the CDK app, and the HTTP API example's functions invoked with API Gateway
payload 2.0 events. Nothing contacts AWS: no credentials, no account, an environment-agnostic CDK stack.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from cognito_authz import Policy
from cognito_authz.cli import demo_events
from cognito_authz.iam import cache_safety, iam_allows
from cognito_authz.testing import LocalIssuer
from tests.support.tools import ROOT, cdk_cli, sam_cli, tool_environment

EXAMPLES = ROOT / "examples"
SAM_TEMPLATES = [EXAMPLES / "authorizer" / "template.yaml", EXAMPLES / "http_api" / "template.yaml"]
HTTP_API = EXAMPLES / "http_api"
ELF_AARCH64 = 0xB7

_loaded = itertools.count()


def load_module(path: Path) -> ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"deploy_example_{path.stem}_{next(_loaded)}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def assert_arm64_python312_function(root: Path, modules: tuple[str, ...]) -> None:
    """A built function folder: its code, the policy, and only python3.12/aarch64 binaries."""
    for name in (*modules, "policy.yaml"):
        assert (root / name).is_file(), name
    assert (root / "cognito_authz" / "__init__.py").is_file()
    shared = [path for path in root.rglob("*.so") if path.is_file()]
    assert shared
    for path in shared:
        assert elf_machine(path) == ELF_AARCH64, path
        assert "cpython-312-aarch64" in path.name or ".abi3." in path.name, path


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        command, cwd=cwd, env=tool_environment(**env), capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, (
        f"{' '.join(command)}\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    return completed


# --- SAM ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sam_build_of_the_authorizer_example_as_shipped(tmp_path: Path) -> None:
    """`sam build` from the example folder, no container: the Makefile runs `cognito-authz package`."""
    build = tmp_path / "build"
    run([str(sam_cli()), "build", "--build-dir", str(build)], cwd=EXAMPLES / "authorizer")
    built = yaml.safe_load((build / "template.yaml").read_text())
    for name in ("AuthorizerFunction", "OrdersFunction"):
        assert built["Resources"][name]["Properties"]["CodeUri"] == name
        assert_arm64_python312_function(build / name, ("handler.py", "orders.py"))


@pytest.mark.slow
def test_sam_build_of_the_http_api_example_as_shipped(tmp_path: Path) -> None:
    build = tmp_path / "build"
    run([str(sam_cli()), "build", "--build-dir", str(build)], cwd=HTTP_API)
    assert_arm64_python312_function(build / "AuthorizerFunction", ("handler.py", "app.py"))


@pytest.mark.parametrize("template", SAM_TEMPLATES, ids=lambda p: p.parent.name)
def test_sam_validate_lint(template: Path) -> None:
    completed = run(
        [str(sam_cli()), "validate", "--lint", "--template-file", str(template)], cwd=template.parent
    )
    assert "is a valid SAM Template" in completed.stdout + completed.stderr


@pytest.mark.parametrize("template", SAM_TEMPLATES, ids=lambda p: p.parent.name)
def test_sam_templates_pass_cfn_lint(template: Path) -> None:
    from cfnlint.api import lint_file

    assert [str(match) for match in lint_file(template)] == []


def test_sam_examples_build_with_the_package_command() -> None:
    """Both SAM templates build every function through their Makefile, for the runtime they declare."""
    for template_path in SAM_TEMPLATES:
        template = yaml.safe_load(template_path.read_text().replace("!", "_"))  # tags are irrelevant here
        runtime = template["Globals"]["Function"]["Runtime"]
        (architecture,) = template["Globals"]["Function"]["Architectures"]
        makefile = (template_path.parent / "Makefile").read_text()
        assert f"RUNTIME ?= {runtime}" in makefile
        assert f"ARCH ?= {architecture}" in makefile
        for name, resource in template["Resources"].items():
            if resource["Type"] == "AWS::Serverless::Function":
                assert resource["Metadata"]["BuildMethod"] == "makefile"
                assert re.search(rf"^build-.*\b{name}\b.*:", makefile, re.MULTILINE), name


def test_serverless_yml_is_v4_and_ships_the_packaged_zip() -> None:
    folder = EXAMPLES / "authorizer"
    config = yaml.safe_load((folder / "serverless.yml").read_text())
    makefile = (folder / "Makefile").read_text()
    assert config["frameworkVersion"] == "4"
    assert "plugins" not in config  # the code is the prebuilt zip, not a plugin's pip install
    artifact = config["package"]["artifact"]
    assert re.search(rf"^\t\$\(PACKAGE\) {re.escape(artifact)}$", makefile, re.MULTILINE)
    assert f"ARCH ?= {config['provider']['architecture']}" in makefile
    assert f"RUNTIME ?= {config['provider']['runtime']}" in makefile
    # Both handlers are in that zip.
    assert "--include handler.py --include orders.py" in makefile


# --- HTTP API example: the template ------------------------------------------------------------------


class StaticManagedPolicies:
    """Stands in for the IAM call that lists AWS managed policies: the transform never reaches AWS."""

    def load(self) -> dict[str, str]:
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        }


def http_api_template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    template: dict[str, Any] = yaml_parse((HTTP_API / "template.yaml").read_text())
    return template


def test_http_api_template_transforms_to_a_cached_iam_lambda_authorizer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    template = http_api_template()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://example-artifacts/orders.zip"
            resource.pop("Metadata", None)
    output = transform(
        template, {"UserPoolId": "eu-west-1_AbCdEf123", "AppClientIds": ["one"]}, StaticManagedPolicies()
    )
    resources = output["Resources"]
    api = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    body = api["Properties"]["Body"]
    authorizer = body["components"]["securitySchemes"]["CognitoAuthz"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    assert authorizer["authorizerPayloadFormatVersion"] == "2.0"
    # Absent means false (API Gateway's default): IAM answers, which API Gateway checks per route.
    assert authorizer.get("enableSimpleResponses", False) is False
    assert authorizer["authorizerResultTtlInSeconds"] == 300
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    routes = {f"{m.upper()} {p}" for p, ops in body["paths"].items() for m in ops}
    assert routes == {"GET /health", "GET /orders", "POST /orders", "GET /orders/{orderId}"}
    # Caching IAM answers per token is only right for a cache-safe policy.
    policy = Policy.from_file(HTTP_API / "policy.yaml")
    assert cache_safety(policy).safe
    assert routes <= {route.text for route in policy.routes}
    assert any(
        r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
        for r in resources.values()
    )


# --- HTTP API example: the functions -----------------------------------------------------------------


@pytest.fixture
def http_api_env(issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks))
    monkeypatch.setenv("USER_POOL_ID", issuer.user_pool_id)
    monkeypatch.setenv("APP_CLIENT_IDS", issuer.client_id)
    monkeypatch.setenv("JWKS_FILE", str(jwks))  # absolute: HERE / absolute == absolute


def test_http_api_authorizer_answers_with_a_principal_wide_iam_policy(
    http_api_env: None, issuer: LocalIssuer
) -> None:
    module = load_module(HTTP_API / "handler.py")
    reader = issuer.mint_access_token(username="rita", scopes=["orders/read"])
    event = demo_events.http_v2_authorizer_event(reader, "GET", "/orders/42")
    answer = module.handler(event, None)
    assert "isAuthorized" not in answer
    document = answer["policyDocument"]
    route_arn = event["routeArn"]
    assert iam_allows(document, route_arn)
    # The same cached answer, replayed by API Gateway on the token's other routes, decides them right.
    base = route_arn.rsplit("/GET/", 1)[0]
    assert iam_allows(document, f"{base}/GET/orders")
    assert not iam_allows(document, f"{base}/POST/orders")
    assert not iam_allows(document, f"{base}/GET/users/someone-else")
    assert answer["context"]["rules"] == '["read-orders"]'  # lists travel as JSON text


def test_http_api_function_trusts_the_authorizer_context(http_api_env: None) -> None:
    module = load_module(HTTP_API / "app.py")
    event = json.loads((ROOT / "tests" / "events" / "proxy_http_v2_lambda_auth.json").read_text())
    response = module.handler(event, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["id"] == "42"
    event["requestContext"].pop("authorizer")  # not behind the authorizer: no principal, no answer
    assert module.handler(event, None)["statusCode"] == 401


# --- CDK ---------------------------------------------------------------------------------------------

#: cfn-lint findings on CDK's own output that are CDK's choices, not the example's: every lambda.Function
#: gets an explicit DependsOn on its role although the GetAtt already orders them.
CDK_IGNORED = ("W3005",)


@pytest.mark.slow
def test_cdk_synth_passes_cfn_lint(tmp_path: Path) -> None:
    pytest.importorskip("aws_cdk", reason="the cdk extra: pip install -e '.[cdk]' (dev includes it)")
    out = tmp_path / "cdk.out"
    run([str(cdk_cli()), "synth", "--no-notices", "--quiet", "--output", str(out)], cwd=EXAMPLES / "cdk")
    template_path = out / "CognitoAuthzOrders.template.json"
    from cfnlint.api import ManualArgs, lint

    matches = lint(template_path.read_text(), config=ManualArgs(ignore_checks=list(CDK_IGNORED)))
    assert [str(match) for match in matches] == []
    template = json.loads(template_path.read_text())
    resources = template["Resources"]
    authorizer = next(r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["Type"] == "TOKEN"
    assert authorizer["Properties"]["AuthorizerResultTtlInSeconds"] == 300
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert {f["Handler"] for f in functions} == {"handler.handler", "orders.handler"}
    assert {f["Runtime"] for f in functions} == {"python3.12"}
    assert {tuple(f["Architectures"]) for f in functions} == {("arm64",)}
    methods = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Method"]
    assert len(methods) == 8
    assert all(m["AuthorizationType"] == "CUSTOM" for m in methods)
    # The asset CDK bundled is the function package: python3.12/aarch64 binaries, code and policy.
    (asset,) = [p for p in out.glob("asset.*") if p.is_dir()]
    assert_arm64_python312_function(asset, ("handler.py", "orders.py"))
