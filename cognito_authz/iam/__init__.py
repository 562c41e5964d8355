"""IAM for API Gateway: execute-api ARNs, ``execute-api:Invoke`` policy documents, cache-safe policies.

``arn`` parses and builds method/route ARNs, ``document`` builds documents and evaluates them the way IAM
does, ``cache_safe`` turns a policy file and a principal into a document that stays correct when API
Gateway caches it for every route the same token calls.
"""

from __future__ import annotations

from cognito_authz.iam.arn import HTTP_VERBS, PARTITIONS, MethodArn
from cognito_authz.iam.cache_safe import (
    DEFAULT_MAX_BYTES,
    CacheSafety,
    PolicyResult,
    build_principal_policy,
    cache_safety,
    request_policy,
)
from cognito_authz.iam.document import (
    IAM_POLICY_VERSION,
    INVOKE_ACTION,
    Statement,
    document_size,
    glob_match,
    iam_allows,
    policy_document,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "HTTP_VERBS",
    "IAM_POLICY_VERSION",
    "INVOKE_ACTION",
    "PARTITIONS",
    "CacheSafety",
    "MethodArn",
    "PolicyResult",
    "Statement",
    "build_principal_policy",
    "cache_safety",
    "document_size",
    "glob_match",
    "iam_allows",
    "policy_document",
    "request_policy",
]
