#!/usr/bin/env python3
"""CDK app: `cdk synth` / `cdk deploy` the self-hosted SageMaker Pipelines service.

Context (cdk.json or `-c key=value`): stage, namePrefix, logRetentionDays, sharingAccounts,
lambdaArchitecture, example (also register the example pipeline through the `Pipeline`
construct, with a disabled nightly schedule and an S3 upload trigger), console (the web console
behind CloudFront with Cognito sign-in; on unless false), consoleDomain/consoleCertificateArn,
consoleDomainPrefix, consoleAssets. See docs/deploy.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parent / "shared"))

import aws_cdk as cdk

from infra.nag import apply_nag
from infra.settings import settings_from_context
from infra.stacks.example_stack import add_example_pipeline
from infra.stacks.pipelines_stack import PipelinesStack


def build_app(app: cdk.App | None = None, env: cdk.Environment | None = None) -> cdk.App:
    """The app as `cdk synth` builds it; ``env`` defaults to the CLI's account and region."""
    app = app or cdk.App()
    settings = settings_from_context(app.node)
    env = env or cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
    )
    stack = PipelinesStack(
        app, f"{settings.name_prefix}-{settings.stage}-pipelines", settings=settings, env=env
    )
    if settings.example:
        add_example_pipeline(stack)
    apply_nag(app)
    return app


if __name__ == "__main__":
    build_app().synth()
