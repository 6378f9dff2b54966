"""Tests here write cgroups and start database servers: they need root and a cgroup hierarchy.

Outside CI they are skipped with the reason when that is missing; in CI (``CI`` set) they fail.
"""

from __future__ import annotations

import os

import pytest

from loadgen.sut import cgroups as cg
from tests.dbs import in_ci


@pytest.fixture
def cgroups_writable() -> int:
    """The usable cgroup version, or skip (fail in CI) with the reason."""
    reason = None
    if os.geteuid() != 0:
        reason = "needs root to write cgroups"
    elif cg.detect() is None:
        reason = f"no usable cgroup v1/v2 hierarchy under {cg.ROOT}"
    if reason:
        if in_ci():
            pytest.fail(f"CI requires it: {reason}", pytrace=False)
        pytest.skip(reason)
    return cg.detect()


def write_profile(tmp_path, name: str, text: str):
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return p
