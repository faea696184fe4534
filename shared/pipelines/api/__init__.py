"""The SageMaker pipeline API (+ Scheduler, RAM, S3 and STS subsets): transport-free operations and
the wire layers that serve them unchanged to boto3 and the SageMaker SDK.

- ``ops``: the SageMaker operations over the Store and an execution runtime (``Operations``,
  ``sagemaker_handlers``); ``ops.access``: owner/RAM authorization.
- ``validation`` / ``shapes``: requests checked and responses shaped by botocore's models.
- ``wire``: AWS JSON 1.1 (``JsonService``); ``rest``: REST and query services (``RestService``)
  over ``codec.ModelCodec``, one server-side codec driven by botocore's service model (routing
  by ``requestUri``/method or ``Action``, members from URI labels, query string, headers and
  payload, outputs to headers, status and body), with the body format of each protocol:
  ``rest_json`` (Scheduler, RAM), ``rest_xml`` + ``xml_shapes`` (S3), ``query`` (STS). No
  mocking library anywhere (tests/test_repository_boundary.py); the Lambdas and
  ``pipelines serve`` run the same code.
- ``scheduler`` (+ ``schedule_expressions``), ``ram``, ``s3``, ``sts``: the subsets.
- ``server``: the one-port WSGI app and its HTTP server (waitress: keep-alive, bounded pool); ``embedded``: everything wired
  over a config for ``pipelines serve``; ``client``: a boto3 client for either runtime.
"""
