"""Synthetic results, written once per test session (reading them is what the tests exercise)."""

from __future__ import annotations

import pytest

from tests.reports.synthetic import write_results


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """(results directory, capacity document) of tests/reports/synthetic.py, 25,000 samples a step."""
    root = tmp_path_factory.mktemp("synthetic")
    doc = write_results(root, samples_per_step=25_000)
    return root, doc
