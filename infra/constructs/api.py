"""The SageMaker-compatible API: API Gateway REST with AWS_IAM auth in front of the api Lambda.

`POST /` takes `X-Amz-Target: SageMaker.<Operation>` like the real endpoint; `POST /<Operation>`
is the per-operation variant, so IAM policies can scope `execute-api:Invoke` by operation.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.log_groups import log_group
from infra.settings import Settings

# API Gateway's own refusals (IAM deny, bad signature, throttling) answered in the AWS JSON error
# shape, so SDKs see SageMaker's error codes (and retry throttling) instead of a bare "403".
GATEWAY_ERRORS: dict[str, str] = {
    "ACCESS_DENIED": "AccessDeniedException",
    "UNAUTHORIZED": "UnrecognizedClientException",
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "INVALID_SIGNATURE": "InvalidSignatureException",
    "EXPIRED_TOKEN": "ExpiredTokenException",
    "THROTTLED": "ThrottlingException",
    "QUOTA_EXCEEDED": "ThrottlingException",
    "REQUEST_TOO_LARGE": "RequestEntityTooLargeException",
    "DEFAULT_4_XX": "ValidationException",
    "DEFAULT_5_XX": "InternalFailure",
}


CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Target",
    "X-Amz-Content-Sha256",
    "X-Amz-User-Agent",
    "Amz-Sdk-Invocation-Id",
    "Amz-Sdk-Request",
)
"""The request headers a SigV4-signed AWS JSON call from a browser carries (the preflight
must name each one, or the browser never sends the call)."""


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        access_logs = log_group(self, "AccessLogs", settings.log_retention_days)
        principals: list[iam.IPrincipal] = [iam.AccountPrincipal(stack.account)]
        principals += [iam.AccountPrincipal(account) for account in settings.sharing_accounts]
        self.policy = policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="OwnerAndSharingAccounts",
                    principals=principals,
                    actions=["execute-api:Invoke"],
                    resources=["execute-api:/*"],
                )
            ]
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=settings.name("api"),
            description="SageMaker pipeline operations (AWS JSON 1.1), RAM and Scheduler subsets",
            policy=policy,
            cloud_watch_role=False,
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            deploy_options=apigw.StageOptions(
                stage_name=settings.stage,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                throttling_rate_limit=50,
                throttling_burst_limit=100,
                tracing_enabled=True,
                metrics_enabled=True,
            ),
            endpoint_types=[apigw.EndpointType.REGIONAL],
        )
        if settings.api_gateway_account:
            self._cloudwatch_role(self.rest_api.deployment_stage)
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=False, validate_request_parameters=True
        )
        integration = apigw.LambdaIntegration(function, proxy=True)
        self.rest_api.root.add_method("POST", integration, request_validator=validator)
        # `POST /<Operation>` (IAM can scope execute-api:Invoke to `.../POST/CreatePipeline`), and
        # the REST-JSON paths of the RAM and Scheduler subsets, all reach the same Lambda.
        self.proxy = self.rest_api.root.add_resource("{proxy+}")
        self.proxy.add_method("ANY", integration, request_validator=validator)
        self.gateway_responses: list[apigw.GatewayResponse] = []
        for response_type, code in GATEWAY_ERRORS.items():
            response = self.rest_api.add_gateway_response(
                f"{response_type.title().replace('_', '')}Response",
                type=getattr(apigw.ResponseType, response_type),
                response_headers={"x-amzn-ErrorType": f"'{code}'"},
                templates={
                    "application/json": f'{{"__type":"{code}","message":$context.error.messageString}}'
                },
            )
            self.gateway_responses.append(response)
        self.stage_name = settings.stage

    def allow_browser_origin(self, origin: str) -> None:
        """Let one browser origin (the web console's) call the API cross-origin, signed.

        - The CORS preflight (``OPTIONS``, which browsers send without credentials) is answered
          by API Gateway itself (a mock integration: no Lambda runs) for ``origin`` only, naming
          the headers a SigV4-signed AWS JSON call carries.
        - The resource policy admits anonymous callers to those ``OPTIONS`` methods and to
          nothing else: every other method still needs SigV4 (AWS_IAM) from an admitted account.
        - Gateway errors (expired token, denied) carry the origin too, so the console can read
          them (and refresh its credentials) instead of seeing an opaque network error.

        The api Lambda adds the same header to its own answers (``CONSOLE_ORIGIN``).
        """
        for resource in (self.rest_api.root, self.proxy):
            resource.add_cors_preflight(
                allow_origins=[origin],
                allow_methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
                allow_headers=list(CORS_REQUEST_HEADERS),
                max_age=cdk.Duration.hours(1),
            )
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="CorsPreflight",
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=["execute-api:/*/OPTIONS/*"],
            )
        )
        for response in self.gateway_responses:
            cfn = response.node.default_child
            assert isinstance(cfn, apigw.CfnGatewayResponse)
            cfn.add_property_override(
                "ResponseParameters.gatewayresponse\\.header\\.Access-Control-Allow-Origin", f"'{origin}'"
            )

    def _cloudwatch_role(self, stage: apigw.Stage) -> None:
        """API Gateway writes a stage's logs with one role per account and region, set in the
        account settings; without it the stage fails to create ("CloudWatch Logs role ARN must be
        set in account settings"). Retained on delete: the setting outlives the stack, and other
        APIs in the account may log through the same role."""
        role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway pushes stage logs to CloudWatch Logs (account setting)",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)
        account.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        stage.node.add_dependency(account)

    @property
    def url(self) -> str:
        return self.rest_api.url
