"""Profiles (hardware x database x architecture x workload x SLO x sweep) and their schema."""
