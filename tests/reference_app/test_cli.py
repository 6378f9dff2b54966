"""`jxcbench init-db` then `jxcbench audit`, through the real CLI, on every engine."""

from __future__ import annotations

import json

from sqlalchemy import update
from typer.testing import CliRunner

from loadgen.cli import app
from loadgen.errors import JxcError
from reference_app.db import make_engine
from reference_app.models import Operator
from reference_app.schema import index_level
from reference_app.security import verify_password


def test_init_db_then_audit(db_url):
    runner = CliRunner()
    r = runner.invoke(app, ["init-db", "--db", db_url, "--index-level", "tuned"])
    assert r.exit_code == 0, r.output
    password = r.output.split("admin password (shown once): ")[1].split()[0]
    engine = make_engine(db_url)
    try:
        assert index_level(engine) == "tuned"
        with engine.connect() as conn:
            stored = conn.execute(Operator.__table__.select().where(Operator.username == "admin")).one()
        assert verify_password(stored.password_hash, password)
        again = runner.invoke(app, ["init-db", "--db", db_url, "--admin-password", "another-password"])
        assert again.exit_code == 0 and "already exists" in again.output

        r = runner.invoke(app, ["audit", "--db", db_url])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["ok"] is True

        with engine.begin() as conn:  # break the books: the audit must say so and exit 1
            conn.execute(update(Operator).values(customer_count=3))
        r = runner.invoke(app, ["audit", "--db", db_url])
        assert r.exit_code == 1
        report = json.loads(r.output)
        assert report["counts"]["operator_customer_count"] == 1
        assert report["violations"][0]["check"] == "operator_customer_count"
    finally:
        engine.dispose()


def test_bad_input_is_one_clear_error(tmp_path):
    runner = CliRunner()
    missing = tmp_path / "missing.sqlite"
    for args, words in (
        (["audit", "--db", f"sqlite:///{missing}"], "no such SQLite file"),
        (["init-db", "--db", "oracle://x/y"], "unsupported database"),
        (["init-db", "--db", f"sqlite:///{tmp_path / 'a.sqlite'}", "--index-level", "fast"], "--index-level"),
        (["init-db", "--db", f"sqlite:///{tmp_path / 'a.sqlite'}", "--admin-password", "short"], "--admin-password"),
    ):
        r = runner.invoke(app, args)
        assert isinstance(r.exception, JxcError), (args, r.output)
        assert words in str(r.exception)
    assert not missing.exists()
