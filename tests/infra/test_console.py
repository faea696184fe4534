"""CDK assertions on the web console's cloud resources (infra/constructs/console.py): the private
bucket behind CloudFront with Origin Access Control, the security headers and deep links, the
generated config.json, Cognito sign-in and the signed-in role, the API's CORS for the console's
origin only, and the ``console`` context switch."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template
from pipelines.console.serve import content_security_policy

from infra.constructs.console import ACCOUNT_ACTIONS, LOG_ACTIONS, PIPELINE_ACTIONS, SPA_FUNCTION
from tests.infra.conftest import CONSOLE_BUILD, Synth, synth


def _only(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    resources = template.find_resources(kind)
    assert len(resources) == 1, f"expected one {kind}, found {sorted(resources)}"
    return next(iter(resources.items()))


def _logical(template: Template, kind: str, prefix: str) -> str:
    [logical] = [k for k in template.find_resources(kind) if k.startswith(prefix)]
    return logical


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _distribution_domain(template: Template) -> dict[str, Any]:
    logical, _ = _only(template, "AWS::CloudFront::Distribution")
    return {"Fn::GetAtt": [logical, "DomainName"]}


def _console_origin(template: Template) -> dict[str, Any]:
    return {"Fn::Join": ["", ["https://", _distribution_domain(template)]]}


@pytest.fixture(scope="module")
def console_off() -> Synth:
    return synth({"console": "false"})


# -- the bucket -------------------------------------------------------------------------------------


def test_the_bucket_is_private_tls_only_and_readable_by_the_distribution_alone(template: Template) -> None:
    bucket = _logical(template, "AWS::S3::Bucket", "ConsoleAssets")
    props = template.find_resources("AWS::S3::Bucket")[bucket]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "s3/"
    [policy] = [
        p["Properties"]["PolicyDocument"]
        for p in template.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    statements = _statements(policy)
    deny_plain_http = [s for s in statements if s["Effect"] == "Deny"]
    assert deny_plain_http and all(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in deny_plain_http
    )
    # Reads are CloudFront's, signed by Origin Access Control, for this distribution only; the
    # other grants are CDK's auto-delete (dev stages) on its own role.
    [read] = [
        s
        for s in statements
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert _list(read["Action"]) == ["s3:GetObject"]
    distribution, _ = _only(template, "AWS::CloudFront::Distribution")
    source_arn = json.dumps(read["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert f'"Ref": "{distribution}"' in source_arn and ":distribution/" in source_arn
    others = [s for s in statements if s["Effect"] == "Allow" and s is not read]
    assert all("AWS" in s["Principal"] and "Service" not in s["Principal"] for s in others)
    assert all("s3:GetObject" not in _list(s["Action"]) for s in others)


def test_access_logs_expire_with_the_log_retention(template: Template) -> None:
    logs = _logical(template, "AWS::S3::Bucket", "ConsoleAccessLogs")
    props = template.find_resources("AWS::S3::Bucket")[logs]["Properties"]
    assert props["LifecycleConfiguration"]["Rules"] == [{"ExpirationInDays": 30, "Status": "Enabled"}]
    assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    _, distribution = _only(template, "AWS::CloudFront::Distribution")
    logging = distribution["Properties"]["DistributionConfig"]["Logging"]
    assert logging["Bucket"] == {"Fn::GetAtt": [logs, "RegionalDomainName"]}


# -- CloudFront ---------------------------------------------------------------------------------------


def test_the_distribution_uses_origin_access_control_and_https_only(template: Template) -> None:
    oac_logical, oac = _only(template, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": None} == {
        "Name": None,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    assert not template.find_resources("AWS::CloudFront::CloudFrontOriginAccessIdentity")
    _, distribution = _only(template, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_logical, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert "CacheBehaviors" not in config  # one behaviour: every path gets the headers below
    assert config["DefaultRootObject"] == "index.html"


def _csp(template: Template) -> tuple[dict[str, Any], str]:
    _, policy = _only(template, "AWS::CloudFront::ResponseHeadersPolicy")
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    text = "".join(
        p if isinstance(p, str) else "<" + json.dumps(p, separators=(",", ":")) + ">"
        for p in csp["Fn::Join"][1]
    )
    return headers, text


def test_security_headers_forbid_inline_script_and_name_the_api_and_cognito(template: Template) -> None:
    headers, csp = _csp(template)
    _, distribution = _only(template, "AWS::CloudFront::Distribution")
    policy, _ = _only(template, "AWS::CloudFront::ResponseHeadersPolicy")
    assert distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"][
        "ResponseHeadersPolicyId"
    ] == {"Ref": policy}
    directives = {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in (x.strip() for x in csp.split(";"))}
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["default-src"] == "'none'"
    assert csp.startswith(content_security_policy("X").split("connect-src")[0])  # as pipelines serve
    assert directives["frame-ancestors"] == "'none'"
    assert "object-src" not in directives  # default-src 'none' covers it
    api, _ = _only(template, "AWS::ApiGateway::RestApi")
    domain = _logical(template, "AWS::Cognito::UserPoolDomain", "ConsoleUsersSignIn")
    connect = directives["connect-src"].split(" ")
    assert connect[0] == "'self'"
    region = '<{"Ref":"AWS::Region"}>'
    assert f'https://<{{"Ref":"{api}"}}>.execute-api.{region}.<{{"Ref":"AWS::URLSuffix"}}>' in connect
    suffix = '<{"Ref":"AWS::URLSuffix"}>'
    assert f"https://cognito-identity.{region}.{suffix}" in connect
    assert f"https://logs.{region}.{suffix}" in connect
    assert f'https://<{{"Ref":"{domain}"}}>.auth.{region}.amazoncognito.com' in connect
    assert not any("*" in source for source in connect)
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000


def _route(uri: str) -> str:
    script = (
        SPA_FUNCTION.read_text()
        + f"\nprocess.stdout.write(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);"
    )
    return subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize(
    ("uri", "served"),
    [
        ("/", "/index.html"),
        ("/pipelines/abalone-train", "/index.html"),
        ("/pipelines/abalone-train/", "/index.html"),
        ("/executions/0a1b2c3d4e5f", "/index.html"),
        ("/models", "/index.html"),
        ("/compare", "/index.html"),
        ("/index.html", "/index.html"),
        ("/_console/config.json", "/_console/config.json"),
        ("/_console/app.js", "/_console/app.js"),
        ("/_console/favicon.svg", "/_console/favicon.svg"),
    ],
)
def test_deep_links_load_the_app_and_files_stay_files(uri: str, served: str) -> None:
    """The distribution's viewer-request function (run here in node, as CloudFront runs it)."""
    assert _route(uri) == served


