"""Smoke test of the benchmark entry point: ``python -m bench --quick --json`` runs and prints every row.

Only presence and shape are checked: timings belong to the bench's own table (DESIGN.md section 8), and
a test that asserted them would fail on a busy machine and pass on a fast one for the wrong reasons.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = [
    "floor: cryptography RSA-SHA256 PKCS1v15 verify (2048-bit)",
    "pyjwt jwt.decode (prebuilt key)",
    "python-jose jwt.decode",
    "joserfc jwt.decode + claims registry",
    "authlib JsonWebToken.decode + validate",
    "verify, fresh token (distinct tokens, cache missing)",
    "verify, fresh token (token cache off)",
    "verify, repeated token (cache hit)",
    "decide, 10 rules",
    "decide, 100 rules",
    "decide, 1,000 rules",
    "decide, 10,000 rules",
    "decide, 10,000 rules vs 10",
    "authorizer, REST TOKEN event (fresh tokens, distinct users)",
    "authorizer, REST TOKEN event (repeated token)",
    "authorizer, HTTP API 2.0 event (fresh tokens, distinct users)",
    "authorizer, HTTP API 2.0 event (repeated token)",
    "cold start: python -c pass",
    'cold start: python -c "import jwt"',
    "cold start: import cognito_authz",
    "cold start: authorizer from policy.yaml + bundled JWKS",
    "cold start: authorizer from policy.json + bundled JWKS",
    *(
        f"iam first proof, 300 routes: {name}"
        for name in (
            "admin",
            "reader of one service",
            "writer of three services",
            "tenant member",
            "no group",
        )
    ),
]
BUDGETED = {
    "verify, fresh token (distinct tokens, cache missing)": 2.0,
    "verify, fresh token (token cache off)": 2.0,
    "verify, repeated token (cache hit)": 0.2,
    "decide, 1,000 rules": 0.25,
    "decide, 10,000 rules vs 10": 1.5,
    "authorizer, REST TOKEN event (fresh tokens, distinct users)": 3.0,
    "authorizer, HTTP API 2.0 event (fresh tokens, distinct users)": 3.0,
    "cold start: authorizer from policy.yaml + bundled JWKS": 1.2,
}


@pytest.mark.slow
def test_quick_bench_prints_every_row() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    rows = {row["name"]: row for row in report["rows"]}
    assert list(rows) == EXPECTED
    for name, row in rows.items():
        assert row["median"] > 0, name
        assert row["ratio"] > 0, name
        assert row["budget"] == BUDGETED.get(name), name
        assert row["passed"] is None if row["budget"] is None else isinstance(row["passed"], bool), name
    assert report["environment"]["python"]
