"""A seeded monolith book split into the services' databases is what the services would have
written: the cross-service audit is clean, logins still work and the next order fits in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from loadgen.seed import seed_database
from loadgen.synth import LOADTEST_PASSWORD
from reference_app.micro.audit import audit_services
from reference_app.micro.inprocess import assemble
from reference_app.micro.split import split_monolith
from reference_app.micro.topology import drop_service_databases, engines, service_urls
from tests.dbs import fresh_database


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
# (both: PostgreSQL's id sequences must be moved past the copied ids, SQLite's files derived)
def test_a_split_book_audits_clean_and_serves(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        try:
            seed_database(url, 60, customer_quota=20, progress=False)
            counts = split_monolith(url)
            assert counts["customers"] == 60 and counts["sales_orders"] > 0 and counts["stock_moves"] > 0
            found = engines(service_urls(url))
            try:
                result = audit_services(found)
                assert result.ok, result.violations
                with found["customers"].connect() as conn:
                    seller, cid = conn.execute(text(
                        "SELECT o.username, c.id FROM customers c JOIN operators o ON o.id = c.owner_id "
                        "WHERE o.role = 'sales' ORDER BY c.id LIMIT 1")).one()
                with found["inventory"].connect() as conn:
                    pid, wid = conn.execute(text("SELECT product_id, warehouse_id FROM stock WHERE on_hand > 5 "
                                                 "ORDER BY product_id LIMIT 1")).one()
                gateway, apps = assemble(url, pool_size=2, max_overflow=2)
                try:
                    with TestClient(gateway) as client:
                        login = client.post("/api/v1/auth/login", json={"username": seller, "password": LOADTEST_PASSWORD})
                        assert login.status_code == 200, login.text
                        h = {"Authorization": f"Bearer {login.json()['access_token']}"}
                        r = client.post("/api/v1/sales-orders", headers=h, json={
                            "customer_id": cid, "warehouse_id": wid, "lines": [{"product_id": pid, "qty": 1}]})
                        assert r.status_code in (201, 409), r.text  # 409: over the seeded credit limit
                        view = client.get(f"/api/v1/customers/{cid}", headers=h)
                        assert view.status_code == 200, view.text
                        if r.status_code == 201:
                            assert view.json()["recent_orders"][0]["id"] == r.json()["id"]
                finally:
                    for app in apps.values():
                        app.state.db.dispose()
                result = audit_services(found)
                assert result.ok, result.violations
            finally:
                for e in found.values():
                    e.dispose()
        finally:
            if backend != "sqlite":
                drop_service_databases(url)
