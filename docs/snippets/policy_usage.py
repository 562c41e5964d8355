"""Load a policy, decide, explain, enumerate and lint: run from the repository root."""

from cognito_authz import Policy, Principal

policy = Policy.from_file("examples/policies/design_example.yaml")

# A principal as the verifier returns it; Principal.from_claims normalizes claims from anywhere else.
carol = Principal.from_claims(
    {"sub": "user-7", "scope": "openid orders/read", "custom:tenant_id": "acme", "token_use": "access"}
)

decision = policy.decide(carol, "GET", "/orders/42")
print(decision.allowed, decision.reason, decision.rules, dict(decision.path_params))
print(decision.explain())

print(policy.explain(carol, "GET", "/tenants/globex/invoices"))

routes = policy.allowed_routes(carol)
for grant in routes.allowed:
    print("allow", grant.method, grant.path, "by", ", ".join(grant.rule_ids))
for grant in routes.denied:
    spared = [dict(e) for e in grant.except_params]
    print("deny ", grant.method, grant.path, "by", ", ".join(grant.rule_ids), "except", spared)
print(routes.permits("PUT", "/users/user-7"), routes.permits("PUT", "/users/user-8"))

print(policy.lint())  # [] : no findings
