"""What every bench module shares: the run settings, the floor, and one row of the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from bench._timing import Measurement, measure
from cognito_authz.testing import LocalIssuer
from cognito_authz.token import parse_token

__all__ = ["FLOOR", "Row", "Setup", "floor_row"]

FLOOR = "floor: cryptography RSA-SHA256 PKCS1v15 verify (2048-bit)"


@dataclass(slots=True)
class Row:
    """One line of the table. ``ratio`` is ``median / reference`` where ``against`` names the reference
    (the floor, ``import jwt`` or the 10-rule decide); ``budget`` is the docs/performance.md ceiling for
    that ratio, ``None`` for rows shown for comparison only."""

    group: str
    name: str
    median: float
    unit: str
    ratio: float
    against: str
    budget: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        """``True``/``False`` against the budget; ``None`` when the row has none."""
        return None if self.budget is None else self.ratio <= self.budget

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``passed`` included)."""
        return {**asdict(self), "passed": self.passed}


@dataclass(slots=True)
class Setup:
    """Settings of one run plus the fixtures every module shares: the issuer, a Cognito-sized access
    token and the floor, i.e. the bare RSA verify of that token's signature with a prebuilt key."""

    quick: bool
    peers: bool = True
    issuer: LocalIssuer = field(init=False)
    token: str = field(init=False)
    floor: Callable[[], object] = field(init=False)

    def __post_init__(self) -> None:
        self.issuer = LocalIssuer(serve=False)
        # A typical Cognito access token: two groups, two scopes, ~1 KiB once signed.
        self.token = self.issuer.mint_access_token(
            groups=["admin", "support"], scopes=["orders/read", "orders/write"]
        )
        parsed = parse_token(self.token, algorithms={"RS256"})
        public = self.issuer.private_key().public_key()
        signature, signing_input = parsed.signature, parsed.signing_input
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
        self.floor = lambda: public.verify(signature, signing_input, pkcs1, sha256)

    @property
    def rounds(self) -> int:
        """Timing rounds per case (each round: one block of the case and one of the floor)."""
        return 5 if self.quick else 21

    @property
    def block_seconds(self) -> float:
        """Target length of one timing block."""
        return 0.004 if self.quick else 0.04

    def against_floor(self, fn: Callable[[], object]) -> Measurement:
        """Time ``fn`` interleaved with the floor."""
        return measure(fn, self.floor, rounds=self.rounds, block_seconds=self.block_seconds)


def floor_row(setup: Setup) -> Row:
    """The floor itself, timed against a second copy of itself (its ratio is 1 by construction)."""
    measured = setup.against_floor(setup.floor)
    return Row("floor", FLOOR, measured.reference_us, "us", 1.0, "floor")
