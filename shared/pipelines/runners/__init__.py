"""The embedded runtime's step runners: one per step type, each carrying out a resolved step
attempt on this machine and returning the properties its ``Steps.X`` references read.

- ``base.py``: the contract (``Runner.check`` before the start, ``Runner.run`` per attempt,
  ``StepRequest``/``RunContext``/``StepResult``, ``StepFailed`` with the error code the engine's
  retry policies classify).
- ``registry.py``: which runner runs which step type; a module here with a ``RUNNERS`` list is
  registered by ``default_registry`` without touching anything else.
- ``jobs/``: Processing, Training (``@step`` functions, NotebookJobs), Transform and Tuning as
  sandboxed local processes under the SageMaker container contract; ``spark/``: EMR and
  EMRServerless as local spark-submit jobs; ``checks/``: QualityCheck and ClarifyCheck.
- One module per other step type: ``lambda_.py`` (its handler runs in ``_lambda_host.py``), ``callback.py``, ``model.py``,
  ``register_model.py``, ``endpoint.py``, ``inference_component.py``, ``automl.py``,
  ``cleanup.py``, ``lineage.py``.
- Shared by several: ``outputs.py`` (Lambda/Callback output parameters), ``processes.py``
  (child processes tied to their driver and identifiable after it died).

Runners never write the store: the engine records every outcome.
"""
