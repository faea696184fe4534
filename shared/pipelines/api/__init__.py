"""The SageMaker pipeline API (+ Scheduler, RAM and S3 subsets): transport-free operations and
the wire layers that serve them unchanged to boto3 and the SageMaker SDK.

- ``ops``: the SageMaker operations over the Store and an execution runtime (``Operations``,
  ``sagemaker_handlers``); ``ops.access``: owner/RAM authorization.
- ``validation`` / ``shapes``: requests checked and responses shaped by botocore's models.
- ``wire``: AWS JSON 1.1 (``JsonService``); ``rest``: rest-json / rest-xml via moto's
  model-driven protocol layer (``RestService``).
- ``scheduler`` (+ ``schedule_expressions``), ``ram``, ``s3``: the subsets.
- ``server``: the one-port WSGI app and its HTTP server (waitress: keep-alive, bounded pool); ``embedded``: everything wired
  over a config for ``pipelines serve``; ``client``: a boto3 client for either runtime.
"""
