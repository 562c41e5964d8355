"""ORIGINAL and UPDATED issuers, replica regions, partitions, hydrate() and load_jwks() per issuer.

Each issuer form gets its own loopback JWKS server (``JwksServer``, independent of the library); a
fetcher routes the real Cognito JWKS URLs the verifier derives to those servers, so the verifier's own
choice of URL per issuer is what is tested.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.errors import REASONS, ConfigError, JwksError, UnknownIssuerError, UnknownKeyError
from cognito_authz.jwks import HttpFetcher
from cognito_authz.partitions import issuer_url, partition_of, pool_region
from cognito_authz.testing import LocalIssuer
from tests.support.jwks_server import Fault, JwksServer

POOL = "eu-west-1_AbCdEf123"
CLIENT = "issuerformsclient000000000"
ORIGINAL = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
UPDATED = f"https://issuer-cognito-idp.eu-west-1.amazonaws.com/{POOL}"
REPLICA = f"https://cognito-idp.eu-central-1.amazonaws.com/{POOL}"


class RoutedFetcher:
    """Fetch a Cognito JWKS URL from the loopback server standing in for it; log every URL asked for."""

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = routes
        self.asked: list[str] = []
        self._http = HttpFetcher(allow_http=True, timeout=3)

    def __call__(self, uri: str) -> Any:
        self.asked.append(uri)
        if uri not in self.routes:
            raise JwksError(f"no route for {uri}", reason="jwks_fetch_failed")
        return self._http(self.routes[uri])


def jwks_url(issuer: str) -> str:
    return f"{issuer}/.well-known/jwks.json"


@pytest.fixture
def original() -> LocalIssuer:
    return LocalIssuer(POOL, client_id=CLIENT, serve=False)


@pytest.fixture
def updated() -> LocalIssuer:
    # Its own keys, so a key looked up in the wrong issuer's JWKS cannot verify.
    return LocalIssuer(POOL, client_id=CLIENT, issuer_type="updated", serve=False)


@pytest.fixture
def servers(original: LocalIssuer, updated: LocalIssuer) -> Iterator[tuple[JwksServer, JwksServer]]:
    with JwksServer(original.jwks) as first, JwksServer(updated.jwks) as second:
        yield first, second


def make_verifier(
    servers: tuple[JwksServer, JwksServer], **options: Any
) -> tuple[CognitoVerifier, RoutedFetcher]:
    fetcher = RoutedFetcher({jwks_url(ORIGINAL): servers[0].url, jwks_url(UPDATED): servers[1].url})
    options.setdefault("token_use", "access")
    return CognitoVerifier(POOL, client_id=CLIENT, fetcher=fetcher, **options), fetcher


def test_both_issuer_forms_verify_by_default_each_with_its_own_jwks(
    original: LocalIssuer, updated: LocalIssuer, servers: tuple[JwksServer, JwksServer]
) -> None:
    assert original.issuer == ORIGINAL
    assert updated.issuer == UPDATED
    verifier, fetcher = make_verifier(servers)
    assert verifier.issuers == (ORIGINAL, UPDATED)
    assert verifier.verify(original.sign_in("ada").access_token).issuer == ORIGINAL
    assert verifier.verify(updated.sign_in("ada").access_token).issuer == UPDATED
    assert fetcher.asked == [jwks_url(ORIGINAL), jwks_url(UPDATED)]


def test_keys_come_from_the_jwks_of_the_tokens_own_issuer(
    original: LocalIssuer, servers: tuple[JwksServer, JwksServer]
) -> None:
    # The UPDATED iss, signed with a key that only the ORIGINAL issuer publishes: must not verify.
    impostor = LocalIssuer(
        POOL, client_id=CLIENT, issuer_type="updated", serve=False, signing_key=original.private_key()
    )
    verifier, fetcher = make_verifier(servers, kid_miss_cooldown=0)
    verifier.verify(original.sign_in("ada").access_token)  # the ORIGINAL keys are loaded
    with pytest.raises(UnknownKeyError) as info:
        verifier.verify(impostor.sign_in("ada").access_token)
    assert info.value.reason == "unknown_kid"
    assert jwks_url(UPDATED) in fetcher.asked


@pytest.mark.parametrize(
    "iss",
    [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other123",  # another pool
        f"https://cognito-idp.eu-west-2.amazonaws.com/{POOL}",  # another region, not a configured replica
        f"https://issuer-cognito-idp.eu-central-1.amazonaws.com/{POOL}",  # UPDATED never names a replica
        f"https://cognito-idp.eu-west-1.amazonaws.com.cn/{POOL}",  # another partition's host
        f"https://evil.example/{POOL}",  # another host
        f"http://cognito-idp.eu-west-1.amazonaws.com/{POOL}",  # another scheme
        f"{ORIGINAL}/",  # not exact
    ],
)
def test_other_pools_regions_and_hosts_are_refused_without_a_fetch(
    original: LocalIssuer, servers: tuple[JwksServer, JwksServer], iss: str
) -> None:
    forger = LocalIssuer(POOL, client_id=CLIENT, issuer=iss, serve=False, signing_key=original.private_key())
    verifier, fetcher = make_verifier(servers)
    with pytest.raises(UnknownIssuerError) as info:
        verifier.verify(forger.sign_in("ada").access_token)
    assert info.value.reason == "unknown_issuer"
    assert "unknown_issuer" in REASONS
    assert fetcher.asked == []


def test_one_form_by_choice(
    original: LocalIssuer, updated: LocalIssuer, servers: tuple[JwksServer, JwksServer]
) -> None:
    verifier, fetcher = make_verifier(servers, issuer_type="updated")
    assert verifier.issuers == (UPDATED,)
    assert verifier.verify(updated.sign_in("ada").access_token)
    with pytest.raises(UnknownIssuerError):
        verifier.verify(original.sign_in("ada").access_token)
    verifier.hydrate()
    assert fetcher.asked == [jwks_url(UPDATED), jwks_url(UPDATED)]
    with pytest.raises(ConfigError):
        CognitoVerifier(POOL, client_id=CLIENT, token_use="access", issuer_type="newest")  # type: ignore[arg-type]


def test_hydrate_succeeds_for_a_pool_that_never_switched_to_the_updated_issuer(
    original: LocalIssuer, updated: LocalIssuer, servers: tuple[JwksServer, JwksServer]
) -> None:
    servers[1].fault = Fault.status(404)  # no UPDATED endpoint for this pool
    verifier, fetcher = make_verifier(servers)
    verifier.hydrate()
    assert fetcher.asked == [jwks_url(ORIGINAL), jwks_url(UPDATED)]
    assert verifier.verify(original.sign_in("ada").access_token)
    assert len(fetcher.asked) == 2  # served from what hydrate loaded
    # The pool switches later: the first UPDATED token fetches that JWKS on demand, once the failure
    # backoff (1 s after hydrate's failed attempt) has passed.
    servers[1].fault = None
    time.sleep(1.1)
    assert verifier.verify(updated.sign_in("ada").access_token).issuer == UPDATED
    assert fetcher.asked[-1] == jwks_url(UPDATED)


def test_hydrate_fails_when_no_issuer_of_a_pool_answers(servers: tuple[JwksServer, JwksServer]) -> None:
    servers[0].fault = Fault.status(503)
    servers[1].fault = Fault.status(404)
    verifier, _ = make_verifier(servers)
    with pytest.raises(JwksError):
        verifier.hydrate()


def test_hydrate_with_one_form_chosen_needs_that_form(servers: tuple[JwksServer, JwksServer]) -> None:
    servers[0].fault = Fault.status(404)
    verifier, _ = make_verifier(servers, issuer_type="original")
    with pytest.raises(JwksError):
        verifier.hydrate()


def test_a_bundled_jwks_serves_every_issuer_form_of_the_pool(original: LocalIssuer) -> None:
    # A real pool publishes the same keys under both forms; a bundle loaded once serves both.
    same_keys = LocalIssuer(
        POOL, client_id=CLIENT, issuer_type="updated", serve=False, signing_key=original.private_key()
    )
    for offline in (True, False):
        options: dict[str, Any] = {"offline": True} if offline else {"fetcher": RoutedFetcher({})}
        verifier = CognitoVerifier(POOL, client_id=CLIENT, token_use="access", **options)
        verifier.load_jwks(original.jwks)  # the pool id is implied: every issuer of the pool
        assert verifier.verify(original.sign_in("ada").access_token).issuer == ORIGINAL
        assert verifier.verify(same_keys.sign_in("ada").access_token).issuer == UPDATED


def test_load_jwks_for_one_issuer_url_installs_only_there(original: LocalIssuer) -> None:
    same_keys = LocalIssuer(
        POOL, client_id=CLIENT, issuer_type="updated", serve=False, signing_key=original.private_key()
    )
    fetcher = RoutedFetcher({})
    verifier = CognitoVerifier(POOL, client_id=CLIENT, token_use="access", fetcher=fetcher)
    verifier.load_jwks(original.jwks, issuer=ORIGINAL)
    assert verifier.verify(original.sign_in("ada").access_token)
    with pytest.raises(JwksError):  # the UPDATED issuer has no keys and its fetch fails
        verifier.verify(same_keys.sign_in("ada").access_token)
    assert fetcher.asked == [jwks_url(UPDATED)]


def test_replica_region_tokens_verify_when_the_region_is_configured(original: LocalIssuer) -> None:
    replica = LocalIssuer(
        POOL, client_id=CLIENT, region="eu-central-1", serve=False, signing_key=original.private_key()
    )
    assert replica.issuer == REPLICA
    with JwksServer(original.jwks) as primary_keys, JwksServer(replica.jwks) as replica_keys:
        routes = {jwks_url(ORIGINAL): primary_keys.url, jwks_url(REPLICA): replica_keys.url}
        fetcher = RoutedFetcher(routes)
        verifier = CognitoVerifier(
            POOL, client_id=CLIENT, token_use="access", replica_regions=["eu-central-1"], fetcher=fetcher
        )
        assert verifier.issuers == (ORIGINAL, UPDATED, REPLICA)
        assert verifier.verify(replica.sign_in("ada").access_token).issuer == REPLICA
        assert fetcher.asked == [jwks_url(REPLICA)]  # the replica's own JWKS
        verifier.hydrate()  # the UPDATED form has no route here: hydrate still succeeds
    plain = CognitoVerifier(POOL, client_id=CLIENT, token_use="access", offline=True)
    plain.load_jwks(original.jwks)
    with pytest.raises(UnknownIssuerError):
        plain.verify(replica.sign_in("ada").access_token)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"replica_regions": ["cn-north-1"]}, "partition"),  # pools do not replicate across partitions
        ({"replica_regions": ["us-iso-east-1"]}, "partition"),
        ({"replica_regions": "eu-central-1x"}, "partition"),
        ({"replica_regions": [""]}, "replica_regions"),
        ({"replica_regions": {"eu-west-1_Nope": ["eu-central-1"]}}, "not configured"),
        ({"replica_regions": ["eu-central-1"], "issuer_type": "updated"}, "ORIGINAL"),
        ({"replica_regions": ["eu-central-1"], "issuer": "https://idp.example"}, "explicit issuer"),
        ({"audience": "api", "token_use": "id"}, "audience"),
        ({"iat_leeway": -1}, "iat_leeway"),
    ],
)
def test_bad_issuer_options_are_config_errors(options: dict[str, Any], match: str) -> None:
    options.setdefault("token_use", "access")
    with pytest.raises(ConfigError, match=match):
        CognitoVerifier(POOL, client_id=CLIENT, **options)


@pytest.mark.parametrize(
    ("pool_id", "original_iss", "updated_iss"),
    [
        (
            "eusc-de-east-1_AbCdEf123",
            "https://cognito-idp.eusc-de-east-1.amazonaws.eu/eusc-de-east-1_AbCdEf123",
            "https://issuer-cognito-idp.eusc-de-east-1.amazonaws.eu/eusc-de-east-1_AbCdEf123",
        ),
        (
            "cn-north-1_AbC",
            "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_AbC",
            "https://issuer-cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_AbC",
        ),
        (
            "us-gov-west-1_Xy9",
            "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_Xy9",
            "https://issuer-cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_Xy9",
        ),
        (  # a region AWS has not listed yet, placed by the partition's pattern
            "eu-north-9_AbC",
            "https://cognito-idp.eu-north-9.amazonaws.com/eu-north-9_AbC",
            "https://issuer-cognito-idp.eu-north-9.amazonaws.com/eu-north-9_AbC",
        ),
    ],
)
def test_issuer_hosts_per_partition(pool_id: str, original_iss: str, updated_iss: str) -> None:
    verifier = CognitoVerifier(pool_id, client_id=None, token_use=None)
    assert verifier.issuers == (original_iss, updated_iss)
    assert issuer_url(pool_id, "updated") == updated_iss


def test_partitions_come_from_aws_endpoint_data() -> None:
    # The table copies botocore's partitions.json; compare with the copy botocore ships (AWS's data).
    import json
    from pathlib import Path

    import botocore

    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    published = {p["id"]: p for p in data["partitions"]}
    for region, expected in [
        ("eu-west-1", "aws"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-east-1", "aws-us-gov"),
        ("eusc-de-east-1", "aws-eusc"),
    ]:
        partition = partition_of(region)
        assert partition.id == expected
        assert partition.dns_suffix == published[expected]["outputs"]["dnsSuffix"]
        assert f"^{partition.region_regex.pattern}$" == published[expected]["regionRegex"]
        listed = {name for name in published[expected]["regions"] if not name.endswith("-global")}
        assert partition.regions == listed


@pytest.mark.parametrize(
    "pool_id",
    [
        "us-iso-east-1_AbC",
        "eu-isoe-west-1_AbC",
        "xx-west-1_AbC",
        "eu-west-1",
        "eu-west-1_",
        "_AbC",
        "eu-west-1_a/b",
    ],
)
def test_pool_ids_outside_known_partitions_are_refused(pool_id: str) -> None:
    with pytest.raises(ConfigError):
        pool_region(pool_id)
    with pytest.raises(ConfigError):
        CognitoVerifier(pool_id, client_id=None, token_use=None)


def test_local_issuer_wires_its_own_form_and_region() -> None:
    for options in ({"issuer_type": "updated"}, {"region": "eu-central-1"}, {}):
        with LocalIssuer(POOL, client_id=CLIENT, **options) as pool:  # type: ignore[arg-type]
            assert pool.verifier("access").verify(pool.sign_in("ada").access_token).issuer == pool.issuer
    with pytest.raises(ConfigError):
        LocalIssuer(POOL, issuer_type="updated", region="eu-central-1", serve=False)
