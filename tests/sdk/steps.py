"""SageMaker SDK v2 step-building shared by the test areas that build pipelines with the SDK."""

from __future__ import annotations

from typing import Any


def endpoint_steps(
    session: Any,
    model_step: Any,
    endpoint: str,
    *,
    config_step_name: str,
    depends_on: list[Any] | None = None,
) -> tuple[Any, Any]:
    """The EndpointConfigStep for the model ``model_step`` created (one ml.m5.large instance, the
    config named ``<endpoint>-<execution id>``) and the EndpointStep ``Deploy`` creating
    ``endpoint`` with it, as a user deploys a pipeline's model with the SDK."""
    from sagemaker.workflow.endpoint_step import EndpointConfigStep, EndpointStep
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join

    config = EndpointConfigStep(
        name=config_step_name,
        step_args=session.create_endpoint_config(
            name=Join(on="-", values=[endpoint, ExecutionVariables.PIPELINE_EXECUTION_ID]),
            model_name=model_step.properties.ModelName,
            initial_instance_count=1,
            instance_type="ml.m5.large",
        ),
        depends_on=depends_on,
    )
    deploy = EndpointStep(
        name="Deploy",
        step_args=session.create_endpoint(
            endpoint_name=endpoint, config_name=config.properties.EndpointConfigName
        ),
    )
    return config, deploy
