"""Read an API's route table from its deployment description: a SAM (or CloudFormation) template, an
OpenAPI 3 or Swagger 2 export, or a Serverless Framework ``serverless.yml``.

What each source contributes:

* **SAM / CloudFormation**: ``Api`` and ``HttpApi`` events of ``AWS::Serverless::Function`` resources
  (an ``HttpApi`` event without ``Path`` and ``Method`` is the ``$default`` route; an ``Api`` event adds
  nothing to a REST API that has its own definition, unless it sets ``MergeDefinitions``, as SAM
  deploys it); the inline
  ``DefinitionBody`` (or a local ``DefinitionUri`` / ``AWS::Include`` file) of
  ``AWS::Serverless::Api`` and ``AWS::Serverless::HttpApi``; the ``Body`` of ``AWS::ApiGateway::RestApi``
  and ``AWS::ApiGatewayV2::Api``; ``AWS::ApiGatewayV2::Route`` resources. Events go to the API their
  ``RestApiId``/``ApiId`` names, or to SAM's implicit ``ServerlessRestApi``/``ServerlessHttpApi``.
* **OpenAPI / Swagger**: ``paths``, one route per operation; ``x-amazon-apigateway-any-method`` is
  ``ANY``; an HTTP API export's ``$default`` path is the ``$default`` route.
* **serverless.yml**: ``http`` (REST API) and ``httpApi`` (HTTP API) events of ``functions``, in object
  or string form; ``httpApi: '*'`` is the ``$default`` route.

The ``$default`` route catches every request no other route matches, so it becomes ``ANY /`` and
``ANY /{proxy+}``. One trailing slash on a path is dropped (it routes like none). A file describing
several APIs needs ``api=`` to say which one. Anything that cannot be read with certainty (a path given
as a CloudFormation expression, a Serverless variable, an unknown verb) is an error naming the place,
never a silently smaller table. Resources built one by one (``AWS::ApiGateway::Resource`` and
``Method`` trees) are not read: export the API as OpenAPI instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cognito_authz.errors import PolicyError
from cognito_authz.policy.api_table import ApiTable
from cognito_authz.policy.routes import Route
from cognito_authz.policy.sources import load_file
from cognito_authz.routing import STANDARD_VERBS

__all__ = ["DEFAULT_ROUTE", "import_routes", "routes_from_data"]

#: What API Gateway's ``$default`` route catches, in route syntax.
DEFAULT_ROUTE: tuple[str, ...] = ("ANY /", "ANY /{proxy+}")
#: OpenAPI's operation keys (lower-case verbs) and API Gateway's extension for ANY.
_OPENAPI_OPERATIONS = {verb.lower(): verb for verb in STANDARD_VERBS} | {
    "x-amazon-apigateway-any-method": "ANY"
}
_IMPLICIT_REST = "ServerlessRestApi"
_IMPLICIT_HTTP = "ServerlessHttpApi"


class _Collector:
    """Routes per API, in the order found."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.apis: dict[str, list[str]] = {}

    def fail(self, where: str, message: str) -> PolicyError:
        return PolicyError(message, reason="api_import_failed", source=self.source, field=where)

    def add(self, api: str, method: object, path: object, where: str) -> None:
        verb = _verb(method)
        if verb is None:
            raise self.fail(where, f"method {method!r} is not an HTTP verb API Gateway routes (or ANY)")
        text = _path(path)
        if text is None:
            raise self.fail(
                where, f"path {path!r} is not a literal path (a CloudFormation expression or variable?)"
            )
        route = f"{verb} {text}"
        try:
            Route.parse(route)
        except PolicyError as exc:
            raise self.fail(where, exc.message) from None
        self.apis.setdefault(api, []).append(route)

    def add_default(self, api: str) -> None:
        self.apis.setdefault(api, []).extend(DEFAULT_ROUTE)

    def openapi(self, api: str, document: object, where: str) -> None:
        if not isinstance(document, Mapping):
            raise self.fail(where, "an OpenAPI definition must be a mapping")
        paths = document.get("paths")
        if not isinstance(paths, Mapping):
            raise self.fail(where, "an OpenAPI definition needs a 'paths' mapping")
        self.apis.setdefault(api, [])
        for path, operations in paths.items():
            if path == "$default":
                self.add_default(api)
                continue
            if not isinstance(operations, Mapping):
                raise self.fail(f"{where}.paths.{path}", "a path item must be a mapping")
            for key in operations:
                verb = _OPENAPI_OPERATIONS.get(str(key).lower())
                if verb is not None:
                    self.add(api, verb, path, f"{where}.paths.{path}.{key}")

    def table(self, api: str | None) -> ApiTable:
        found = {name: routes for name, routes in self.apis.items() if routes}
        if api is not None:
            if api not in self.apis:
                known = ", ".join(sorted(self.apis)) or "none"
                raise self.fail("api", f"no API named {api!r} (found: {known})")
            if not self.apis[api]:
                raise self.fail("api", f"API {api!r} has no routes this file describes")
            return ApiTable.parse(self.apis[api], source=self.source)
        if not found:
            raise self.fail("(document)", "no API routes found")
        if len(found) > 1:
            names = ", ".join(found)
            raise self.fail(
                "api", f"the file describes several APIs ({names}): choose one (--api-id NAME, or api=NAME)"
            )
        (routes,) = found.values()
        return ApiTable.parse(routes, source=self.source)


