"""The cgroup fixture of tests/sut (root + a cgroup hierarchy, else skip; fail in CI)."""

from tests.sut.conftest import cgroups_writable  # noqa: F401 - a fixture, used by name
