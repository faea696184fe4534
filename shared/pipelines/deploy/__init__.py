"""The cloud deployment's side of the core: what the CDK stack and the Lambda handlers share.

Public API::

    pipelines.deploy.settings      # environment variable names the stack sets; CloudSettings.from_environment()
    pipelines.deploy.apigateway    # CloudEndpoint, handle_proxy_event(endpoint, event) -> (service, HttpResponse)
    pipelines.deploy.wiring        # cloud_endpoint(), cloud_starter(): the services of one Lambda container
    pipelines.deploy.clients       # api_clients(api_url, region) -> sagemaker/scheduler/ram/events clients
                                   #   signed for execute-api (pipelines.api.client.sign_for_execute_api)
    pipelines.deploy.resource      # PipelineResource(clients).on_event(cfn_event): the Pipeline construct's
                                   #   custom resource; PipelineSpec / ShareSpec / ScheduleSpec
    pipelines.deploy.ram_store     # DynamoDBShareStorage: ResourceShares' documents in the state table
"""
