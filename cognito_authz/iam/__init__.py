"""IAM for API Gateway: execute-api ARNs, ``execute-api:Invoke`` policy documents, cache-safe policies.

``arn`` parses and builds method/route ARNs, ``document`` builds documents and evaluates them the way IAM
does. Principal-wide documents (safe to cache per token) are split in two: the part soundness rests on
(``patterns``, ``classes``, ``world``, ``check``, ``renaming``) and the part that only makes it fast or
complete (``choice``: candidate globs and the cover; ``builder``: proofs, memo, answers; ``safety``:
lint's verdict). The argument is in
``docs/architecture.md``, "Cached authorizer answers are exact".
"""

from __future__ import annotations

from cognito_authz.iam.arn import HTTP_VERBS, PARTITIONS, MethodArn
from cognito_authz.iam.builder import (
    DEFAULT_MAX_BYTES,
    MAX_RESOURCE_LENGTH,
    PolicyResult,
    build_principal_policy,
    clear_memo,
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
from cognito_authz.iam.safety import CacheSafety, cache_safety

__all__ = [
    "DEFAULT_MAX_BYTES",
    "HTTP_VERBS",
    "IAM_POLICY_VERSION",
    "INVOKE_ACTION",
    "MAX_RESOURCE_LENGTH",
    "PARTITIONS",
    "CacheSafety",
    "MethodArn",
    "PolicyResult",
    "Statement",
    "build_principal_policy",
    "cache_safety",
    "clear_memo",
    "document_size",
    "glob_match",
    "iam_allows",
    "policy_document",
    "request_policy",
]
