"""Every bucket the stack makes is private in the same way: one place says how."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct


def private_bucket(
    scope: Construct, construct_id: str, removal_policy: cdk.RemovalPolicy, **options: Any
) -> s3.Bucket:
    """An S3-encrypted bucket that refuses plain HTTP and any public access, emptied on delete
    when the stack's removal policy destroys it; ``options`` are the bucket's own settings
    (ownership, lifecycle, access logs, events)."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        removal_policy=removal_policy,
        auto_delete_objects=removal_policy == cdk.RemovalPolicy.DESTROY,
        **options,
    )
