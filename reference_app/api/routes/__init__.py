"""One router per area; :mod:`reference_app.api.router` mounts them under /api/v1."""
