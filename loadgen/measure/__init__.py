"""Measurement of one step: raw samples, exact percentiles, resource sampling, validity.

Nothing here imports Locust or gevent; the load itself runs in :mod:`loadgen.workload.engine`.
"""
