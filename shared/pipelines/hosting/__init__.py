"""Endpoints on this machine: SageMaker's hosting contract served locally (embedded runtime).

A model (a CreateModel request recorded in the local model registry: ``PrimaryContainer`` with
``Image``, ``ModelDataUrl`` and ``Environment``) is served by ``_model_server.py`` in a sandboxed
process of its own, under the interpreter ``[images]`` maps its image to, with the default
handlers of its framework container (scikit-learn, XGBoost) and the model's ``inference.py``
(``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``). It answers ``GET /ping`` and
``POST /invocations`` on a loopback port of its own. See docs/hosting.md.

Interfaces, from the lowest level up:

- :func:`start_model_server` ``(config, model, *, name=None, objects=None) -> ModelServer``:
  serve one model now, without an endpoint record (a Clarify check's shadow endpoint). Returns
  once ``/ping`` answers; raises :class:`ModelLoadFailed` with the reason otherwise.
  ``server.url`` is ``http://127.0.0.1:<port>``; ``server.invoke(body, content_type=...,
  accept=...)`` posts to ``/invocations`` and returns the urllib3 response; ``server.stop()``
  ends it (also a context manager). The process dies with the thread that started it.
- :class:`EndpointHost` (``EndpointHost.for_config(config)``: one per process and state
  database): the control plane. ``create_endpoint_config``, ``create_endpoint``,
  ``update_endpoint``, ``delete_endpoint``, ``describe_*``, ``list_*`` take and return the
  SageMaker API's shapes; ``wait(name)`` returns the DescribeEndpoint response once the endpoint
  is InService or Failed; ``target(name)`` gives the (variant, port) an invocation goes to;
  ``restore()`` brings back every endpoint no live process hosts.
- ``EndpointHost.components`` (:class:`~pipelines.hosting.components.InferenceComponentHost`):
  inference components on endpoints made for them (variants without a ModelName). ``create``,
  ``update``, ``describe``, ``list``, ``delete`` take and return the SageMaker API's shapes;
  ``wait(name)`` returns the Describe response once InService or Failed; ``route(name,
  endpoint)`` gives the (variant, port) of the component's model server, starting one in this
  process when none serves it here.
- :func:`delete_local_endpoint` ``(config, name) -> bool``: delete an endpoint wherever it is
  served (its model servers end, its record goes); False when there is none. For the Cleanup
  step and ``pipelines endpoints delete``.

The records (:mod:`pipelines.hosting.records`) live in the state database, so ``pipelines run``,
``pipelines serve`` and ``pipelines endpoints`` see the same endpoints. The Endpoint and
EndpointConfig step runners are in :mod:`pipelines.runners.endpoint` (InferenceComponent in
:mod:`pipelines.runners.inference_component`); the API operations in
:mod:`pipelines.api.ops.endpoints` and :mod:`pipelines.api.ops.inference_components`; InvokeEndpoint on ``pipelines serve`` in
:mod:`pipelines.api.runtime`.
"""

from pipelines.hosting.host import EndpointHost, EndpointNotReady, delete_local_endpoint
from pipelines.hosting.model_server import ModelLoadFailed, ModelServer, start_model_server
from pipelines.hosting.records import EndpointConflict, EndpointNotFound, EndpointRecords

__all__ = [
    "EndpointConflict",
    "EndpointHost",
    "EndpointNotFound",
    "EndpointNotReady",
    "EndpointRecords",
    "ModelLoadFailed",
    "ModelServer",
    "delete_local_endpoint",
    "start_model_server",
]