def import_routes(path: str | Path, *, api: str | None = None) -> ApiTable:
    """The route table of the API described by ``path`` (``.yaml``, ``.yml``, ``.json``).

    ``api`` names one API when the file has several: a SAM/CloudFormation logical id (``MyApi``, or the
    implicit ``ServerlessRestApi`` / ``ServerlessHttpApi``), or ``http`` / ``httpApi`` in a
    serverless.yml. Raises :class:`PolicyError` (reason ``api_import_failed``, or the file's read error).
    """
    data = load_file(path, what="API definition", cloudformation=True)
    return routes_from_data(data, str(path), api=api, base=Path(path).parent)


def routes_from_data(
    data: object, source: str = "<api>", *, api: str | None = None, base: Path | None = None
) -> ApiTable:
    """:func:`import_routes` for already parsed data. ``base`` is where relative files (``DefinitionUri``,
    ``AWS::Include``) are looked up; without it they are an error."""
    collector = _Collector(source)
    if not isinstance(data, Mapping):
        raise collector.fail(
            "(document)", "expected a mapping (a SAM template, OpenAPI export or serverless.yml)"
        )
    if isinstance(data.get("Resources"), Mapping):
        _sam(collector, data["Resources"], base)
    elif "paths" in data and ("openapi" in data or "swagger" in data):
        collector.openapi("openapi", data, "(document)")
    elif isinstance(data.get("functions"), Mapping):
        _serverless(collector, data["functions"])
    else:
        raise collector.fail(
            "(document)",
            "not a SAM/CloudFormation template (Resources), an OpenAPI export (openapi/swagger and paths) "
            "or a serverless.yml (functions)",
        )
    return collector.table(api)


# --- SAM and CloudFormation ----------------------------------------------------------------------------


def _sam(collector: _Collector, resources: Mapping[str, Any], base: Path | None) -> None:
    # A REST API with its own definition gets no routes from Api events unless MergeDefinitions is set:
    # SAM adds an event's path to the definition only when SAM writes the definition itself (the SAM
    # translator's Api event source, samtranslator/model/eventsources/push.py). HttpApi events are
    # always added.
    own_definition = {
        name
        for name, resource in resources.items()
        if isinstance(resource, Mapping)
        and resource.get("Type") == "AWS::Serverless::Api"
        and isinstance(resource.get("Properties"), Mapping)
        and (
            resource["Properties"].get("DefinitionBody") is not None
            or resource["Properties"].get("DefinitionUri") is not None
        )
        and not resource["Properties"].get("MergeDefinitions")
    }
    for name, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        if not isinstance(properties, Mapping):
            raise collector.fail(f"Resources.{name}.Properties", "must be a mapping")
        where = f"Resources.{name}"
        if kind == "AWS::Serverless::Function":
            _function_events(collector, name, properties.get("Events") or {}, own_definition)
        elif kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
            collector.apis.setdefault(name, [])
            body = properties.get("DefinitionBody")
            if body is None and isinstance(properties.get("DefinitionUri"), str):
                body = _local_file(collector, properties["DefinitionUri"], base, f"{where}.DefinitionUri")
            if body is not None:
                collector.openapi(name, _included(collector, body, base, where), f"{where}.DefinitionBody")
        elif kind in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
            collector.apis.setdefault(name, [])
            if properties.get("Body") is not None:
                collector.openapi(
                    name, _included(collector, properties["Body"], base, where), f"{where}.Body"
                )
        elif kind == "AWS::ApiGatewayV2::Route":
            api = _logical_id(properties.get("ApiId"))
            key = properties.get("RouteKey")
            if api is None or not isinstance(key, str):
                raise collector.fail(where, "ApiId must be a !Ref and RouteKey a literal string")
            if key == "$default":
                collector.add_default(api)
            elif key.startswith("$"):
                collector.apis.setdefault(api, []).append(key)  # a WebSocket route key
            else:
                method, _, path = key.partition(" ")
                collector.add(api, method, path, f"{where}.RouteKey")


