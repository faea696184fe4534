"""The web console in the cloud: the same static app ``pipelines serve`` serves, from a private S3
bucket behind CloudFront, with Cognito sign-in and calls to the API signed with SigV4.

- **Hosting.** A private bucket (public access blocked, TLS enforced) read only by the
  distribution through Origin Access Control; HTTPS only (HTTP redirects), security headers (a
  Content-Security-Policy of ``pipelines serve``, without inline scripts, whose ``connect-src``
  adds exactly the API, Cognito and CloudWatch Logs endpoints), ``index.html`` as the default root object, and a CloudFront Function that
  serves the app for deep links (``/pipelines/<name>``, ``/executions/<id>``, ``/compare``,
  ``/models``).
  Access logs of the distribution and the bucket go to a log bucket, expired after
  ``logRetentionDays``.
- **config.json** (``/_console/config.json``, beside the app's script), written at deploy time
  with the real API endpoint, region, Cognito ids and the CloudWatch Logs endpoint (job logs);
  the app reads it at start-up, so one build serves every deployment.
- **Sign-in.** A Cognito user pool (administrators create users: no self sign-up; strong
  passwords; optional TOTP MFA), an app client for the hosted UI's authorization-code flow with
  PKCE (no client secret: a browser cannot keep one), calling back to the distribution, and an
  identity pool that turns a signed-in user into temporary AWS credentials of one role.
- **The signed-in role** may invoke this API's stage and nothing else on the wire; inside the API
  it is authorized like any caller, by its IAM policies (``pipelines.authorization``), so its
  policy also grants the ``sagemaker:*`` actions the console uses, on pipeline ARNs where the
  API asks for one. Teams narrow it per group with Cognito groups that carry their own role
  (``cognito:preferred_role``; the identity pool maps tokens to roles), see docs/deploy.md.

No business logic: the app is built elsewhere (``shared/pipelines/console``), the API's CORS is
``Api.allow_browser_origin``.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from cdk_nag import RegexAppliesTo
from constructs import Construct
from pipelines.console.serve import CONFIG_PATH, content_security_policy

from infra.constructs.arns import job_log_groups_arn
from infra.constructs.buckets import private_bucket
from infra.nag import acknowledge, resource_pattern
from infra.settings import Settings

SPA_FUNCTION = Path(__file__).with_name("console_spa.js")

PIPELINE_ACTIONS = (
    "DescribePipeline",
    "ListPipelineVersions",
    "ListPipelineExecutions",
    "StartPipelineExecution",
    "DescribePipelineExecution",
    "ListPipelineExecutionSteps",
    "DescribePipelineDefinitionForExecution",
    "ListPipelineParametersForExecution",
    "StopPipelineExecution",
    "RetryPipelineExecution",
    "ListTags",
)
"""What the console does to pipelines and their executions: the API asks for these on the
pipeline's ARN (``pipeline/<name>``) or the execution's (``pipeline/<name>/execution/<id>``)."""

ACCOUNT_ACTIONS = (
    "ListPipelines",
    "SendPipelineExecutionStepSuccess",
    "SendPipelineExecutionStepFailure",
    "DescribeProcessingJob",
    "DescribeTrainingJob",
    "DescribeTransformJob",
    "DescribeHyperParameterTuningJob",
    "ListTrainingJobsForHyperParameterTuningJob",
    "DescribeModel",
    "ListModelPackageGroups",
    "DescribeModelPackageGroup",
    "ListModelPackages",
    "DescribeModelPackage",
    "UpdateModelPackage",
)
"""What the console does that the API authorizes on ``*`` (lists, callback answers, the job
details of a step, the model registry and its approvals), as SageMaker does for lists."""

LOG_ACTIONS = ("logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams")
"""Job logs are read from CloudWatch Logs itself (SageMaker writes them to /aws/sagemaker/*)."""


class Console(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        rest_api: apigw.RestApi,
        api_url: str,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        assets = settings.console_assets
        if not (assets / "index.html").is_file():
            raise ValueError(
                f"the web console's built files are missing: {assets}/index.html does not exist. "
                "Build the console first (make install builds it), point -c consoleAssets=<dir> at a "
                "build, or deploy without the console: -c console=false"
            )
        stack = cdk.Stack.of(self)
        self._settings = settings
        self.logs = private_bucket(
            self,
            "AccessLogs",
            removal_policy,
            # CloudFront's standard logs are delivered with an ACL: the bucket must accept them.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(settings.log_retention_days))],
        )
        acknowledge(
            self.logs,
            "AwsSolutions-S1",
            "This is the access-log bucket of the console's distribution and bucket; logging it into "
            "itself would loop.",
        )
        self.bucket = private_bucket(
            self,
            "Assets",
            removal_policy,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3/",
        )
        self.user_pool = self._user_pool(removal_policy)
        domain_prefix = settings.console_domain_prefix or cdk.Fn.join(
            "-", [settings.name_prefix.lower(), settings.stage.lower(), stack.account]
        )
        self.domain = self.user_pool.add_domain(
            "SignIn", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        cognito_url = self.domain.base_url()
        region = stack.region
        api_origin = f"https://{rest_api.rest_api_id}.execute-api.{region}.{stack.url_suffix}"
        logs_endpoint = f"https://logs.{region}.{stack.url_suffix}"
        # The CSP pipelines serve sends, with the API, Cognito and CloudWatch Logs (job logs)
        # as the only other origins the app may fetch from.
        connect = [
            api_origin,
            f"https://cognito-identity.{region}.{stack.url_suffix}",
            logs_endpoint,
            cognito_url,
        ]
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Web console: CSP without inline scripts, HSTS, no framing, no sniffing",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(" ".join(connect)), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(730),
                    include_subdomains=True,
                    override=True,
                ),
            ),
        )
        spa = cloudfront.Function(
            self,
            "DeepLinks",
            code=cloudfront.FunctionCode.from_file(file_path=str(SPA_FUNCTION)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="Serves the console's index.html for its deep links (paths without a file extension)",
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{settings.name('console')}: the pipelines web console",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=spa, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # consoleDomain + consoleCertificateArn: the distribution answers for that name with
            # its certificate, and TLS 1.2 at least (the default certificate cannot set it).
            domain_names=[settings.console_domain] if settings.console_domain else None,
            certificate=self._certificate(settings),
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if settings.console_domain else None
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
        )
        self._acknowledge_distribution(custom_certificate=settings.console_domain is not None)
        self.origin = f"https://{settings.console_domain or self.distribution.distribution_domain_name}"
        self.client = self._client()
        self.identity_pool = cognito.CfnIdentityPool(
            self,
            "Identities",
            allow_unauthenticated_identities=False,
            allow_classic_flow=False,
            cognito_identity_providers=[
                cognito.CfnIdentityPool.CognitoIdentityProviderProperty(
                    client_id=self.client.user_pool_client_id,
                    provider_name=self.user_pool.user_pool_provider_name,
                    server_side_token_check=True,
                )
            ],
        )
        self.role = self._signed_in_role(rest_api, settings.stage)
        cognito.CfnIdentityPoolRoleAttachment(
            self,
            "Roles",
            identity_pool_id=self.identity_pool.ref,
            roles={"authenticated": self.role.role_arn},
            role_mappings={
                # A user pool group with a role (cognito:preferred_role) gets that role; everyone
                # else the default signed-in role. Unknown roles in a token fall back, not deny.
                "userPool": cognito.CfnIdentityPoolRoleAttachment.RoleMappingProperty(
                    type="Token",
                    ambiguous_role_resolution="AuthenticatedRole",
                    identity_provider=cdk.Fn.join(
                        ":", [self.user_pool.user_pool_provider_name, self.client.user_pool_client_id]
                    ),
                )
            },
        )
        # The app reads it from beside its script (pipelines.console.serve.CONFIG_PATH).
        self.config = {
            "apiEndpoint": api_url,
            "region": region,
            "endpoints": {"logs": logs_endpoint},
            "auth": {
                "userPoolId": self.user_pool.user_pool_id,
                "userPoolClientId": self.client.user_pool_client_id,
                "identityPoolId": self.identity_pool.ref,
                "cognitoDomain": cognito_url,
            },
        }
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Files",
            destination_bucket=self.bucket,
            sources=[
                s3deploy.Source.asset(str(assets)),
                s3deploy.Source.json_data(CONFIG_PATH.lstrip("/"), self.config),
            ],
            # Browsers revalidate (ETag) so a new deploy is seen at once; the deployment also
            # invalidates CloudFront's copies.
            cache_control=[s3deploy.CacheControl.no_cache()],
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            memory_limit=256,
        )
        self._acknowledge_deployment_handler()
        self._outputs()

    def _acknowledge_deployment_handler(self) -> None:
        """CDK's BucketDeployment handler (one per stack) copies the built files from the CDK
        asset bucket and invalidates the distribution: its role's wildcards are CDK's own."""
        stack = cdk.Stack.of(self)
        handlers = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
        for handler in handlers:
            policy = handler.node.find_child("ServiceRole").node.find_child("DefaultPolicy")
            acknowledge(
                policy,
                "AwsSolutions-IAM5",
                "CDK's BucketDeployment handler: it reads the console's build from the CDK asset "
                "bucket, replaces the files of the console bucket (object actions on its objects "
                "only) and invalidates the distribution (CloudFront invalidations accept only '*').",
                applies_to=[
                    *(
                        f"Action::s3:{a}*"
                        for a in ("GetBucket", "GetObject", "List", "Abort", "DeleteObject")
                    ),
                    "Resource::*",
                    RegexAppliesTo(
                        regex=resource_pattern(
                            r"arn:{partition}:s3:::cdk-[a-z0-9]+-assets-{account}-{region}\/\*"
                        )
                    ),
                    RegexAppliesTo(regex=resource_pattern(r"<ConsoleAssets[A-Za-z0-9]+\.Arn>\/\*")),
                ],
            )

    def _user_pool(self, removal_policy: cdk.RemovalPolicy) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=self._settings.name("console-users"),
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=removal_policy == cdk.RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        acknowledge(
            pool,
            "AwsSolutions-COG2",
            "MFA is optional, not required: administrators create every user, and each user can turn "
            "on TOTP MFA in the hosted UI; require it with Mfa.REQUIRED where policy demands.",
        )
        acknowledge(
            pool,
            "AwsSolutions-COG8",
            "Threat protection needs the Plus feature plan, billed per monthly active user; the pool "
            "has no self sign-up (administrators create users), and teams that want it switch the "
            "plan (docs/deploy.md, 'The web console').",
        )
        return pool

    def _client(self) -> cognito.UserPoolClient:
        callback = f"{self.origin}/"
        return self.user_pool.add_client(
            "Console",
            user_pool_client_name=self._settings.name("console"),
            generate_secret=False,  # a browser app is a public client: PKCE instead of a secret
            auth_flows=cognito.AuthFlow(user_srp=False, user_password=False, admin_user_password=False),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[callback],
                logout_urls=[callback],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=cdk.Duration.hours(1),
            access_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.hours(12),
        )

    def _signed_in_role(self, rest_api: apigw.RestApi, stage: str) -> iam.Role:
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "SignedInRole",
            description="Web console users signed in through Cognito: call the pipelines API",
            assumed_by=iam.FederatedPrincipal(
                "cognito-identity.amazonaws.com",
                conditions={
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": self.identity_pool.ref},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
                },
                assume_role_action="sts:AssumeRoleWithWebIdentity",
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CallTheApi",
                actions=["execute-api:Invoke"],
                resources=[
                    rest_api.arn_for_execute_api("POST", "/", stage),
                    rest_api.arn_for_execute_api("POST", "/*", stage),
                    rest_api.arn_for_execute_api("GET", "/schedules", stage),
                    rest_api.arn_for_execute_api("GET", "/schedules/*", stage),
                ],
            )
        )
        pipelines = stack.format_arn(service="sagemaker", resource="pipeline", resource_name="*")
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PipelinesAndExecutions",
                actions=[f"sagemaker:{a}" for a in PIPELINE_ACTIONS],
                resources=[pipelines],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListsJobsAndRegistry",
                actions=[f"sagemaker:{a}" for a in ACCOUNT_ACTIONS],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadJobLogs",
                actions=list(LOG_ACTIONS),
                resources=[job_log_groups_arn(stack)],
            )
        )
        policy = role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "The console's signed-in role: the pipelines API's own stage (every POST operation, "
            "the schedules it lists), any pipeline and execution of the account (as the console "
            "shows them all; narrow per group with a preferred role), SageMaker job logs, and "
            "the calls the API authorizes on '*' (lists, callback answers, job details, registry).",
            applies_to=[
                "Resource::*",
                RegexAppliesTo(
                    regex=resource_pattern(
                        r"arn:{partition}:execute-api:{region}:{account}:<[A-Za-z0-9]+>\/"
                        + stage
                        + r"\/(?:POST|GET\/schedules)\/\*"
                    )
                ),
                RegexAppliesTo(
                    regex=resource_pattern(r"arn:{partition}:sagemaker:{region}:{account}:pipeline\/\*")
                ),
                RegexAppliesTo(
                    regex=resource_pattern(
                        r"arn:{partition}:logs:{region}:{account}:log-group:\/aws\/sagemaker\/\*"
                    )
                ),
            ],
        )
        return role

    def _certificate(self, settings: Settings) -> acm.ICertificate | None:
        if settings.console_certificate_arn is None:
            return None
        return acm.Certificate.from_certificate_arn(self, "Certificate", settings.console_certificate_arn)

    def _acknowledge_distribution(self, *, custom_certificate: bool) -> None:
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "The console serves its users wherever they are; it holds no data (the API does, signed).",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "Static files only: every data call goes to the IAM-authenticated, throttled API; WAF "
            "is an account-level choice.",
        )
        if custom_certificate:
            return
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The default *.cloudfront.net certificate fixes the viewer TLS policy; a custom domain "
            "with its own certificate sets TLSv1.2_2021.",
        )

    def _outputs(self) -> None:
        outputs = {
            "ConsoleUrl": f"{self.origin}/",
            "ConsoleBucket": self.bucket.bucket_name,
            "ConsoleDistributionId": self.distribution.distribution_id,
            # Where a custom domain's CNAME (or Route 53 alias) points.
            "ConsoleDistributionDomain": self.distribution.distribution_domain_name,
            "ConsoleUserPoolId": self.user_pool.user_pool_id,
            "ConsoleUserPoolClientId": self.client.user_pool_client_id,
            "ConsoleIdentityPoolId": self.identity_pool.ref,
            "ConsoleSignInDomain": self.domain.base_url(),
            "ConsoleSignedInRoleArn": self.role.role_arn,
        }
        stack = cdk.Stack.of(self)
        for name, value in outputs.items():
            cdk.CfnOutput(stack, name, value=value)
