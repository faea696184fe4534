"""The web console: a static single-page app served by ``pipelines serve`` at ``/``.

Contract for a newcomer:

- ``static/`` is the whole console as built files (``index.html`` and ``_console/``: the
  bundled ``app.js``, ``app.css``, ``favicon.svg``), built from ``console/src`` by
  ``npm run build:console`` and committed; ``tests/console/test_bundle.py`` fails when they
  differ from a fresh build. The cloud stack uploads the same directory to S3 and writes its own
  ``_console/config.json`` beside them.
- The app reads ``_console/config.json`` (relative to the URL of its own script) at start:
  ``{"apiEndpoint": "" | "https://...", "region": "...", "auth": null | {...Cognito ids...}}``.
  ``pipelines serve`` answers it with ``apiEndpoint: ""`` (same origin) and ``auth: null``.
- ``serve.with_console`` wraps the API's WSGI app. It answers ``GET``/``HEAD`` for
  ``/_console/*`` (an S3 bucket name cannot start with ``_``), and browser navigations
  (``Accept: text/html``, which S3 clients never send) to the console's own routes (``/``,
  ``/pipelines/<name>``, ``/executions/<id>``, ``/compare``, ``/models``) with ``index.html``.
  Everything else reaches the API unchanged. Console responses carry a Content-Security-Policy
  without ``unsafe-inline`` and pass the same Host/Origin checks as the API (the page's API
  calls need ``"self"`` in ``[serve] allowed_origins``, the default).
- The console has no backend of its own: every page is built from the public API that boto3
  uses (SageMaker JSON 1.1, the Logs subset, the Scheduler subset), through one function of
  ``console/src/api.ts``.
"""
