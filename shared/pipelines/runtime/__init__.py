"""Runtimes that carry out the engine's decisions. ``embedded``: this machine (SQLite, threads).

Public API (``from pipelines.runtime.embedded import EmbeddedRuntime``)::

    EmbeddedRuntime(config, *, store=None, registry=None, objects=None, clock=None,
                    poll_interval=0.2, max_workers=256, lease_ttl=15.0, on_log=None)
      register(pipeline_name, definition, **options)        # create/update (new version if changed)
      run(definition=None, request: StartRequest | None = None, *, progress=None) -> ExecutionRecord
      start(request: StartRequest | None = None, *, definition=None, progress=None,
            background=True) -> ExecutionRecord   # returns at once when background
          # request None: the default pipeline ("local-pipeline") with default parameters;
          # StartRequest is pipelines.engine.StartRequest, the same object every layer passes
      stop(execution, *, client_request_token=None) -> ExecutionRecord   # from any thread or process
      retry(execution, *, parallelism=None, progress=None, background=True,
            client_request_token=None) -> ExecutionRecord
      update_execution(execution, parallelism=..., display_name=..., description=...)
      callback_success(token, outputs, *, background=False, client_request_token=None) -> ExecutionRecord
      callback_failure(token, reason, *, background=False, client_request_token=None) -> ExecutionRecord
          # a live driver (any process) picks the change up within poll_interval; with none alive
          # the execution is resumed by the caller (blocking unless background=True).
          # client_request_token: the request's ClientRequestToken, recorded by the engine with
          # the decision; a repeat is answered as the first call and carries the execution on.
      resume(execution=None, *, progress=None) -> list[ExecutionRecord]   # `pipelines resume`
      wait(execution, timeout=None) -> ExecutionRecord
      driver_alive(execution_id) -> bool
      engine, store, registry, objects, config              # the wired parts
      close()

    progress(execution: ExecutionRecord, steps: Mapping[str, StepRecord]) is called after every change.
"""
