"""Operators as Locust users: personas, operations, the open model, the Locust engine and its runner.

:mod:`loadgen.workload.spec`, :mod:`.plan` and :mod:`.session` are plain Python; only
:mod:`.users` and :mod:`.engine` import Locust (and gevent's monkey-patching), and they run in
their own process, which :mod:`.load_run` starts and measures with :mod:`loadgen.measure`.
"""
