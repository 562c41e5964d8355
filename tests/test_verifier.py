"""CognitoVerifier behaviour: configuration, pools and issuers, requirements, hooks, token cache, keys."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cognito_authz
from cognito_authz import CognitoVerifier, Principal
from cognito_authz.errors import (
    REASONS,
    ConfigError,
    ExpiredTokenError,
    InsufficientClaimsError,
    InvalidSignatureError,
    JwksError,
    MalformedTokenError,
    MissingClaimError,
    RevokedTokenError,
    TokenError,
    UnknownIssuerError,
    UnknownKeyError,
    WrongClientError,
)
from cognito_authz.testing import LocalIssuer
from cognito_authz.verifier import MAX_LEEWAY, cognito_issuer, cognito_issuers, region_of

NOW = 1_700_000_000
POOL = "eu-west-1_AbCdEf123"


def at(t: float) -> Callable[[], float]:
    return lambda: t


def rejects(verifier: CognitoVerifier, token: object, cls: type[Exception], reason: str) -> Any:
    with pytest.raises(cls) as info:
        verifier.verify(token)
    assert getattr(info.value, "reason", None) == reason, repr(info.value)
    assert reason in REASONS
    return info.value


# -- construction -----------------------------------------------------------------------------------


def test_client_id_and_token_use_cannot_be_left_out() -> None:
    with pytest.raises(TypeError, match="client_id"):
        CognitoVerifier(POOL, token_use="access")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="token_use"):
        CognitoVerifier(POOL, client_id="abc")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        CognitoVerifier(POOL, "abc", "access")  # type: ignore[misc]
    explicit = CognitoVerifier(POOL, client_id=None, token_use=None)
    assert explicit.client_ids is None
    assert explicit.token_use is None


@pytest.mark.parametrize(
    "pool_id",
    [
        "",
        "AbCdEf123",
        "eu-west-1",
        "eu-west-1_",
        "eu-west-1_Ab-Cd",
        "EU-WEST-1_AbC",
        "eu-west_AbC",
        "../x_y",
        "eu-west-1_AbC/..",
        "eu-west-1_AbC ",
        123,
        None,
        b"eu-west-1_AbC",
    ],
)
def test_invalid_pool_ids(pool_id: Any) -> None:
    with pytest.raises(ConfigError):
        CognitoVerifier(pool_id, client_id=None, token_use=None)


@pytest.mark.parametrize(
    ("pool_id", "issuer"),
    [
        ("eu-west-1_AbCdEf123", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"),
        ("us-gov-west-1_Xy9", "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_Xy9"),
        ("ap-southeast-3_Z", "https://cognito-idp.ap-southeast-3.amazonaws.com/ap-southeast-3_Z"),
        ("cn-north-1_AbC", "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_AbC"),
        ("cn-northwest-1_AbC", "https://cognito-idp.cn-northwest-1.amazonaws.com.cn/cn-northwest-1_AbC"),
    ],
)
def test_issuer_derived_from_the_pool_id(pool_id: str, issuer: str) -> None:
    assert cognito_issuer(pool_id) == issuer
    assert region_of(pool_id) == pool_id.split("_")[0]
    verifier = CognitoVerifier(pool_id, client_id=None, token_use=None)
    updated = issuer.replace("https://cognito-idp.", "https://issuer-cognito-idp.")
    assert verifier.issuers == (issuer, updated)  # ORIGINAL and UPDATED forms by default
    assert verifier.jwks_cache().jwks_uri == f"{issuer}/.well-known/jwks.json"
    assert verifier.jwks_cache(updated).jwks_uri == f"{updated}/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"client_id": []}, "client_id"),
        ({"client_id": [""]}, "client_id"),
        ({"client_id": [1]}, "client_id"),
        ({"client_id": b"abc"}, "client_id"),
        ({"token_use": "refresh"}, "token_use"),
        ({"token_use": "ID"}, "token_use"),
        ({"leeway": -1}, "leeway"),
        ({"leeway": MAX_LEEWAY + 1}, "leeway"),
        ({"leeway": float("nan")}, "leeway"),
        ({"leeway": True}, "leeway"),
        ({"leeway": "5"}, "leeway"),
        ({"algorithms": ()}, "algorithms"),
        ({"algorithms": ("HS256",)}, "unsupported"),
        ({"algorithms": ("none",)}, "unsupported"),
        ({"algorithms": ("RS256", "ES256")}, "unsupported"),
        ({"max_token_bytes": 0}, "max_token_bytes"),
        ({"max_token_bytes": 8.5}, "max_token_bytes"),
        ({"token_cache_size": -1}, "token_cache_size"),
        ({"token_cache_size": True}, "token_cache_size"),
        ({"required_scopes": []}, "required_scopes"),
        ({"all_groups": [""]}, "all_groups"),
        ({"max_age": -5}, "max_age"),
        ({"custom_check": "not callable"}, "custom_check"),
        ({"is_revoked": 1}, "is_revoked"),
        ({"clock": 5}, "clock"),
        ({"jwks_uri": "http://keys.example/jwks.json"}, "allow_http"),
        ({"jwks_uri": "ftp://keys.example/jwks.json", "allow_http": True}, "https"),
        ({"jwks_uri": {"us-east-1_Other": "https://x"}}, "not configured"),
        ({"issuer": 5}, "issuer"),
        ({"offline": True, "jwks_uri": "https://keys.example/jwks.json"}, "offline"),
    ],
)
def test_bad_configuration(kwargs: dict[str, Any], match: str) -> None:
    options: dict[str, Any] = {"client_id": "abc", "token_use": "access", **kwargs}
    with pytest.raises(ConfigError, match=match) as info:
        CognitoVerifier(POOL, **options)
    assert info.value.reason == "invalid_config"


def test_scope_requirements_make_no_sense_for_id_tokens() -> None:
    with pytest.raises(ConfigError, match="scope"):
        CognitoVerifier(POOL, client_id="abc", token_use="id", required_scopes=["orders/read"])


def test_several_pools_need_mapped_overrides() -> None:
    pools = [POOL, "us-east-1_Other1"]
    with pytest.raises(ConfigError, match="mapping"):
        CognitoVerifier(pools, client_id=None, token_use=None, jwks_uri="https://keys.example/jwks.json")
    with pytest.raises(ConfigError, match="twice"):
        CognitoVerifier([POOL, POOL], client_id=None, token_use=None)
    with pytest.raises(ConfigError, match="share the issuer"):
        CognitoVerifier(
            pools, client_id=None, token_use=None, issuer={POOL: "https://x", "us-east-1_Other1": "https://x"}
        )
    verifier = CognitoVerifier(pools, client_id=None, token_use=None, issuer={POOL: "https://idp.example/a"})
    assert verifier.issuers == ("https://idp.example/a", *cognito_issuers("us-east-1_Other1"))
    assert (
        verifier.jwks_cache("https://idp.example/a").jwks_uri == "https://idp.example/a/.well-known/jwks.json"
    )
    assert verifier.pool_ids == tuple(pools)


def test_pools_sharing_a_jwks_uri_share_one_cache() -> None:
    uri = "https://keys.example/jwks.json"
    verifier = CognitoVerifier(
        [POOL, "us-east-1_Other1"],
        client_id=None,
        token_use=None,
        jwks_uri={POOL: uri, "us-east-1_Other1": uri},
    )
    assert verifier.jwks_cache(POOL) is verifier.jwks_cache("us-east-1_Other1")


def test_sets_are_accepted_where_lists_are() -> None:
    verifier = CognitoVerifier(
        POOL, client_id={"b-client", "a-client"}, token_use=None, required_groups={"x"}
    )
    assert verifier.client_ids == ("a-client", "b-client")
    with pytest.raises(ConfigError):
        CognitoVerifier(POOL, client_id={"a-client", 1}, token_use=None)  # type: ignore[arg-type]


def test_a_single_algorithm_string_is_one_algorithm() -> None:
    assert CognitoVerifier(POOL, client_id=None, token_use=None, algorithms="RS256").algorithms == {"RS256"}


def test_repr_names_the_configuration_not_secrets() -> None:
    text = repr(CognitoVerifier(POOL, client_id="abc", token_use="id"))
    assert POOL in text
    assert "'abc'" in text


# -- verifying --------------------------------------------------------------------------------------


def test_access_token_to_principal(access_verifier: CognitoVerifier, issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(
        username="alice", groups=["admin", "support"], scopes=["orders/read", "openid"]
    )
    principal = access_verifier.verify(token)
    assert isinstance(principal, Principal)
    assert principal.username == "alice"
    assert principal.groups == ("admin", "support")
    assert principal.scopes == ("orders/read", "openid")
    assert principal.token_use == "access"
    assert principal.client_id == issuer.client_id
    assert principal.issuer == issuer.issuer
    assert principal.sub == principal.claims["sub"]


def test_id_token_to_principal(id_verifier: CognitoVerifier, issuer: LocalIssuer) -> None:
    token = issuer.mint_id_token(username="bob", groups=["customer"], custom_attributes={"tenant_id": "acme"})
    principal = id_verifier.verify(token)
    assert principal.username == "bob"
    assert principal.groups == ("customer",)
    assert principal.scopes == ()
    assert principal.token_use == "id"
    assert principal.client_id == issuer.client_id  # from aud
    assert principal.claims["custom:tenant_id"] == "acme"
    assert principal.claims["email_verified"] is True


def test_token_use_none_accepts_both(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier(token_use=None)
    assert verifier.verify(issuer.mint_access_token()).token_use == "access"
    assert verifier.verify(issuer.mint_id_token()).token_use == "id"


def test_client_id_none_accepts_any_client(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier(token_use=None, client_id=None)
    assert (
        verifier.verify(issuer.mint_access_token(client_id="some-other-client")).client_id
        == "some-other-client"
    )
    assert verifier.verify(issuer.mint_id_token(client_id="yet-another")).client_id == "yet-another"
    # With the check opted out, an absent client claim is simply not checked.
    assert verifier.verify(issuer.mint_access_token(omit=["client_id"])).client_id is None


def test_several_client_ids(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", client_id=["web-client", issuer.client_id])
    assert verifier.verify(issuer.mint_access_token(client_id="web-client")).client_id == "web-client"
    assert verifier.verify(issuer.mint_access_token()).client_id == issuer.client_id
    rejects(verifier, issuer.mint_access_token(client_id="mobile-client"), WrongClientError, "wrong_client")


def test_several_pools_pick_keys_by_issuer() -> None:
    with (
        LocalIssuer("us-east-1_PoolA", client_id="client-a") as a,
        LocalIssuer("eu-central-1_PoolB", client_id="client-b") as b,
    ):
        verifier = CognitoVerifier(
            ["us-east-1_PoolA", "eu-central-1_PoolB"],
            client_id=["client-a", "client-b"],
            token_use="access",
            jwks_uri={"us-east-1_PoolA": a.jwks_uri, "eu-central-1_PoolB": b.jwks_uri},
            allow_http=True,
        )
        assert verifier.verify(a.mint_access_token()).issuer == a.issuer
        assert (a.request_count, b.request_count) == (1, 0)  # only pool A's keys were needed
        assert verifier.verify(b.mint_access_token()).issuer == b.issuer
        assert (a.request_count, b.request_count) == (1, 1)
        with LocalIssuer("us-west-2_PoolC", serve=False) as c:
            rejects(verifier, c.mint_access_token(client_id="client-a"), UnknownIssuerError, "unknown_issuer")
        assert (a.request_count, b.request_count) == (1, 1)


def test_explicit_issuer_override(issuer: LocalIssuer) -> None:
    with LocalIssuer(issuer="http://localhost:9229/local_pool") as custom:
        verifier = custom.verifier("access")
        assert verifier.issuers == ("http://localhost:9229/local_pool",)
        assert verifier.verify(custom.mint_access_token()).issuer == "http://localhost:9229/local_pool"
        rejects(verifier, issuer.mint_access_token(), UnknownIssuerError, "unknown_issuer")


# -- requirements -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "wanted", "have", "ok"),
    [
        ("required_scopes", ["orders/read", "orders/write"], ["orders/write"], True),
        ("required_scopes", ["orders/read", "orders/write"], ["openid"], False),
        ("required_scopes", "orders/read", ["orders/read"], True),
        ("all_scopes", ["orders/read", "orders/write"], ["orders/read", "orders/write", "openid"], True),
        ("all_scopes", ["orders/read", "orders/write"], ["orders/read"], False),
        ("required_groups", ["admin", "support"], ["support"], True),
        ("required_groups", ["admin", "support"], [], False),
        ("all_groups", ["admin", "support"], ["support", "admin"], True),
        ("all_groups", ["admin", "support"], ["admin"], False),
    ],
)
def test_scope_and_group_requirements(
    issuer: LocalIssuer, option: str, wanted: Any, have: list[str], ok: bool
) -> None:
    verifier = issuer.verifier("access", **{option: wanted})
    if option.endswith("scopes"):
        token = issuer.mint_access_token(scopes=have)
    else:
        token = issuer.mint_access_token(groups=have)
    if ok:
        assert verifier.verify(token)
    else:
        rejects(verifier, token, InsufficientClaimsError, "insufficient_claims")


def test_max_age_on_auth_time(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", max_age=600, leeway=5, clock=at(NOW))
    assert verifier.verify(issuer.mint_access_token(now=NOW, auth_time=NOW - 605))
    rejects(
        verifier,
        issuer.mint_access_token(now=NOW, auth_time=NOW - 606),
        InsufficientClaimsError,
        "auth_too_old",
    )
    error = rejects(
        verifier, issuer.mint_access_token(now=NOW, omit=["auth_time"]), MissingClaimError, "missing_claim"
    )
    assert error.claim == "auth_time"


# -- hooks ------------------------------------------------------------------------------------------


def test_custom_check(issuer: LocalIssuer) -> None:
    seen: list[Principal] = []

    def only_acme(principal: Principal) -> bool:
        seen.append(principal)
        return principal.claims.get("custom:tenant_id") == "acme"

    verifier = issuer.verifier("id", custom_check=only_acme)
    assert verifier.verify(issuer.mint_id_token(custom_attributes={"tenant_id": "acme"}))
    rejects(
        verifier,
        issuer.mint_id_token(custom_attributes={"tenant_id": "evil"}),
        InsufficientClaimsError,
        "custom_check_failed",
    )
    assert len(seen) == 2


def test_custom_check_returning_none_accepts(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", custom_check=lambda principal: None)
    assert verifier.verify(issuer.mint_access_token())


def test_custom_check_may_raise_a_token_error(issuer: LocalIssuer) -> None:
    def refuse(principal: Principal) -> None:
        raise WrongClientError("tenant mismatch", claim="custom:tenant_id")

    rejects(
        issuer.verifier("access", custom_check=refuse),
        issuer.mint_access_token(),
        WrongClientError,
        "wrong_client",
    )


def test_a_crashing_custom_check_fails_closed(issuer: LocalIssuer) -> None:
    def crash(principal: Principal) -> bool:
        raise KeyError("tenant")

    error = rejects(
        issuer.verifier("access", custom_check=crash),
        issuer.mint_access_token(),
        InsufficientClaimsError,
        "custom_check_failed",
    )
    assert isinstance(error.__cause__, KeyError)


def test_revocation_hook_on_every_call_cache_hits_included(issuer: LocalIssuer) -> None:
    revoked: set[str] = set()
    calls: list[str] = []

    def is_revoked(principal: Principal) -> bool:
        calls.append(principal.claims["jti"])
        return principal.claims["origin_jti"] in revoked or principal.claims["jti"] in revoked

    verifier = issuer.verifier("access", is_revoked=is_revoked)
    token = issuer.mint_access_token()
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # a cache hit...
    assert len(calls) == 2  # ...still asked the hook
    revoked.add(first.claims["origin_jti"])
    rejects(verifier, token, RevokedTokenError, "token_revoked")
    revoked.clear()
    revoked.add(first.claims["jti"])
    rejects(verifier, token, RevokedTokenError, "token_revoked")


def test_a_crashing_revocation_hook_fails_closed(issuer: LocalIssuer) -> None:
    def store_down(principal: Principal) -> bool:
        raise ConnectionError("denylist unreachable")

    error = rejects(
        issuer.verifier("access", is_revoked=store_down),
        issuer.mint_access_token(),
        RevokedTokenError,
        "revocation_check_failed",
    )
    assert isinstance(error.__cause__, ConnectionError)


# -- token cache ------------------------------------------------------------------------------------


def test_repeated_token_is_served_from_the_cache(
    access_verifier: CognitoVerifier, issuer: LocalIssuer
) -> None:
    token = issuer.mint_access_token()
    assert access_verifier.verify(token) is access_verifier.verify(token)


def test_cache_disabled(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", token_cache_size=0)
    token = issuer.mint_access_token()
    first = verifier.verify(token)
    second = verifier.verify(token)
    assert first == second
    assert first is not second


def test_cache_is_bounded_and_least_recently_used(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", token_cache_size=2)
    t1, t2, t3 = (issuer.mint_access_token(username=f"user{n}") for n in range(3))
    p1, p2 = verifier.verify(t1), verifier.verify(t2)
    assert verifier.verify(t1) is p1  # t1 is now the most recent
    p3 = verifier.verify(t3)  # evicts t2
    assert verifier.verify(t1) is p1
    assert verifier.verify(t3) is p3
    assert verifier.verify(t2) is not p2  # was evicted: verified again
    verifier.clear_token_cache()
    assert verifier.verify(t1) is not p1


def test_only_identical_strings_hit_the_cache(access_verifier: CognitoVerifier, issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token()
    access_verifier.verify(token)
    rejects(access_verifier, token + " ", MalformedTokenError, "bad_base64")
    rejects(access_verifier, "Bearer " + token, MalformedTokenError, "bearer_prefix")


def test_a_removed_key_kills_cached_tokens(issuer: LocalIssuer) -> None:
    with LocalIssuer() as rotating:
        # jwks_ttl=0: every lookup re-reads the key set, as if the TTL had just expired.
        verifier = rotating.verifier("access", jwks_ttl=0)
        old = rotating.mint_access_token()
        first = verifier.verify(old)
        assert verifier.verify(old) is not first  # the key set was refreshed: the signature is re-checked
        rotating.rotate_keys(keep_previous=False)
        rejects(verifier, old, UnknownKeyError, "unknown_kid")
        assert verifier.verify(rotating.mint_access_token()).sub == first.sub


def test_rotation_keeping_the_previous_key(issuer: LocalIssuer) -> None:
    with LocalIssuer() as rotating:
        verifier = rotating.verifier("access", kid_miss_cooldown=0)
        old = rotating.mint_access_token()
        verifier.verify(old)
        new_kid = rotating.rotate_keys()
        assert rotating.kid == new_kid
        new = rotating.mint_access_token()
        assert verifier.verify(new)  # unknown kid: one refetch picks the new key up
        assert verifier.verify(old)  # the old key is still published
        assert rotating.request_count == 2


def test_cached_tokens_expire(issuer: LocalIssuer) -> None:
    now = [float(NOW)]
    verifier = issuer.verifier("access", clock=lambda: now[0])
    token = issuer.mint_access_token(now=NOW, lifetime=100)
    verifier.verify(token)
    now[0] = NOW + 99.9
    assert verifier.verify(token)
    now[0] = NOW + 100
    rejects(verifier, token, ExpiredTokenError, "token_expired")


def test_cache_is_thread_safe(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("access", token_cache_size=8)
    tokens = {f"u{n}": issuer.mint_access_token(username=f"u{n}") for n in range(16)}
    names = list(tokens)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for round_ in range(20):
                name = names[(offset + round_) % len(names)]
                assert verifier.verify(tokens[name]).username == name
        except BaseException as exc:  # collected and asserted on in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# -- keys: hydrate, load_jwks, failures -------------------------------------------------------------


def test_hydrate_prefetches(issuer: LocalIssuer) -> None:
    with LocalIssuer() as fresh:
        verifier = fresh.verifier("access")
        verifier.hydrate()
        assert fresh.request_count == 1
        verifier.verify(fresh.mint_access_token())
        assert fresh.request_count == 1


@pytest.mark.parametrize("form", ["dict", "file", "text", "env-text", "env-file"])
def test_load_jwks_without_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    with LocalIssuer() as local:
        document = local.jwks
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps(document))
        # A verifier pointing at the live server: keys must come from load_jwks, not a fetch.
        verifier = local.verifier("access")
        if form == "dict":
            verifier.load_jwks(document)
        elif form == "file":
            verifier.load_jwks(path)
        elif form == "text":
            verifier.load_jwks(json.dumps(document))
        else:
            monkeypatch.setenv("COGNITO_JWKS", json.dumps(document) if form == "env-text" else str(path))
            verifier.load_jwks(env="COGNITO_JWKS")
        assert verifier.verify(local.mint_access_token())
        assert local.request_count == 0


def test_offline_verifier_never_fetches(issuer: LocalIssuer) -> None:
    with LocalIssuer(serve=False) as local:
        verifier = local.verifier("access")
        assert verifier.verify(local.mint_access_token())
        rejects(verifier, local.mint_access_token(headers={"kid": "other"}), UnknownKeyError, "unknown_kid")
        with pytest.raises(ConfigError):
            verifier.hydrate()


def test_offline_verifier_without_keys_fails_closed(issuer: LocalIssuer) -> None:
    verifier = CognitoVerifier("us-east-1_LocalTest", client_id=None, token_use=None, offline=True)
    rejects(verifier, issuer.mint_access_token(), JwksError, "jwks_unavailable")


def test_load_jwks_names_the_pool_when_there_are_several() -> None:
    with LocalIssuer("us-east-1_PoolA", serve=False) as a, LocalIssuer("us-east-1_PoolB", serve=False) as b:
        verifier = CognitoVerifier(
            ["us-east-1_PoolA", "us-east-1_PoolB"], client_id=None, token_use=None, offline=True
        )
        with pytest.raises(ConfigError, match="several"):
            verifier.load_jwks(a.jwks)
        with pytest.raises(ConfigError, match="not a configured"):
            verifier.load_jwks(a.jwks, issuer="us-east-1_PoolC")
        verifier.load_jwks(a.jwks, issuer="us-east-1_PoolA")
        verifier.load_jwks(b.jwks, issuer=b.issuer)
        assert verifier.verify(a.mint_access_token()).issuer == a.issuer
        assert verifier.verify(b.mint_access_token()).issuer == b.issuer
        # Each pool's keys stay its own.
        rejects(verifier, a.mint_access_token(claims={"iss": b.issuer}), UnknownKeyError, "unknown_kid")


def test_a_fetched_key_set_is_cached(access_verifier: CognitoVerifier, issuer: LocalIssuer) -> None:
    before = issuer.request_count
    for _ in range(5):
        access_verifier.verify(issuer.mint_access_token())
    assert issuer.request_count - before == 1
    assert access_verifier.jwks_cache().fetch_count == 1


def test_keys_unavailable_is_a_jwks_error_not_a_token_error(issuer: LocalIssuer) -> None:
    with LocalIssuer() as gone:
        verifier = gone.verifier("access")
        token = gone.mint_access_token()
    error = rejects(verifier, token, JwksError, "jwks_fetch_failed")
    assert not isinstance(error, TokenError)


# -- messages ---------------------------------------------------------------------------------------


def test_error_messages_never_contain_the_token(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier("id", client_id="another", clock=at(NOW + 10_000))
    token = issuer.mint_access_token(now=NOW)
    samples = [
        token,  # wrong token use
        issuer.mint_id_token(now=NOW),  # expired
        issuer.mint_id_token(),  # wrong client
        "Bearer " + token,
        token[:-3] + "AAA",
        token + "." + token,
    ]
    for sample in samples:
        with pytest.raises(TokenError) as info:
            verifier.verify(sample)
        rendered = f"{info.value} {info.value!r} {info.value.details!r}"
        for part in sample.replace("Bearer ", "").split("."):
            assert part[:12] not in rendered
    with pytest.raises(InvalidSignatureError) as info:
        issuer.verifier("access").verify(issuer.mint_access_token()[:-4] + "AAAA")
    assert "signature" in str(info.value)


# -- package surface --------------------------------------------------------------------------------


def test_import_stays_light_and_policy_loads_on_demand() -> None:
    # A fresh interpreter: what `import cognito_authz` pulls in is what a Lambda cold start pays for.
    script = (
        "import sys, cognito_authz\n"
        "heavy = ('cognito_authz.policy', 'pydantic', 'requests', 'jwt', 'yaml')\n"
        "heavy = [name for name in heavy if name in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from cognito_authz import Policy, Decision\n"
        "assert Policy.__name__ == 'Policy' and Decision.__name__ == 'Decision'\n"
        "assert 'cognito_authz.policy' in sys.modules\n"
        "assert set(cognito_authz.__all__) == {'CognitoVerifier', 'Principal', 'Policy', 'Decision'}\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    with pytest.raises(AttributeError):
        _ = cognito_authz.NoSuchThing  # type: ignore[attr-defined]
