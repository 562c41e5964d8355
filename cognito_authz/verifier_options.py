"""Normalizing :class:`~cognito_authz.verifier.CognitoVerifier`'s constructor options.

Each option a user may pass as a string, a list or a per-pool mapping becomes one normalized form here,
and every mistake is a :class:`~cognito_authz.errors.ConfigError` at construction time, never a surprise
on the first request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

from cognito_authz.errors import ConfigError

__all__ = ["option_names", "option_number", "per_pool", "replica_regions_of"]


def option_names(value: str | Sequence[str] | None, what: str) -> tuple[str, ...] | None:
    """Normalize a ``str | list[str] | None`` option; an empty list is a mistake, not an opt-out."""
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else value
    if isinstance(items, (bytes, Mapping)) or not isinstance(items, (Sequence, AbstractSet)):
        raise ConfigError(f"{what} must be a string or a list of strings")
    result = tuple(items)
    if not result:
        raise ConfigError(f"{what} is empty; pass None to opt out explicitly")
    for item in result:
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{what} must contain non-empty strings")
    return tuple(sorted(result)) if isinstance(items, AbstractSet) else result  # sets: a stable order


def per_pool(value: str | Mapping[str, str] | None, what: str, pool_ids: tuple[str, ...]) -> dict[str, str]:
    """Spread a single-pool override (str) or a ``{pool_id: value}`` mapping over the configured pools."""
    if value is None:
        return {}
    if isinstance(value, str):
        if len(pool_ids) != 1:
            raise ConfigError(f"with several user pools, {what} must be a mapping of pool id to value")
        return {pool_ids[0]: value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be a string or a mapping of pool id to string")
    unknown = set(value) - set(pool_ids)
    if unknown:
        raise ConfigError(f"{what} names pools that are not configured: {sorted(unknown)}")
    for item in value.values():
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{what} values must be non-empty strings")
    return dict(value)


def replica_regions_of(
    value: Sequence[str] | Mapping[str, Sequence[str]], pool_ids: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Spread ``replica_regions`` (a list for a single pool, else ``{pool_id: [regions]}``) over the pools."""
    if isinstance(value, Mapping):
        unknown = set(value) - set(pool_ids)
        if unknown:
            raise ConfigError(f"replica_regions names pools that are not configured: {sorted(unknown)}")
        spread = dict(value)
    elif not value:
        return {}
    elif len(pool_ids) != 1:
        raise ConfigError("with several user pools, replica_regions must be a mapping of pool id to regions")
    else:
        spread = {pool_ids[0]: value}
    result: dict[str, tuple[str, ...]] = {}
    for pool_id, regions in spread.items():
        names = option_names(regions, "replica_regions")
        if names:
            result[pool_id] = names
    return result


def option_number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return number
