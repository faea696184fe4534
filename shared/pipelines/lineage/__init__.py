"""Lineage: the actions, artifacts, contexts and associations a pipeline's Lineage steps record.

Contract for a newcomer:

* ``records``: :class:`LineageEntity` (kind Action/Artifact/Context, name, ARN, the create
  request) and :class:`LineageAssociation` (source ARN -> destination ARN, type), each tagged
  with the execution and step that recorded it.
* ``store``: the :class:`LineageStore` protocol, the one place lineage records are kept: an
  entity name is unique per kind (a second create of the same name gets the first entity back,
  so a retried or re-driven step never records twice), associations are unique per (source,
  destination), and :meth:`LineageStore.lineage_of` lists what one execution recorded. Two
  backends: ``sqlite`` (the embedded runtime, in the state database) and ``dynamodb`` (the
  cloud's state table).
* ``step``: :func:`record_lineage`, the Lineage step itself for both runtimes: it validates
  the step's resolved Arguments, creates every entity first, then the associations (a
  ``{"Name", "Type"}`` end resolves only against entities of the same step, an ``{"Arn"}`` end
  is used as given), through a :class:`LineageApi`: ``LocalLineageApi`` over the store
  (embedded) or ``SageMakerLineageApi`` (the cloud: CreateAction, CreateArtifact,
  CreateContext, AddAssociation as the pipeline's role); a :class:`Recording` (store, execution,
  step) records what either created in the execution's lineage list. The step's properties are ``ActionArns``/``ArtifactArns``/``ContextArns`` (name ->
  ARN) and ``Associations``; ``Metadata.Lineage`` has the same, cut to botocore's limits.
* ``render``: the ``pipelines lineage EXECUTION`` views: Mermaid, DOT and a table.
"""

from pipelines.lineage.records import ENTITY_KINDS, LineageAssociation, LineageEntity
from pipelines.lineage.step import LineageApi, LocalLineageApi, Recording, SageMakerLineageApi, record_lineage
from pipelines.lineage.store import LineageStore

__all__ = [
    "ENTITY_KINDS",
    "LineageApi",
    "LineageAssociation",
    "LineageEntity",
    "LineageStore",
    "LocalLineageApi",
    "Recording",
    "SageMakerLineageApi",
    "record_lineage",
]
