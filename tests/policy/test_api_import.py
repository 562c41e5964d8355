"""Importing an API's route table from its deployment description (SAM, OpenAPI, serverless.yml), with
real files; the SAM translator (the code ``sam deploy`` runs) is the independent oracle for SAM."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cognito_authz.errors import PolicyError
from cognito_authz.policy.api_import import DEFAULT_ROUTE, import_routes, routes_from_data
from cognito_authz.policy.sources import load_file

SOURCES = Path(__file__).parent / "api_sources"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

ORDERS_EXAMPLE = (
    "GET /health",
    "GET /orders",
    "POST /orders",
    "GET /orders/{orderId}",
    "PUT /orders/{orderId}",
    "POST /orders/{orderId}/refund",
    "GET /users/{userId}",
    "PUT /users/{userId}",
)


def test_sam_rest_events_of_the_authorizer_example() -> None:
    table = import_routes(EXAMPLES / "authorizer" / "template.yaml")
    assert table.texts == ORDERS_EXAMPLE
    assert table.source.endswith("template.yaml")


def test_serverless_http_events_of_the_authorizer_example() -> None:
    assert import_routes(EXAMPLES / "authorizer" / "serverless.yml").texts == ORDERS_EXAMPLE


def test_sam_http_api_events_and_the_default_route() -> None:
    table = import_routes(SOURCES / "sam_http.yaml")
    assert table.texts == (
        "GET /files",
        "GET /files/{path+}",
        "PUT /files/{path+}",
        "ANY /admin/{proxy+}",
        *DEFAULT_ROUTE,
    )
    assert table.routable("DELETE", "/anything/at/all")  # $default catches the rest
    assert table.route_for("GET", "/files/a/b") is not None


def test_sam_with_two_apis_needs_a_choice() -> None:
    with pytest.raises(PolicyError, match="several APIs") as caught:
        import_routes(SOURCES / "sam_two_apis.yaml")
    assert caught.value.reason == "api_import_failed"
    orders = import_routes(SOURCES / "sam_two_apis.yaml", api="OrdersApi")
    # x-amazon-apigateway-any-method is ANY; the Api events add nothing to a REST API with its own
    # DefinitionBody (SAM merges them only with MergeDefinitions: true)
    assert orders.texts == ("GET /orders", "ANY /orders/{orderId}")
    assert import_routes(SOURCES / "sam_two_apis.yaml", api="ReportsApi").texts == ("GET /reports/{day}",)
    with pytest.raises(PolicyError, match="no API named 'Nope'"):
        import_routes(SOURCES / "sam_two_apis.yaml", api="Nope")


def test_openapi_rest_export() -> None:
    table = import_routes(SOURCES / "openapi_rest.json")
    assert table.texts == (
        "GET /",
        "GET /orders",
        "POST /orders",
        "OPTIONS /orders",
        "GET /orders/{orderId}",
        "DELETE /orders/{orderId}",
        "ANY /{proxy+}",
    )


def test_openapi_http_export_with_default_route() -> None:
    table = import_routes(SOURCES / "openapi_http.yaml")
    assert table.texts == ("GET /files", "GET /files/{path+}", *DEFAULT_ROUTE)


def test_serverless_with_two_apis() -> None:
    with pytest.raises(PolicyError, match="several APIs"):
        import_routes(SOURCES / "serverless_mixed.yml")
    assert import_routes(SOURCES / "serverless_mixed.yml", api="http").texts == (
        "GET /orders",
        "ANY /orders/{orderId}",
        "GET /",
    )
    assert import_routes(SOURCES / "serverless_mixed.yml", api="httpApi").texts == (
        "GET /files/{path+}",
        "POST /files",
        "ANY /admin",
        *DEFAULT_ROUTE,
    )


# --- the SAM translator as an oracle ----------------------------------------------------------------------


class StaticManagedPolicies:
    """Stands in for the IAM call that lists AWS managed policies: the transform never reaches AWS."""

    def load(self) -> dict[str, str]:
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        }


def translated(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://example-artifacts/code.zip"
    output: dict[str, Any] = transform(template, parameters, StaticManagedPolicies())
    return output


@pytest.mark.parametrize(
    ("template", "parameters", "api"),
    [
        (
            EXAMPLES / "authorizer" / "template.yaml",
            {"UserPoolId": "eu-west-1_AbCdEf123", "AppClientIds": ["c1"]},
            None,
        ),
        (SOURCES / "sam_http.yaml", {}, None),
        (SOURCES / "sam_two_apis.yaml", {}, "OrdersApi"),
        (SOURCES / "sam_two_apis.yaml", {}, "ReportsApi"),
        (SOURCES / "sam_merged.yaml", {}, "OrdersApi"),
    ],
)
def test_sam_import_agrees_with_the_sam_translator(
    monkeypatch: pytest.MonkeyPatch, template: Path, parameters: dict[str, Any], api: str | None
) -> None:
    """Importing the SAM template directly gives the same routes as importing the CloudFormation the SAM
    translator makes of it (AWS::ApiGateway::RestApi / AWS::ApiGatewayV2::Api bodies)."""
    from samtranslator.yaml_helper import yaml_parse

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # the translator reads the region name only
    source = yaml_parse(template.read_text())
    direct = routes_from_data(load_file(template, cloudformation=True), str(template), api=api)
    output = translated(source, parameters)
    apis = {
        name: resource
        for name, resource in output["Resources"].items()
        if resource["Type"] in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")
    }
    name = api if api is not None else next(iter(apis))
    via_translator = routes_from_data({"Resources": {name: apis[name]}}, "translated", api=name)
    assert set(direct.texts) == set(via_translator.texts)


# --- what cannot be read with certainty is an error ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Events": {
            "E": {"Type": "Api", "Properties": {"Path": {"Fn::Sub": "/${Stage}/x"}, "Method": "get"}}}}}}},
         "not a literal path"),
        ({"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Events": {
            "E": {"Type": "Api", "Properties": {"Path": "/x", "Method": "propfind"}}}}}}},
         "not an HTTP verb"),
        ({"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Events": {
            "E": {"Type": "Api", "Properties": {"Path": "/x/{ id}", "Method": "get"}}}}}}},
         "not a valid path parameter"),
        ({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}, "no API routes found"),
        ({"functions": {"f": {"events": [{"http": {"path": "${self:custom.base}/x", "method": "get"}}]}}},
         "not a literal path"),
        ({"functions": {"f": {"events": [{"httpApi": 42}]}}}, "must be a string"),
        ({"openapi": "3.0.1", "paths": {"/x": "nope"}}, "a path item must be a mapping"),
        ({"openapi": "3.0.1"}, "not a SAM/CloudFormation template"),
        ([1, 2], "expected a mapping"),
        ({"Resources": {"A": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionUri": "spec.yaml"}}}},
         "not a local file"),
    ],
)  # fmt: skip
def test_unreadable_definitions_are_errors(data: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        routes_from_data(data, "api.yaml")
    assert caught.value.reason == "api_import_failed"
    assert caught.value.source == "api.yaml"


def test_merge_definitions_adds_the_api_events() -> None:
    # a trailing slash on an event path is dropped: it routes like none
    assert import_routes(SOURCES / "sam_merged.yaml", api="OrdersApi").texts == (
        "GET /orders",
        "ANY /orders/{orderId}",
        "POST /orders",
        "POST /orders/{orderId}/refund",
    )


def test_definition_uri_and_include_read_local_files(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps({"openapi": "3.0.1", "paths": {"/a": {"get": {}}}}))
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  A:\n    Type: AWS::Serverless::Api\n    Properties: {StageName: p, DefinitionUri: spec.json}\n"
        "  B:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      DefinitionBody:\n"
        "        Fn::Transform: {Name: AWS::Include, Parameters: {Location: spec.json}}\n"
    )
    assert import_routes(tmp_path / "template.yaml", api="A").texts == ("GET /a",)
    assert import_routes(tmp_path / "template.yaml", api="B").texts == ("GET /a",)


def test_an_api_without_routes_is_not_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("Resources:\n  A:\n    Type: AWS::Serverless::Api\n")
    with pytest.raises(PolicyError, match="no routes"):
        import_routes(tmp_path / "t.yaml", api="A")


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        import_routes(tmp_path / "absent.yaml")
    assert caught.value.reason == "policy_unreadable"
