"""The Orders REST API behind a cached cognito-authz TOKEN authorizer, as a CDK (Python) stack.

The same deployment as ``examples/authorizer/template.yaml``: ``handler.py``, ``orders.py`` and
``policy.yaml`` from that folder, one TOKEN authorizer cached per token for five minutes (right because
the policy is cache-safe: each answer is an IAM policy covering every route for the caller).

The Lambda code is bundled at synth time by ``cognito-authz package``, which installs binary wheels for
the functions' runtime and architecture (python3.12, arm64) on any machine, without Docker. If that
command is not available, CDK falls back to Docker bundling in the SAM build image for the same runtime
and architecture, where a plain ``pip install`` gets the right binaries natively.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, CfnOutput, CfnParameter, DockerImage, Duration, ILocalBundling, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

#: The functions' code: the SAM example's authorizer, API function and policy.
SOURCE = Path(__file__).resolve().parent.parent / "authorizer"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
ROUTES = [
    ("GET", "/health"),
    ("GET", "/orders"),
    ("POST", "/orders"),
    ("GET", "/orders/{orderId}"),
    ("PUT", "/orders/{orderId}"),
    ("POST", "/orders/{orderId}/refund"),
    ("GET", "/users/{userId}"),
    ("PUT", "/users/{userId}"),
]


# --8<-- [start:bundling]
@jsii.implements(ILocalBundling)
class PackageCommand:
    """Local bundling: ``cognito-authz package`` writes the function package into CDK's asset folder."""

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        command = shutil.which("cognito-authz")
        if command is None:
            return False  # CDK then bundles in Docker (see _bundling)
        subprocess.run(
            [
                command,
                "package",
                output_dir,
                "--force",
                "--runtime",
                RUNTIME.name,
                "--arch",
                "arm64",
                "--policy",
                str(SOURCE / "policy.yaml"),
                "--include",
                str(SOURCE / "handler.py"),
                "--include",
                str(SOURCE / "orders.py"),
            ],
            check=True,
        )
        return True


def _bundling() -> BundlingOptions:
    return BundlingOptions(
        local=PackageCommand(),
        # The fallback: the SAM build image for this runtime and CPU (public.ecr.aws/sam/build-python3.12).
        image=DockerImage.from_registry(f"public.ecr.aws/sam/build-{RUNTIME.name}:latest-arm64"),
        command=[
            "bash",
            "-c",
            "pip install 'cognito-authz[yaml]' -t /asset-output"
            " && cp handler.py orders.py policy.yaml /asset-output",
        ],
    )


# --8<-- [end:bundling]


class OrdersApiStack(Stack):
    """A REST API whose every method is guarded by the cognito-authz TOKEN authorizer."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        pool = CfnParameter(
            self,
            "UserPoolId",
            description="Cognito user pool id, e.g. eu-west-1_AbCdEf123",
            allowed_pattern="[a-z]{2}(-[a-z]+)+-[0-9]{1,2}_[0-9A-Za-z]+",
        )
        clients = CfnParameter(
            self,
            "AppClientIds",
            type="CommaDelimitedList",
            description="App client ids whose access tokens the API accepts",
        )
        code = lambda_.Code.from_asset(str(SOURCE), bundling=_bundling())
        common = {"runtime": RUNTIME, "architecture": ARCHITECTURE, "memory_size": 512, "code": code}
        authorizer_function = lambda_.Function(
            self,
            "AuthorizerFunction",
            handler="handler.handler",
            timeout=Duration.seconds(10),
            description="cognito-authz Lambda authorizer (handler.py + policy.yaml)",
            environment={
                "USER_POOL_ID": pool.value_as_string,
                "APP_CLIENT_IDS": cdk_join(clients.value_as_list),
            },
            **common,  # type: ignore[arg-type]
        )
        orders_function = lambda_.Function(
            self,
            "OrdersFunction",
            handler="orders.handler",
            timeout=Duration.seconds(10),
            description="Orders API, invoked only for requests the authorizer allowed",
            **common,  # type: ignore[arg-type]
        )
        authorizer = apigateway.TokenAuthorizer(
            self,
            "CognitoAuthz",
            handler=authorizer_function,
            identity_source=apigateway.IdentitySource.header("Authorization"),
            # API Gateway answers 401 itself, without invoking the function, when this does not match.
            validation_regex=r"^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$",
            results_cache_ttl=Duration.minutes(5),  # cache-safe policy: principal-wide answers
        )
        api = apigateway.RestApi(
            self,
            "OrdersApi",
            deploy_options=apigateway.StageOptions(stage_name="prod"),
            default_method_options=apigateway.MethodOptions(authorizer=authorizer),
        )
        integration = apigateway.LambdaIntegration(orders_function)
        for method, path in ROUTES:
            resource = api.root.resource_for_path(path)
            resource.add_method(method, integration)
        CfnOutput(self, "ApiUrl", value=api.url)


def cdk_join(values: list[str]) -> str:
    """``Fn::Join`` of a list parameter (resolved by CloudFormation at deploy time)."""
    from aws_cdk import Fn

    return Fn.join(",", values)
