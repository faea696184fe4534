"""DynamoDB tables and the payload bucket: the state table (pipelines, versions, executions,
steps, callback tokens; two GSIs), the step cache, and S3 for record bodies too large for a
DynamoDB item. Encrypted, point-in-time recovery on the tables; TTL expires cache entries and
stale callback tokens."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.buckets import private_bucket
from infra.nag import acknowledge

TTL_ATTRIBUTE = "expiresAt"
PAYLOAD_PREFIX = "payloads"  # where pipelines.store.dynamodb offloads bodies (PAYLOAD_BUCKET)


def payload_lifecycle() -> s3.LifecycleRule:
    """Record bodies stay as long as the records that point at them (executions are kept, and
    a content-addressed body may be shared), so nothing expires; what can go does: interrupted
    multipart uploads after a day, and bodies older than a month move to Intelligent-Tiering,
    where rarely read history costs less (S3 leaves objects under 128 KB where they are)."""
    return s3.LifecycleRule(
        id="payloads",
        prefix=f"{PAYLOAD_PREFIX}/",
        abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
        transitions=[
            s3.Transition(
                storage_class=s3.StorageClass.INTELLIGENT_TIERING, transition_after=cdk.Duration.days(30)
            )
        ],
    )


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
        for index in ("gsi1", "gsi2"):  # pipelines/executions by time; executions, trials, runs overall
            self.state.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=f"{index}pk", type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=f"{index}sk", type=dynamodb.AttributeType.STRING),
            )
        self.cache = dynamodb.Table(self, "Cache", **common)  # type: ignore[arg-type]
        self.payloads = private_bucket(
            self,
            "Payloads",
            removal_policy,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[payload_lifecycle()],
        )
        acknowledge(
            self.payloads,
            "AwsSolutions-S1",
            "Holds only engine-internal record bodies, written and read by the service's own roles; "
            "object access is audited with CloudTrail data events, which accounts enable centrally.",
        )

    payload_prefix = PAYLOAD_PREFIX

    def grant_payloads(self, grantee: iam.IGrantable) -> None:
        """Read and write offloaded bodies (content-addressed objects under the payload prefix)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RecordPayloads",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[self.payloads.arn_for_objects(f"{PAYLOAD_PREFIX}/*")],
            )
        )