def test_the_deep_link_function_runs_on_every_viewer_request(template: Template) -> None:
    function, props = _only(template, "AWS::CloudFront::Function")
    assert props["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert props["Properties"]["FunctionCode"] == SPA_FUNCTION.read_text()
    _, distribution = _only(template, "AWS::CloudFront::Distribution")
    behavior = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function, "FunctionARN"]}}
    ]


# -- the deployed files and config.json ---------------------------------------------------------------


def test_the_build_and_a_generated_config_are_deployed_and_invalidated(synthesized: Synth) -> None:
    template = synthesized.template
    _, deployment = _only(template, "Custom::CDKBucketDeployment")
    props = deployment["Properties"]
    assert props["DestinationBucketName"] == {"Ref": _logical(template, "AWS::S3::Bucket", "ConsoleAssets")}
    distribution, _ = _only(template, "AWS::CloudFront::Distribution")
    assert props["DistributionId"] == {"Ref": distribution}
    assert props["DistributionPaths"] == ["/*"]
    assert props["Prune"] is True
    # Two sources: the build (its asset holds index.html), and config.json with deploy-time markers.
    assembly = synthesized.template_file.parent
    staged = [assembly / f"asset.{key.removesuffix('.zip')}" for key in props["SourceObjectKeys"]]
    assert (staged[0] / "index.html").read_text() == (CONSOLE_BUILD / "index.html").read_text()
    config_text = (staged[1] / "_console" / "config.json").read_text()
    markers = props["SourceMarkers"][1]
    for marker, value in markers.items():
        config_text = config_text.replace(marker, json.dumps(value))
    config = json.loads(config_text)
    assert set(config) == {"apiEndpoint", "region", "auth", "endpoints"}
    assert set(config["endpoints"]) == {"logs"}  # job logs: CloudWatch Logs itself
    assert "https://logs." in json.dumps(config["endpoints"]["logs"])
    api, _ = _only(template, "AWS::ApiGateway::RestApi")
    endpoint = json.dumps(config["apiEndpoint"])
    assert f'{{"Ref": "{api}"}}' in endpoint and ".execute-api." in endpoint
    assert '"Ref": "ApiRestApiDeploymentStagedev' in endpoint  # the stage URL, as the SDK is given
    assert json.dumps(config["region"]) == json.dumps({"Fn::Join": ["", ['"', {"Ref": "AWS::Region"}, '"']]})
    auth = config["auth"]
    assert set(auth) == {"userPoolId", "userPoolClientId", "identityPoolId", "cognitoDomain"}
    expected = {
        "userPoolId": _logical(template, "AWS::Cognito::UserPool", "ConsoleUsers"),
        "userPoolClientId": _logical(template, "AWS::Cognito::UserPoolClient", "ConsoleUsersConsole"),
        "identityPoolId": _logical(template, "AWS::Cognito::IdentityPool", "ConsoleIdentities"),
    }
    for key, logical in expected.items():
        assert auth[key] == {"Fn::Join": ["", ['"', {"Ref": logical}, '"']]}
    assert ".amazoncognito.com" in json.dumps(auth["cognitoDomain"])


