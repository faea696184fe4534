"""A sample pipeline execution role: what a pipeline's steps need, assumable by the StepRunner.

Pipelines name this role as their RoleArn. It lives under the documented path so the StepRunner
(and the engine) may assume it and nothing else.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.arns import PIPELINE_ROLE_PATH, job_log_groups_arn
from infra.nag import acknowledge_unscoped_actions

SAGEMAKER_GRANTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "SageMakerJobsAndModels",
        (
            "CreateProcessingJob",
            "DescribeProcessingJob",
            "StopProcessingJob",
            "CreateTrainingJob",
            "DescribeTrainingJob",
            "StopTrainingJob",
            "CreateTransformJob",
            "DescribeTransformJob",
            "StopTransformJob",
            "CreateHyperParameterTuningJob",
            "DescribeHyperParameterTuningJob",
            "StopHyperParameterTuningJob",
            "ListTrainingJobsForHyperParameterTuningJob",
            "CreateAutoMLJob",
            "DescribeAutoMLJob",
            "StopAutoMLJob",
            "CreateModel",
            "DescribeModel",
            "CreateModelPackage",
            "CreateModelPackageGroup",
            "DescribeModelPackage",
            "AddTags",
            "CreateExperiment",
            "CreateTrial",
            "AssociateTrialComponent",
        ),
        (
            "processing-job",
            "training-job",
            "transform-job",
            "hyper-parameter-tuning-job",
            "automl-job",
            "model",
            "model-package",
            "model-package-group",
            "experiment",
            "experiment-trial",
            "experiment-trial-component",
        ),
    ),
    (
        "Endpoints",
        (
            "CreateEndpointConfig",
            "DescribeEndpointConfig",
            "DeleteEndpointConfig",
            "CreateEndpoint",
            "UpdateEndpoint",
            "DescribeEndpoint",
            "DeleteEndpoint",
            "AddTags",
        ),
        ("endpoint", "endpoint-config"),
    ),
    # The v3 SDK's InferenceComponent step (create or update, then describe until InService)
    # deploys onto an endpoint of this account; its Job step runs CreateJob workloads, which a
    # stop ends with StopJob.
    (
        "InferenceComponents",
        ("CreateInferenceComponent", "UpdateInferenceComponent", "DescribeInferenceComponent", "AddTags"),
        ("inference-component", "endpoint"),
    ),
    ("ModelCustomizationJobs", ("CreateJob", "DescribeJob", "StopJob", "AddTags"), ("job",)),
)
"""(statement id, SageMaker actions, resource types of this account) of each SageMaker grant."""


class PipelineExecutionRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trusted: list[iam.IRole],
        bucket_names: list[str],
        callback_queue_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # SageMaker runs its jobs as this role, EMR Serverless its job runs (the sample passes
        # itself as an EMRServerless step's ExecutionRoleArn).
        principals: list[iam.IPrincipal] = [
            iam.ServicePrincipal("sagemaker.amazonaws.com"),
            iam.ServicePrincipal("emr-serverless.amazonaws.com"),
        ]
        principals += [iam.ArnPrincipal(role.role_arn) for role in trusted]
        self.role = iam.Role(
            self,
            "Role",
            path=PIPELINE_ROLE_PATH,
            assumed_by=iam.CompositePrincipal(*principals),
            description="Sample SageMaker pipeline execution role (jobs, models, endpoints, Lambda, SQS, EMR)",
        )

        for sid, actions, resource_types in SAGEMAKER_GRANTS:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid=sid,
                    actions=[f"sagemaker:{action}" for action in actions],
                    resources=[
                        stack.format_arn(service="sagemaker", resource=r, resource_name="*")
                        for r in resource_types
                    ],
                )
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EmrServerlessSteps",
                actions=[
                    "emr-serverless:CreateApplication",
                    "emr-serverless:GetApplication",
                    "emr-serverless:StopApplication",
                    "emr-serverless:DeleteApplication",
                    "emr-serverless:StartJobRun",
                    "emr-serverless:GetJobRun",
                    "emr-serverless:ListJobRuns",
                    "emr-serverless:CancelJobRun",
                    "emr-serverless:TagResource",
                ],
                resources=[
                    stack.format_arn(
                        service="emr-serverless",
                        resource="/applications",
                        resource_name="*",
                    )
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EmrServerlessServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[
                    stack.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name=(
                            "aws-service-role/ops.emr-serverless.amazonaws.com/AWSServiceRoleForAmazonEMRServerless"
                        ),
                    )
                ],
                conditions={"StringLike": {"iam:AWSServiceName": "ops.emr-serverless.amazonaws.com"}},
            )
        )
        # The Endpoint and InferenceComponent routes look their resource up by name; a stop or a
        # Cleanup finds the application an EMRServerless step created by name; a QualityCheck or
        # ClarifyCheck finds the latest Approved package's drift baselines. List actions take only "*".
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="FindByName",
                actions=[
                    "sagemaker:ListEndpoints",
                    "sagemaker:ListInferenceComponents",
                    "sagemaker:ListModelPackages",
                    "emr-serverless:ListApplications",
                ],
                resources=["*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SyncIntegrationRules",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events", resource="rule", resource_name=f"StepFunctionsGetEventsFor{name}*"
                    )
                    for name in ("SageMaker", "EMRServerless")
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PassSelfToJobs",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={
                    "StringEquals": {
                        "iam:PassedToService": ["sagemaker.amazonaws.com", "emr-serverless.amazonaws.com"]
                    }
                },
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="LambdaSteps",
                actions=["lambda:InvokeFunction"],
                resources=[
                    stack.format_arn(
                        service="lambda",
                        resource="function",
                        resource_name="sagemaker-*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CallbackSteps",
                actions=["sqs:SendMessage"],
                resources=[callback_queue_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EmrSteps",
                actions=[
                    "elasticmapreduce:AddJobFlowSteps",
                    "elasticmapreduce:DescribeStep",
                    "elasticmapreduce:CancelSteps",
                    "elasticmapreduce:RunJobFlow",
                    "elasticmapreduce:TerminateJobFlows",
                    "elasticmapreduce:DescribeCluster",
                ],
                resources=[
                    stack.format_arn(service="elasticmapreduce", resource="cluster", resource_name="*")
                ],
            )
        )
        # Jobs (Processing, Training, Transform, ...) run as this role: they write their logs to
        # /aws/sagemaker/* and pull their images (AWS's framework images live in AWS accounts).
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[job_log_groups_arn(stack)],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PullImages",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[
                    stack.format_arn(service="ecr", account="*", resource="repository", resource_name="*")
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"])
        )
        acknowledge_unscoped_actions(
            self.role,
            "ecr:GetAuthorizationToken (registry login), sagemaker:ListEndpoints, "
            "sagemaker:ListInferenceComponents, sagemaker:ListModelPackages and "
            "emr-serverless:ListApplications",
        )
        if bucket_names:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="PipelineData",
                    actions=["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                    resources=[
                        arn
                        for b in bucket_names
                        for arn in (f"arn:{stack.partition}:s3:::{b}", f"arn:{stack.partition}:s3:::{b}/*")
                    ],
                )
            )
