"""Export a policy to Cedar, answer requests with Cedar's own evaluator (cedarpy, offline), and build the
Verified Permissions IsAuthorized call for one of them: run from the repository root."""

import json

import cedarpy

from cognito_authz import Policy, Principal
from cognito_authz.export.cedar import cedar_request, export_cedar

policy = Policy.from_file("examples/policies/demo.yaml")
export = export_cedar(policy, namespace="Tracker")

# The principal our verifier returns for a verified token (here built from claims).
alice = Principal.from_claims(
    {"sub": "alice", "cognito:groups": ["member"], "scope": "projects/read", "custom:tenant_id": "acme"}
)
for method, path in [("GET", "/tenants/acme/projects"), ("GET", "/tenants/globex/projects"),
                     ("POST", "/tenants/acme/projects")]:  # fmt: skip
    built = cedar_request(export, alice, method, path)
    assert built is not None  # None: a request no route can match (deny it)
    answer = cedarpy.is_authorized(built.request, export.policies, built.entities, export.schema_json())
    ours = policy.decide(alice, method, path)
    print(f"{method} {path}: cedar {answer.decision.value}, decide {'Allow' if ours.allowed else 'Deny'}")

# What an authorizer would send to Verified Permissions instead (boto3: client.is_authorized(**arguments)).
arguments = cedar_request(export, alice, "GET", "/tenants/acme/projects").is_authorized_arguments("PSEXAMPLE")
print(json.dumps({key: value for key, value in arguments.items() if key != "entities"}, indent=2))
