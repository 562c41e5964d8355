"""Cognito pre token generation trigger (event version 2 or 3) for the tenant-isolation policy next to it.

Stock access tokens carry no user attributes, so the policy's ``custom:tenant_id`` condition would never
hold on them. This handler, built from the same reviewed policy file, copies the attributes the policy
compares into access tokens (here ``custom:tenant_id``) and grants the support group its scope. Deploy
it as the user pool's pre token generation trigger with event version V2_0 (or V3_0 to also see
client-credentials tokens): see template.yaml or serverless.yml, and docs/id-vs-access-tokens.md.
"""

from __future__ import annotations

from pathlib import Path

from cognito_authz import Policy
from cognito_authz.triggers import PreTokenGenerationTrigger

POLICY = Policy.from_file(Path(__file__).with_name("policy.json"))

handler = PreTokenGenerationTrigger.from_policy(
    POLICY,
    # copy_attributes defaults to what the policy compares and access tokens lack: ["custom:tenant_id"]
    scopes_by_group={"support": ["tickets/read"]},
)
