"""Fresh, throwaway databases on the real servers for tests.

Each test database is created with a unique name and dropped afterwards. The servers come from
``JXCBENCH_TEST_PG_URL`` / ``JXCBENCH_TEST_MYSQL_URL`` (defaults: the local services). When a
server is unreachable the test is *skipped* with the reason, except in CI (``CI`` set), where it
*fails*: CI must never go green without having talked to PostgreSQL and MariaDB.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL

BACKENDS = ("sqlite", "postgresql", "mysql")

SERVER_URLS = {
    "postgresql": os.environ.get("JXCBENCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get("JXCBENCH_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
# Test databases carry this prefix so that leftovers are easy to find (and a test can check).
PREFIX = "jxct_"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require_server(backend: str) -> URL:
    """The admin URL of ``backend``'s server, or skip/fail (see the module docstring)."""
    url = make_url(SERVER_URLS[backend])
    try:
        eng = create_engine(url, connect_args={"connect_timeout": 5})
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not available"
        reason = f"{backend} server at {url.render_as_string(hide_password=True)} unreachable: {exc.__class__.__name__}: {exc}"
        if in_ci():
            pytest.fail(f"CI requires it: {reason}", pytrace=False)
        pytest.skip(reason)
    return url


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Create an empty database on ``backend`` and yield its SQLAlchemy URL; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'jxc.sqlite'}"
        return
    admin_url = require_server(backend)
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if backend == "postgresql":
            conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
        else:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
