"""Self-hosted SageMaker Pipelines: the core package shared by the CLI, the API and the Lambdas."""

__version__ = "0.1.0"
