from __future__ import annotations

import os

import pytest

from tests.dbs import BACKENDS, fresh_database


def _backend_param(backend: str):
    marks = [getattr(pytest.mark, backend)] if backend != "sqlite" else []
    return pytest.param(backend, marks=marks, id=backend)


@pytest.fixture(params=[_backend_param(b) for b in BACKENDS])
def backend(request) -> str:
    """Each test using it runs once per engine: sqlite, postgresql, mysql."""
    return request.param


@pytest.fixture
def db_url(backend, tmp_path):
    """An empty database on ``backend`` (created for the test, dropped after it)."""
    with fresh_database(backend, tmp_path) as url:
        yield url


# The machine tests run on is shared (other suites, other engineers): the busy-machine rule
# (loadgen.measure.validity.machine_busy) would make every measured step here invalid. Tests of that
# rule set the threshold themselves.
os.environ.setdefault("JXCBENCH_MAX_FOREIGN_CPU", "off")
