"""DynamoDB tables: the state table (pipelines, versions, executions, steps, callback tokens)
and the step cache. Both encrypted, with point-in-time recovery; TTL expires cache entries and
stale callback tokens."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

TTL_ATTRIBUTE = "expiresAt"


class DataTables(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        common: dict[str, object] = {
            "partition_key": dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            "sort_key": dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
            "encryption": dynamodb.TableEncryption.AWS_MANAGED,
            "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            "time_to_live_attribute": TTL_ATTRIBUTE,
            "removal_policy": removal_policy,
        }
        self.state = dynamodb.Table(self, "State", **common)  # type: ignore[arg-type]
        self.state.add_global_secondary_index(
            index_name="gsi1",
            partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
        )
        self.cache = dynamodb.Table(self, "Cache", **common)  # type: ignore[arg-type]
