"""Everything under /api/v1: the routers in the order requests are matched.

They are mounted on the app one by one (not through one parent router): each level of router
nesting is another pass of route matching on every request. Customers come first because they
carry most of the traffic.
"""

from __future__ import annotations

from reference_app.api.routes import auth, catalog, customers, documents, reports

api_routers = [m.router for m in (customers, documents, catalog, auth, reports)]

__all__ = ["api_routers"]
