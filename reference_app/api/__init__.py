"""The HTTP face of the app: routers, dependencies, bodies, and the domain-error -> status mapping."""
