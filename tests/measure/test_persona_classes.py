"""The reference personas as User classes (issue 17, one workload path): one class per persona
(:func:`loadgen.workload.users.persona_classes`), each user taking its persona's next seat, makes
exactly the requests and draws exactly the thinks of the operator's reproducible sequence — the
seat's seeded rng choosing by the persona's weights, then drawing its think, as
``test_reproducible_load`` computes it at the runtime level and as the closed model's former
``OperatorUser`` made them (this test compared the two before that class was removed). The real JXC
personas, driven through the classes' own ``on_start``/``operate``/``wait_time`` against a recorded
client answering like the app (no server). Locust patches a whole process with gevent, so the users
run in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r'''
import json, sys, time
from locust.env import Environment
from loadgen.workload.jxc import WORKLOAD
from loadgen.workload.plan import LoadPlan
from loadgen.workload.runtime import Runtime, Seats, next_operation, seat_rng
from loadgen.workload.users import persona_classes
from tests.measure.test_reproducible_load import RecordingClient

SEATS = [["sales", "sales000007", 6], ["back_office", "office0002", 1], ["sales", "sales000008", 7],
         ["clerk", "clerk0003", 2], ["manager", "mgr0001", 0], ["sales", "sales000009", 8]]
CTX = {"product_ids": list(range(1, 50)), "warehouse_ids": [1, 2], "supplier_ids": [1, 2, 3], "zipf_s": 1.0}
AUTH = ["token", {"customer_count": 100}]


def make_plan():
    plan = LoadPlan(base_url="http://x", seed=42, customers=8000, context=CTX, duration_s=3600.0,
                    seats=[s + AUTH for s in SEATS], think_times={"manager": (2.0, 5.0)})
    plan.t0 = time.time()
    return plan


def expected(n=40):
    """Each seat's sequence at the runtime level: choose, operate, draw the think, from its own rng."""
    plan = make_plan()
    rt = Runtime(plan, WORKLOAD, collector=None, next_seat=None)
    out = []
    for seat in plan.seats:
        client, rng = RecordingClient(), seat_rng(plan, seat)
        s = rt.open_session(client, seat[0], seat[1], rng, auth=seat[3:5])
        chooser, (lo, hi) = rt.chooser(seat[0]), plan.think(seat[0])
        thinks = []
        for _ in range(n):
            rt.run_operation(s, next_operation(rng, chooser))
            thinks.append(rng.uniform(lo, hi))
        out.append({"seat": seat[1], "persona": seat[0], "log": client.log, "thinks": thinks})
    return out


def drive(classes, order, n=40):
    plan = make_plan()
    rt = Runtime(plan, WORKLOAD, collector=None, next_seat=Seats(plan.seats).take)
    env = Environment(user_classes=classes, host="http://x")
    env.jxc = rt
    out = []
    for cls in order:
        user = cls(env)
        user.client = RecordingClient()
        user.on_start()
        thinks = []
        for _ in range(n):
            user.operate()
            thinks.append(user.wait_time())
        assert rt.stats["workload_exceptions"] == 0
        out.append({"seat": user.session.username, "persona": user.session.persona, "log": user.client.log,
                    "thinks": thinks})
    return out


classes = persona_classes("loadgen.workload.jxc:WORKLOAD", SEATS)
by_name = {c.__name__: c for c in classes}
# The persona classes' users start in another order than the plan's seats (Locust spawns by
# class): each still gets its own persona's seats in order.
old = expected()
order = [by_name[p] for p in ["manager", "sales", "clerk", "sales", "back_office", "sales"]]
new = drive(classes, order)
print(json.dumps({"classes": {c.__name__: c.fixed_count for c in classes}, "old": old, "new": new},
                 default=list))
'''


def test_persona_classes_make_each_seats_reproducible_requests():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONHASHSEED": "321"})
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # one class per persona with seats, fixed_count its seats
    assert got["classes"] == {"sales": 3, "clerk": 1, "manager": 1, "back_office": 1}
    old = {r["seat"]: r for r in got["old"]}
    new = {r["seat"]: r for r in got["new"]}
    assert [r["seat"] for r in got["new"]] == ["mgr0001", "sales000007", "clerk0003", "sales000008", "office0002",
                                               "sales000009"]
    assert set(old) == set(new) and len(old) == 6
    for seat, r in new.items():
        assert r["persona"] == old[seat]["persona"], seat
        assert len(r["log"]) >= 40, (seat, len(r["log"]))   # every operation made at least one request
        assert r["log"] == old[seat]["log"], seat
        assert r["thinks"] == old[seat]["thinks"], seat
    # the manager's own think range applies; operators of one persona do different things
    assert all(2.0 <= t <= 5.0 for t in new["mgr0001"]["thinks"])
    assert new["sales000007"]["log"] != new["sales000008"]["log"]
