"""Shared machinery of the hardening campaign: run length, the tally of what was tried, outcome checks.

Run length: the default run is bounded so the whole campaign fits in a couple of CPU-minutes on 2 cores.
``HYPOTHESIS_PROFILE=thorough`` (or ``HARDENING_LONG=1``) selects the long profile: more examples per
property, longer concurrency runs, more fault cycles. ``HARDENING_REPORT=path.json`` writes the tally.

The tally counts inputs, faults, operations and fetches per invariant; ``conftest.py`` prints it at the
end of the session and tests assert lower bounds on their own counts, so a property that silently ran
on nothing fails instead of passing.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings

from cognito_authz.errors import REASONS, AuthzError
from cognito_authz.token import b64url_encode
from tests.support.jwks_server import RsaKey

__all__ = [
    "LONG",
    "TALLY",
    "Tally",
    "assert_our_error",
    "fuzz_settings",
    "mint",
    "scaled",
    "seconds",
]

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "thorough" or os.environ.get("HARDENING_LONG") == "1"


def scaled(default: int, long: int) -> int:
    """``default`` in the normal run, ``long`` in the long profile."""
    return long if LONG else default


def seconds(default: float, long: float) -> float:
    """A duration: ``default`` in the normal run, ``long`` in the long profile."""
    return long if LONG else default


def fuzz_settings(default: int, long: int) -> settings:
    """Hypothesis settings for one property: a bounded example count, no deadline (2 shared cores)."""
    return settings(
        max_examples=scaled(default, long),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


class Tally:
    """Thread-safe named counters (``inputs:verify.arbitrary``, ``faults:reset``, ...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def maximum(self, name: str, value: int) -> None:
        """Keep the largest value seen (for figures such as 'bound' that are not sums)."""
        with self._lock:
            self._counts[name] = max(self._counts[name], value)

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


TALLY = Tally()


def assert_our_error(error: BaseException, *allowed: type[AuthzError]) -> None:
    """``error`` is one of ``allowed`` and defined in ``cognito_authz.errors`` (not a subclass made up
    elsewhere, not a raw pyjwt/requests/json exception)."""
    assert isinstance(error, allowed), f"{type(error).__module__}.{type(error).__name__}: {error!r}"
    assert type(error).__module__ == "cognito_authz.errors", type(error)
    reason = getattr(error, "reason", None)
    assert reason in REASONS, f"undocumented reason {reason!r}"


def mint(key: RsaKey, issuer: str, client: str, *, kid: str | None = None, **claims: Any) -> str:
    """A Cognito-shaped access token signed by ``key`` (RS256); ``kid`` overrides the header's kid and
    ``claims`` override or add claims. Valid for an hour from now unless ``exp``/``iat`` say otherwise."""
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "iss": issuer,
        "version": 2,
        "client_id": client,
        "token_use": "access",
        "scope": "orders/read",
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "username": "campaign",
    }
    body.update(claims)
    header = {"kid": kid if kid is not None else key.kid, "alg": "RS256"}
    signing_input = f"{b64url_encode(json.dumps(header).encode())}.{b64url_encode(json.dumps(body).encode())}"
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"
