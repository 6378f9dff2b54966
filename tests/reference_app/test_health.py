"""An app whose database does not answer says so: /healthz 503, API calls 503 (not 500)."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from reference_app.config import Settings
from reference_app.main import create_app


def test_unreachable_database_is_503():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere"))
    with TestClient(app) as client:
        r = client.get("/healthz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        r = client.get("/api/v1/customers/1", headers={"Authorization": "Bearer x.y.z"})
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        r = client.post("/api/v1/auth/login", json={"username": "admin", "password": "whatever1"})
        assert r.status_code == 503
