"""The SageMaker pipeline API (+ Scheduler, RAM and S3 subsets): transport-free operations and
the wire layers that serve them unchanged to boto3 and the SageMaker SDK.

- ``ops``: the SageMaker operations over the Store and an execution runtime (``Operations``,
  ``sagemaker_handlers``); ``ops.access``: owner/RAM authorization.
- ``validation`` / ``shapes``: requests checked and responses shaped by botocore's models.
- ``wire``: AWS JSON 1.1 (``JsonService``); ``rest``: REST services (``RestService``) over a
  codec per protocol: ``rest_json`` (Scheduler, RAM; botocore's model alone, what the Lambdas
  run) and ``embedded_protocols`` (S3's rest-xml and STS's query on moto's protocol layer, for
  ``pipelines serve`` only; nothing the Lambdas import may reach moto).
- ``scheduler`` (+ ``schedule_expressions``), ``ram``, ``s3``: the subsets.
- ``server``: the one-port WSGI app and its HTTP server (waitress: keep-alive, bounded pool); ``embedded``: everything wired
  over a config for ``pipelines serve``; ``client``: a boto3 client for either runtime.
"""
