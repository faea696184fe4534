"""The moto Step Functions fixture (``cloud``), shared by this suite's modules."""

from .test_sfn_moto_execution import cloud  # noqa: F401
