"""Tests of pipelines.stepfunctions, ``pipelines asl`` and ``pipelines plan``."""
