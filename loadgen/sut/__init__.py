"""The system under test: hardware limits (cgroups), managed databases, and the launcher.

``SystemUnderTest(profile)`` (in :mod:`loadgen.sut.launcher`) is the one entry point that ``up``,
``run`` and ``sweep`` use; see there.
"""
