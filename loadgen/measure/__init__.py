"""Measurement primitives: raw samples, exact percentiles, resource sampling, validity, the SLO.

Nothing here knows the workload or imports Locust or gevent; :mod:`loadgen.workload` records into
these pieces (the collector, the sample writer) and :mod:`loadgen.workload.load_run` summarises with
them, never the other way round.
"""
