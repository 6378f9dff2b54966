"""Everything under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from reference_app.api.routes import auth, catalog, customers, documents, reports

api_router = APIRouter()
for _module in (auth, catalog, customers, documents, reports):
    api_router.include_router(_module.router)

__all__ = ["api_router"]
