"""A naive IAM evaluator for tests, written apart from the library: each Resource is one regular
expression over the whole ARN (``*`` any run of characters, ``?`` one character), an explicit Deny wins,
no Allow denies. Nothing here imports the builder or its matcher."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=100_000)
def _regex(resource: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource), re.S
    )


def naive_allows(document: dict[str, Any], arn: str) -> bool:
    allowed = False
    for statement in document["Statement"]:
        assert statement["Action"] == "execute-api:Invoke"
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            assert len(resource) <= 512
            if _regex(resource).fullmatch(arn):
                if statement["Effect"] == "Deny":
                    return False
                allowed = True
    return allowed
