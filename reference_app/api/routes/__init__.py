"""One router per area; :mod:`reference_app.api.router` mounts them under /api/v1.

Handlers are ``async`` and hand the (blocking) service call to the database worker threads
themselves (:func:`~reference_app.api.workers.run_blocking`): one cheap thread hop per request.
A plain ``def`` handler with a ``response_model`` would cost two (FastAPI then also validates the
response in anyio's thread pool). Hot handlers return :func:`~reference_app.api.responses.json_response`,
which FastAPI passes through without validating it against the response_model again.
"""
