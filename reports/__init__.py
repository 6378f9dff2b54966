"""What results files mean, and the reports that say it.

:mod:`reports.analysis` reads results (``capacity.json``, ``step.json``, samples) and computes what
they mean; :mod:`reports.render` turns that into text and files; :mod:`reports.compare` is the CI
gate (baseline vs current) and :mod:`reports.guide` the sizing guide. Nothing here starts a process
or opens the database of a system under test.
"""
