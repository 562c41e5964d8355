"""Which host issues a user pool's tokens: AWS partitions and Cognito's two issuer forms.

A user pool id names its region (``eu-west-1_AbCdEf123``, ``eusc-de-east-1_AbCdEf123``); the region
belongs to one AWS partition, and the partition fixes the DNS suffix of every endpoint in it. The table
below is a copy of the few fields we need from AWS's published endpoint data, the ``partitions.json``
that botocore ships (``botocore/data/partitions.json``, botocore 1.44.18; the same data backs every AWS
SDK's endpoint resolution). A region is placed in a partition the way the SDKs do it: its explicit
region list first, then the partition's ``regionRegex``. Regions of partitions we do not list (the
isolated ``aws-iso*`` partitions) are refused: we do not know that Cognito issues tokens there under
``cognito-idp``, so the user must name the issuer explicitly (fail closed).

Cognito's issuer forms (API reference, ``IssuerConfigurationType``,
https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html):

* ORIGINAL: ``https://cognito-idp.{region}.{dnsSuffix}/{userPoolId}``, hosted in the pool's region. With
  multi-Region replication a replica region issues tokens whose ``iss`` names the replica's region
  (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-multi-region.html).
* UPDATED: ``https://issuer-cognito-idp.{region}.{dnsSuffix}/{userPoolId}`` where region is the pool's
  *primary* region, whichever region issued the token; AWS recommends it for every pool.

Each issuer serves its keys at ``{issuer}/.well-known/jwks.json``.
"""

from __future__ import annotations

import re
from typing import Literal

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.errors import ConfigError

__all__ = [
    "ISSUER_FORMS",
    "IssuerForm",
    "Partition",
    "issuer_url",
    "partition_of",
    "pool_region",
]

IssuerForm = Literal["original", "updated"]
ISSUER_FORMS: tuple[IssuerForm, ...] = ("original", "updated")

_HOST_PREFIX: dict[IssuerForm, str] = {"original": "cognito-idp", "updated": "issuer-cognito-idp"}


class Partition(Frozen):
    """One AWS partition: its id, DNS suffix, region pattern and the regions AWS lists for it.

    ``region_pattern`` is the regular expression's source; :attr:`region_regex` compiles it when first
    needed (a listed region never needs it, and compiling the four patterns costs a cold start ≈ 1.6 M
    instructions; ``re`` keeps the compiled pattern).
    """

    __slots__ = ("dns_suffix", "id", "region_pattern", "regions")
    id: str
    dns_suffix: str
    region_pattern: str
    regions: frozenset[str]

    def __init__(self, id: str, dns_suffix: str, region_pattern: str, regions: frozenset[str]) -> None:
        set_field(self, "id", id)
        set_field(self, "dns_suffix", dns_suffix)
        set_field(self, "region_pattern", region_pattern)
        set_field(self, "regions", regions)

    @property
    def region_regex(self) -> re.Pattern[str]:
        return re.compile(self.region_pattern)

    def contains(self, region: str) -> bool:
        return region in self.regions or self.region_regex.fullmatch(region) is not None


# From botocore/data/partitions.json (botocore 1.44.18): "id", "outputs.dnsSuffix", "regionRegex" and the
# keys of "regions" (the pseudo-regions "aws-global" etc. left out: no user pool lives there).
PARTITIONS: tuple[Partition, ...] = (
    Partition(
        "aws",
        "amazonaws.com",
        r"(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+",
        frozenset(
            {
                "af-south-1",
                "ap-east-1",
                "ap-east-2",
                "ap-northeast-1",
                "ap-northeast-2",
                "ap-northeast-3",
                "ap-south-1",
                "ap-south-2",
                "ap-southeast-1",
                "ap-southeast-2",
                "ap-southeast-3",
                "ap-southeast-4",
                "ap-southeast-5",
                "ap-southeast-6",
                "ap-southeast-7",
                "ca-central-1",
                "ca-west-1",
                "eu-central-1",
                "eu-central-2",
                "eu-north-1",
                "eu-south-1",
                "eu-south-2",
                "eu-west-1",
                "eu-west-2",
                "eu-west-3",
                "il-central-1",
                "me-central-1",
                "me-south-1",
                "me-west-1",
                "mx-central-1",
                "sa-east-1",
                "sa-west-1",
                "us-east-1",
                "us-east-2",
                "us-west-1",
                "us-west-2",
            }
        ),
    ),
    Partition("aws-cn", "amazonaws.com.cn", r"cn\-\w+\-\d+", frozenset({"cn-north-1", "cn-northwest-1"})),
    Partition(
        "aws-us-gov",
        "amazonaws.com",
        r"us\-gov\-\w+\-\d+",
        frozenset({"us-gov-east-1", "us-gov-west-1"}),
    ),
    Partition("aws-eusc", "amazonaws.eu", r"eusc\-(de)\-\w+\-\d+", frozenset({"eusc-de-east-1"})),
)

# The API's pattern for a user pool id is [\w-]+_[0-9a-zA-Z]+ (CreateUserPoolReplica, --user-pool-id);
# a region never holds "_", so the region is everything before the first one.
_POOL_ID = re.compile(r"(?P<region>[a-z0-9]+(?:-[a-z0-9]+)+)_[0-9A-Za-z]{1,80}")


def partition_of(region: str) -> Partition:
    """The partition ``region`` belongs to; ConfigError for a region of no partition we know."""
    # Partitions' explicit lists first, then their patterns, as the SDKs' endpoint resolution does.
    for partition in PARTITIONS:
        if region in partition.regions:
            return partition
    for partition in PARTITIONS:
        if partition.region_regex.fullmatch(region) is not None:
            return partition
    raise ConfigError(
        f"region {region!r} is in no AWS partition where Cognito's issuer hosts are known "
        "(aws, aws-cn, aws-us-gov, aws-eusc); pass issuer= explicitly"
    )


def pool_region(user_pool_id: object) -> str:
    """The region a user pool id names (``eu-west-1_AbC123`` -> ``eu-west-1``); ConfigError if invalid."""
    match = _POOL_ID.fullmatch(user_pool_id) if isinstance(user_pool_id, str) else None
    if match is None:
        raise ConfigError(
            f"{user_pool_id!r} is not a user pool id (expected '<region>_<id>', e.g. 'eu-west-1_AbCdEf123')"
        )
    region = match.group("region")
    partition_of(region)  # a region of no known partition is refused here, not at the first token
    return region


def issuer_url(user_pool_id: str, form: IssuerForm = "original", region: str | None = None) -> str:
    """The ``iss`` of tokens of this pool in the given form.

    ``region`` is the issuing region for the ORIGINAL form of a replicated pool (default: the pool's own
    region). It must be in the pool's partition: a pool does not replicate across partitions. The UPDATED
    form always names the primary region, so ``region`` is refused with it.
    """
    home = pool_region(user_pool_id)
    partition = partition_of(home)
    if form not in _HOST_PREFIX:
        raise ConfigError(f"issuer form must be one of {list(_HOST_PREFIX)}, not {form!r}")
    if region is None:
        region = home
    elif form == "updated":
        raise ConfigError(
            "the UPDATED issuer names the pool's primary region; replica regions are ORIGINAL only"
        )
    elif not isinstance(region, str) or partition_of(region) is not partition:
        raise ConfigError(
            f"replica region {region!r} is not in the partition of {user_pool_id} ({partition.id})"
        )
    return f"https://{_HOST_PREFIX[form]}.{region}.{partition.dns_suffix}/{user_pool_id}"
