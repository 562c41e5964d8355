"""The CDK app: ``cdk synth`` / ``cdk deploy`` from this folder (``pip install "cognito-authz[cdk]"``).

One environment-agnostic stack (no account or region is looked up, so it synthesizes offline); the user
pool and app clients are CloudFormation parameters, given at deploy time::

    cdk deploy --parameters UserPoolId=eu-west-1_AbCdEf123 --parameters AppClientIds=clientid1,clientid2
"""

from __future__ import annotations

import aws_cdk as cdk
from orders_stack import OrdersApiStack

app = cdk.App()
OrdersApiStack(app, "CognitoAuthzOrders", description="Orders API behind a cognito-authz Lambda authorizer")
app.synth()
