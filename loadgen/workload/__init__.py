"""Operators as Locust users: personas, operations, the open model, the Locust engine.

:mod:`loadgen.workload.spec`, :mod:`.plan` and :mod:`.session` are plain Python; only
:mod:`.users` and :mod:`.engine` import Locust (and gevent's monkey-patching), and they run in
their own process.
"""
