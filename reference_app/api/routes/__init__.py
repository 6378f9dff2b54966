"""One router per area; :mod:`reference_app.api.router` mounts them under /api/v1.

Handlers are ``async`` and hand the (blocking) service call to the thread pool themselves: one
thread hop per request. A plain ``def`` handler with a ``response_model`` costs two, because
FastAPI then also validates the response in the thread pool - measured at ~0.25 ms a hop, a
third of a customer view's time (see bench/app_overhead.py).
"""