def _function_events(collector: _Collector, function: str, events: object, own_definition: set[str]) -> None:
    if not isinstance(events, Mapping):
        raise collector.fail(f"Resources.{function}.Properties.Events", "must be a mapping")
    for event_name, event in events.items():
        if not isinstance(event, Mapping):
            continue
        kind = event.get("Type")
        if kind not in ("Api", "HttpApi"):
            continue
        where = f"Resources.{function}.Properties.Events.{event_name}"
        properties = event.get("Properties") or {}
        if not isinstance(properties, Mapping):
            raise collector.fail(where, "Properties must be a mapping")
        if kind == "Api":
            api = _logical_id(properties.get("RestApiId")) if "RestApiId" in properties else _IMPLICIT_REST
        else:
            api = _logical_id(properties.get("ApiId")) if "ApiId" in properties else _IMPLICIT_HTTP
        if api is None:
            raise collector.fail(where, "the API must be given as !Ref LogicalId")
        if kind == "Api" and api in own_definition:
            continue  # the API's own definition decides its routes (see _sam)
        if kind == "HttpApi" and "Path" not in properties and "Method" not in properties:
            collector.add_default(api)
            continue
        collector.add(api, properties.get("Method"), properties.get("Path"), where)


def _logical_id(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    return None


def _included(collector: _Collector, body: object, base: Path | None, where: str) -> object:
    """``Fn::Transform: {Name: AWS::Include, Parameters: {Location: file}}`` read from a local file."""
    if isinstance(body, Mapping) and "Fn::Transform" in body:
        transform = body["Fn::Transform"]
        location = None
        if isinstance(transform, Mapping) and transform.get("Name") == "AWS::Include":
            parameters = transform.get("Parameters")
            if isinstance(parameters, Mapping):
                location = parameters.get("Location")
        if not isinstance(location, str):
            raise collector.fail(where, "only an AWS::Include transform with a Location can be read")
        return _local_file(collector, location, base, where)
    return body


def _local_file(collector: _Collector, location: str, base: Path | None, where: str) -> object:
    if base is None or "://" in location:
        raise collector.fail(where, f"{location!r} is not a local file next to the template")
    return load_file(base / location, what="API definition", cloudformation=True)


# --- serverless.yml ------------------------------------------------------------------------------------


def _serverless(collector: _Collector, functions: Mapping[str, Any]) -> None:
    for function, spec in functions.items():
        events = spec.get("events") if isinstance(spec, Mapping) else None
        if events is None:
            continue
        if not isinstance(events, list):
            raise collector.fail(f"functions.{function}.events", "must be a list")
        for index, event in enumerate(events):
            if not isinstance(event, Mapping):
                continue
            where = f"functions.{function}.events[{index}]"
            for kind in ("http", "httpApi"):
                if kind in event:
                    _serverless_event(collector, kind, event[kind], f"{where}.{kind}")


def _serverless_event(collector: _Collector, kind: str, spec: object, where: str) -> None:
    method: object
    path: object
    if isinstance(spec, str):
        if kind == "httpApi" and spec.strip() == "*":
            collector.add_default(kind)
            return
        method, _, path = spec.strip().partition(" ")
    elif isinstance(spec, Mapping):
        method, path = spec.get("method"), spec.get("path")
        if kind == "httpApi" and method is None and path is None:
            collector.add_default(kind)
            return
    else:
        raise collector.fail(
            where, "must be a string such as 'GET /orders' or a mapping with path and method"
        )
    if isinstance(path, str) and not path.startswith("/") and "${" not in path:
        path = "/" + path  # the Framework accepts http paths without the leading slash
    collector.add(kind, method, path, where)


# --- shared ----------------------------------------------------------------------------------------


def _verb(method: object) -> str | None:
    if not isinstance(method, str):
        return None
    upper = method.strip().upper()
    if upper in ("ANY", "*", "X-AMAZON-APIGATEWAY-ANY-METHOD"):
        return "ANY"
    return upper if upper in STANDARD_VERBS else None


def _path(path: object) -> str | None:
    if not isinstance(path, str) or not path.startswith("/") or "${" in path:
        return None
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]  # one trailing slash routes like none
    return path
