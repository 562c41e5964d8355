"""Smoke test of the benchmark entry point: ``python -m bench --quick --json`` runs and prints every row.

Only presence and shape are checked: timings belong to the bench's own table (docs/performance.md), and
a test that asserted them would fail on a busy machine and pass on a fast one for the wrong reasons.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import callgrind
from tests.support.tools import debian_program

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
    "cedarpy is_authorized (pre-parsed), 10 rules",
    "cedarpy is_authorized (pre-parsed), 1,000 rules",
    "casbin enforce (keyMatch2), 10 rules",
    "casbin enforce (keyMatch2), 1,000 rules",
    "authorizer, REST TOKEN event (fresh tokens, distinct users)",
    "authorizer, REST TOKEN event (fresh tokens, distinct users, distinct paths)",
    "authorizer, REST TOKEN event (repeated token)",
    "authorizer, HTTP API 2.0 event (fresh tokens, distinct users)",
    "authorizer, HTTP API 2.0 event (repeated token)",
    "cold start: python -c pass",
    'cold start: python -c "import jwt"',
    "cold start: import cognito_authz",
    "cold start: authorizer from policy.yaml + bundled JWKS",
    "cold start: authorizer from policy.json + bundled JWKS",
    "cold start: python-jose: from jose import jwt",
    "cold start: joserfc: from joserfc import jwt",
    "cold start: authlib: from authlib.jose import JsonWebToken",
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
    "verify, fresh token (distinct tokens, cache missing)": 1.7,
    "verify, fresh token (token cache off)": 1.7,
    "verify, repeated token (cache hit)": 0.1,
    "decide, 1,000 rules": 0.25,
    "decide, 10,000 rules vs 10": 1.5,
    "authorizer, REST TOKEN event (fresh tokens, distinct users)": 2.5,
    "authorizer, REST TOKEN event (fresh tokens, distinct users, distinct paths)": 2.5,
    "authorizer, REST TOKEN event (repeated token)": 1.0,
    "authorizer, HTTP API 2.0 event (fresh tokens, distinct users)": 2.5,
    "authorizer, HTTP API 2.0 event (repeated token)": 1.0,
    "cold start: authorizer from policy.yaml + bundled JWKS": 0.7,
    "cold start: authorizer from policy.json + bundled JWKS": 0.5,
}


@pytest.mark.slow
def test_quick_bench_prints_every_row(tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", "--png", str(chart)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    # An IAM row's name ends with what the proof gave, "(exact)" or "(request: analysis_budget)".
    rows = {
        row["name"].split(" (")[0] if row["group"] == "iam" else row["name"]: row for row in report["rows"]
    }
    assert list(rows) == EXPECTED
    for name, row in rows.items():
        assert row["median"] > 0, name
        assert row["ratio"] > 0, name
        if row["group"] == "iam":  # 5 ms, as a ratio to the run's floor
            assert row["budget"] == pytest.approx(5000 / row["extra"]["floor_us"]), name
            continue
        assert row["budget"] == BUDGETED.get(name), name
        assert row["passed"] is None if row["budget"] is None else isinstance(row["passed"], bool), name
    assert report["environment"]["python"]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the bench drew the chart (matplotlib)


@pytest.mark.slow
def test_callgrind_mode_counts_every_case() -> None:
    """Instruction counts per call, exact on a loaded machine (valgrind: installed by .ci/run, or here
    with apt-get when running as root; never a silent skip under CI)."""
    debian_program("valgrind", "valgrind")
    counts = {count.name: count for count in callgrind.run(quick=True, cold=False)}
    assert list(counts) == list(callgrind.CASES)
    floor = counts["floor: cryptography RSA-SHA256 PKCS1v15 verify (2048-bit)"]
    assert floor.ratio == 1.0
    assert floor.instructions > 50_000  # an RSA-2048 verify, not an empty harness
    for count in counts.values():
        assert count.instructions > 0, count
        assert count.ratio == pytest.approx(count.instructions / floor.instructions)
    # Structure, not speed: a fresh verify does the floor's work and more; a cache hit skips the RSA.
    fresh = counts["verify, fresh token (distinct tokens, cache missing)"]
    repeated = counts["verify, repeated token (cache hit)"]
    assert fresh.instructions > floor.instructions > repeated.instructions


def test_worst_token_scan_runs_and_reports_the_costliest_shapes() -> None:
    """bench/iam_worst_tokens.py (the note's worst-case figures) runs; its numbers are read, not asserted."""
    command = [sys.executable, "-m", "bench.iam_worst_tokens"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "token shapes; the costliest first" in run.stdout
    assert "largest memory peak:" in run.stdout
