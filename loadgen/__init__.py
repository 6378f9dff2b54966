"""Everything that drives an experiment: seeding, the system under test, load, measurement, CLI."""