# -- Cognito ------------------------------------------------------------------------------------------


def test_the_user_pool_admits_only_administrator_created_users_with_strong_passwords(
    template: Template,
) -> None:
    _, pool = _only(template, "AWS::Cognito::UserPool")
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    password = props["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(
        password[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert props["MfaConfiguration"] == "OPTIONAL"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["UsernameAttributes"] == ["email"]
    assert props["AccountRecoverySetting"]["RecoveryMechanisms"] == [
        {"Name": "verified_email", "Priority": 1}
    ]


def test_the_app_client_is_public_code_flow_calling_back_to_the_console(template: Template) -> None:
    _, client = _only(template, "AWS::Cognito::UserPoolClient")
    props = client["Properties"]
    assert props["GenerateSecret"] is False  # a browser keeps no secret: PKCE protects the code
    assert props["AllowedOAuthFlows"] == ["code"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(props["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert props["SupportedIdentityProviders"] == ["COGNITO"]
    assert props["ExplicitAuthFlows"] == [
        "ALLOW_REFRESH_TOKEN_AUTH"
    ]  # no password flows outside the hosted UI
    callback = {"Fn::Join": ["", ["https://", _distribution_domain(template), "/"]]}
    assert props["CallbackURLs"] == [callback]
    assert props["LogoutURLs"] == [callback]
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    _, domain = _only(template, "AWS::Cognito::UserPoolDomain")
    assert "Domain" in domain["Properties"]


def test_the_identity_pool_gives_signed_in_users_one_role_and_guests_none(template: Template) -> None:
    pool_logical, pool = _only(template, "AWS::Cognito::IdentityPool")
    props = pool["Properties"]
    assert props["AllowUnauthenticatedIdentities"] is False
    assert props["AllowClassicFlow"] is False
    [provider] = props["CognitoIdentityProviders"]
    assert provider["ServerSideTokenCheck"] is True
    client = _logical(template, "AWS::Cognito::UserPoolClient", "ConsoleUsersConsole")
    assert provider["ClientId"] == {"Ref": client}
    _, attachment = _only(template, "AWS::Cognito::IdentityPoolRoleAttachment")
    attached = attachment["Properties"]
    role = _logical(template, "AWS::IAM::Role", "ConsoleSignedInRole")
    assert attached["IdentityPoolId"] == {"Ref": pool_logical}
    assert attached["Roles"] == {"authenticated": {"Fn::GetAtt": [role, "Arn"]}}  # no "unauthenticated"
    [mapping] = attached["RoleMappings"].values()
    assert mapping["Type"] == "Token" and mapping["AmbiguousRoleResolution"] == "AuthenticatedRole"
    assert json.dumps({"Ref": client}) in json.dumps(mapping["IdentityProvider"])
    trust = template.find_resources("AWS::IAM::Role")[role]["Properties"]["AssumeRolePolicyDocument"]
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Federated": "cognito-identity.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {"cognito-identity.amazonaws.com:aud": {"Ref": pool_logical}},
        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
    }


def test_the_signed_in_role_calls_this_api_and_the_consoles_sagemaker_actions_only(
    template: Template,
) -> None:
    role = _logical(template, "AWS::IAM::Role", "ConsoleSignedInRole")
    policies = [
        p["Properties"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    assert not template.find_resources("AWS::IAM::Role")[role]["Properties"].get("ManagedPolicyArns")
    statements = {s["Sid"]: s for s in _statements(policies[0]["PolicyDocument"])}
    assert set(statements) == {"CallTheApi", "PipelinesAndExecutions", "ListsJobsAndRegistry", "ReadJobLogs"}
    assert all(s["Effect"] == "Allow" for s in statements.values())
    invoke = statements["CallTheApi"]
    assert _list(invoke["Action"]) == ["execute-api:Invoke"]
    api, _ = _only(template, "AWS::ApiGateway::RestApi")
    paths = []
    for resource in invoke["Resource"]:
        parts = resource["Fn::Join"][1]
        assert parts[-2] == {"Ref": api}  # this API, its stage ("dev"), no other
        paths.append(parts[-1])
    assert sorted(paths) == ["/dev/GET/schedules", "/dev/GET/schedules/*", "/dev/POST/", "/dev/POST/*"]
    pipelines = statements["PipelinesAndExecutions"]
    assert sorted(_list(pipelines["Action"])) == sorted(f"sagemaker:{a}" for a in PIPELINE_ACTIONS)
    assert json.dumps(pipelines["Resource"]).endswith(':pipeline/*"]]}')
    account = statements["ListsJobsAndRegistry"]
    assert sorted(_list(account["Action"])) == sorted(f"sagemaker:{a}" for a in ACCOUNT_ACTIONS)
    assert account["Resource"] == "*"
    # Nothing that creates, changes or deletes a pipeline, and no role to pass.
    granted = {a for s in statements.values() for a in _list(s["Action"])}
    assert not {"sagemaker:CreatePipeline", "sagemaker:UpdatePipeline", "sagemaker:DeletePipeline"} & granted
    assert not any(a.startswith(("iam:", "s3:", "sts:")) or a.endswith("*") for a in granted)
    logs = statements["ReadJobLogs"]
    assert sorted(_list(logs["Action"])) == sorted(LOG_ACTIONS)
    assert json.dumps(logs["Resource"]).endswith(':log-group:/aws/sagemaker/*"]]}')


# -- the API's CORS -----------------------------------------------------------------------------------


def test_preflights_answer_the_console_origin_without_reaching_the_lambda(template: Template) -> None:
    methods = template.find_resources("AWS::ApiGateway::Method")
    preflights = [m["Properties"] for m in methods.values() if m["Properties"]["HttpMethod"] == "OPTIONS"]
    assert len(preflights) == 2  # "/" and "/{proxy+}"
    origin = {"Fn::Join": ["", ["'https://", _distribution_domain(template), "'"]]}
    for method in preflights:
        assert method["AuthorizationType"] == "NONE"
        assert method["Integration"]["Type"] == "MOCK"
        [response] = method["Integration"]["IntegrationResponses"]
        headers = response["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == origin
        allowed = headers["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")
        assert {"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Target", "Content-Type"} <= set(
            allowed
        )
    others = [m["Properties"] for m in methods.values() if m["Properties"]["HttpMethod"] != "OPTIONS"]
    assert {m["AuthorizationType"] for m in others} == {"AWS_IAM"}
    assert all(m["Integration"]["Type"] == "AWS_PROXY" for m in others)


def test_the_resource_policy_admits_anonymous_callers_to_preflights_only(template: Template) -> None:
    _, api = _only(template, "AWS::ApiGateway::RestApi")
    anonymous = [s for s in api["Properties"]["Policy"]["Statement"] if s["Principal"] == {"AWS": "*"}]
    assert anonymous == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Resource": "execute-api:/*/OPTIONS/*",
            "Sid": "CorsPreflight",
        }
    ]


def test_the_api_lambda_and_gateway_errors_name_the_console_origin(template: Template) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    origins = {
        logical: f["Properties"]["Environment"]["Variables"].get("CONSOLE_ORIGIN")
        for logical, f in functions.items()
        if "Environment" in f["Properties"]
    }
    assert [k for k, v in origins.items() if v is not None] == [
        _logical(template, "AWS::Lambda::Function", "ApiFunction")
    ]
    assert next(v for v in origins.values() if v is not None) == _console_origin(template)
    responses = template.find_resources("AWS::ApiGateway::GatewayResponse")
    quoted = {"Fn::Join": ["", ["'https://", _distribution_domain(template), "'"]]}
    assert responses and all(
        r["Properties"]["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == quoted
        for r in responses.values()
    )


# -- the context switch -------------------------------------------------------------------------------

CONSOLE_TYPES = (
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudFront::Function",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::IdentityPool",
    "AWS::Cognito::IdentityPoolRoleAttachment",
    "Custom::CDKBucketDeployment",
)


def test_console_false_leaves_out_the_console_and_the_apis_cors(
    console_off: Synth, template: Template
) -> None:
    for kind in CONSOLE_TYPES:
        assert template.find_resources(kind), kind  # on by default
        assert not console_off.template.find_resources(kind), kind
    off = console_off.template
    methods = off.find_resources("AWS::ApiGateway::Method").values()
    assert {m["Properties"]["HttpMethod"] for m in methods} == {"POST", "ANY"}
    _, api = _only(off, "AWS::ApiGateway::RestApi")
    assert [s["Sid"] for s in api["Properties"]["Policy"]["Statement"]] == ["OwnerAndSharingAccounts"]
    text = console_off.template_file.read_text()
    assert "CONSOLE_ORIGIN" not in text and "Access-Control-Allow-Origin" not in text
    assert not any(o.startswith("Console") for o in json.loads(text).get("Outputs", {}))


def test_console_false_synthesizes_cleanly_under_cdk_nag(console_off: Synth) -> None:
    annotations = Annotations.from_stack(console_off.stack)
    findings = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    findings += annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [str(f.entry.data)[:200] for f in findings] == []


def test_the_console_outputs_what_administrators_need(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    assert {
        "ConsoleUrl",
        "ConsoleUserPoolId",
        "ConsoleUserPoolClientId",
        "ConsoleIdentityPoolId",
        "ConsoleSignInDomain",
        "ConsoleSignedInRoleArn",
        "ConsoleBucket",
        "ConsoleDistributionId",
        "ConsoleDistributionDomain",
    } <= set(outputs)
    assert outputs["ConsoleUrl"]["Value"] == {
        "Fn::Join": ["", ["https://", _distribution_domain(template), "/"]]
    }


def test_a_missing_build_fails_the_synth_naming_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=re.escape("console=false")) as raised:
        synth({"consoleAssets": str(tmp_path)})
    assert str(tmp_path) in str(raised.value)


def test_a_bad_domain_prefix_fails_the_synth() -> None:
    with pytest.raises(Exception, match="consoleDomainPrefix"):
        synth({"consoleDomainPrefix": "My_Console"})


CERTIFICATE = "arn:aws:acm:us-east-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def test_a_custom_domain_serves_the_console_with_its_certificate_and_tls_1_2() -> None:
    custom = synth({"consoleDomain": "pipelines.example.com", "consoleCertificateArn": CERTIFICATE})
    template = custom.template
    _, distribution = _only(template, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    assert config["Aliases"] == ["pipelines.example.com"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": CERTIFICATE,
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }
    # The console's origin is the custom domain: sign-in callback, CORS, the api Lambda's header.
    origin = "https://pipelines.example.com"
    _, client = _only(template, "AWS::Cognito::UserPoolClient")
    assert client["Properties"]["CallbackURLs"] == [f"{origin}/"]
    methods = template.find_resources("AWS::ApiGateway::Method").values()
    preflights = [m["Properties"] for m in methods if m["Properties"]["HttpMethod"] == "OPTIONS"]
    assert {
        p["Integration"]["IntegrationResponses"][0]["ResponseParameters"][
            "method.response.header.Access-Control-Allow-Origin"
        ]
        for p in preflights
    } == {f"'{origin}'"}
    api = template.find_resources("AWS::Lambda::Function")[
        _logical(template, "AWS::Lambda::Function", "ApiFunction")
    ]
    assert api["Properties"]["Environment"]["Variables"]["CONSOLE_ORIGIN"] == origin
    outputs = template.to_json()["Outputs"]
    assert outputs["ConsoleUrl"]["Value"] == f"{origin}/"
    assert outputs["ConsoleDistributionDomain"]["Value"] == _distribution_domain(template)
    # With its own certificate the distribution needs no TLS acknowledgment (cdk-nag CFR4).
    annotations = Annotations.from_stack(custom.stack)
    assert annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) == []
    metadata = json.dumps(distribution.get("Metadata", {}))
    assert "AwsSolutions-CFR4" not in metadata


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"consoleDomain": "pipelines.example.com"}, "go together"),
        (
            {"consoleDomain": "Pipelines_Example", "consoleCertificateArn": CERTIFICATE},
            "not a lowercase DNS name",
        ),
        (
            {
                "consoleDomain": "pipelines.example.com",
                "consoleCertificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1"),
            },
            "us-east-1",
        ),
    ],
)
def test_a_custom_domain_needs_its_us_east_1_certificate(context: dict[str, str], message: str) -> None:
    with pytest.raises(Exception, match=message):
        synth(context)
