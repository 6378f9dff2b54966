"""A plain locustfile's users at the window's end and at their start (issue 17, as issue 12 asks of
the reference workload: nothing dropped).

The engine runs in its child process (``run_engine``) against a toy server, so this process never
imports gevent: a server that stalls across the window's end leaves every user with a request in
flight, which must become a timeout error with the time it waited, not vanish; a user whose login
fails in ``on_start`` is a login failure, and the step is invalid (the load it planned did not run).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loadgen.workload.load_run import measure_load, run_engine
from loadgen.workload.plan import LoadPlan
from tests.measure.toyserver import ToyServer

STALLING = '''from locust import HttpUser, constant, task


class Poller(HttpUser):
    wait_time = constant(0.05)

    @task
    def poll(self):
        self.client.get("/ping", name="poll")
'''

LOGINS = '''from locust import HttpUser, constant, task


class Clerk(HttpUser):
    wait_time = constant(0.02)

    def on_start(self):
        if self.jxcbench_operator["index"] == 1:
            raise RuntimeError("wrong password for clerk 1")
        self.client.post("/ping", name="login")  # the toy server refuses every POST: 409, a failure

    @task
    def poll(self):
        self.client.get("/ping", name="poll")
'''


def plan_for(tmp_path: Path, url: str, source: str, **kw) -> LoadPlan:
    f = tmp_path / "locustfile.py"
    f.write_text(source)
    return LoadPlan(base_url=url, locustfile=str(f), **{"users": 3, "warmup_s": 0.5, "duration_s": 2.0,
                                                          "drain_s": 1.0, **kw})


@pytest.mark.parametrize("base", ["HttpUser", "FastHttpUser"])
def test_requests_in_flight_at_the_window_end_become_timeouts(tmp_path: Path, base: str):
    source = STALLING.replace("from locust import HttpUser", f"from locust import {base}").replace(
        "class Poller(HttpUser)", f"class Poller({base})")
    # Every request from 1.5 s after the first one waits 30 s: across the window's end (2.5 s).
    with ToyServer(stall_after_first_s=1.5, stall_s=30.0) as server:
        load = run_engine(plan_for(tmp_path, server.url, source), tmp_path)
    stats = load["workers"][0]["stats"]
    assert stats["timed_out_at_end"] == 3 and stats["sessions"] == 3, stats
    s = pd.read_parquet(tmp_path / "samples.parquet")
    late = s[(s["status"] == 0) & (s["outcome"] == "error")]
    assert len(late) == 3 and set(late["operation"]) == {"poll"} and set(late["persona"]) == {"Poller"}
    # each waited from its start (about 1.5 s after the first request) to the drain bound (end + 1 s)
    assert (late["latency_ms"] > 1000).all() and (late["latency_ms"] < 3500).all(), late["latency_ms"].tolist()
    assert (late["phase"] == "measure").all()
    # nothing started after the window's end was sent
    assert (s["start_s"] <= load["end"] + 1e-3).all()


def test_a_user_that_cannot_log_in_is_counted_and_the_step_is_invalid(tmp_path: Path):
    with ToyServer() as server:
        res = measure_load(plan_for(tmp_path, server.url, LOGINS), tmp_path, min_requests=1)
    # user 1 raised in on_start; users 0 and 2 logged in with a request that failed (409): all three
    assert res["login_failures"] == 3 and res["operators_logged_in"] == 0, res
    assert not res["validity"].valid and "no operator could log in (3 login failures" in res["validity"].reason


def test_some_users_that_cannot_log_in_make_the_step_invalid_with_the_numbers(tmp_path: Path):
    source = LOGINS.replace('        self.client.post("/ping", name="login")  # the toy server refuses every POST: 409, a failure\n',
                            '        self.client.get("/ping", name="login")\n')
    with ToyServer() as server:
        res = measure_load(plan_for(tmp_path, server.url, source), tmp_path, min_requests=1)
    assert res["login_failures"] == 1 and res["operators_logged_in"] == 2, res
    assert not res["validity"].valid
    assert "only 2 of 3 planned operators" in res["validity"].reason and "1 login failure" in res["validity"].reason
    s = pd.read_parquet(tmp_path / "samples.parquet")
    assert set(s["operation"]) == {"login", "poll"}


ROLES = '''from locust import HttpUser, constant, task


class Seller(HttpUser):
    wait_time = constant(0.05)

    @task
    def poll(self):
        op = self.jxcbench_operator
        self.client.get("/ping", name=f"Seller_{op['index']}_{op['username']}")


class Office(HttpUser):
    wait_time = constant(0.05)

    @task
    def poll(self):
        op = self.jxcbench_operator
        self.client.get("/ping", name=f"Office_{op['index']}_{op['username']}")
'''


@pytest.mark.parametrize("with_role", [True, False])
def test_a_class_s_i_th_user_logs_in_as_its_role_s_i_th_account(tmp_path: Path, with_role: bool):
    """``system.personas`` (issue 17, one workload path, step 1): each class counts its own users and
    its i-th user gets its role's i-th login, as a reference seat is its role's i-th online account
    (not the i-th login of one counter over every class, which depends on the order users start)."""
    if with_role:  # a role column: the rows of each role, in order, whatever their place in the file
        rows = "username,password,role\nb1,x,back_office\ns1,x,sales\ns2,x,sales\nb2,x,back_office\ns3,x,sales\n"
        want = {"Seller_0_s1", "Seller_1_s2", "Office_0_b1"}
    else:  # no role column: dealt out class by class, in system.personas order
        rows = "username,password\nu1,x\nu2,x\nu3,x\nu4,x\n"
        want = {"Seller_0_u1", "Seller_1_u2", "Office_0_u3"}
    (tmp_path / "users.csv").write_text(rows)
    with ToyServer() as server:
        plan = plan_for(tmp_path, server.url, ROLES, users=3, credentials_csv=str(tmp_path / "users.csv"),
                        class_counts={"Seller": 2, "Office": 1},
                        class_roles={"Seller": "sales", "Office": "back_office"})
        load = run_engine(plan, tmp_path)
    assert load["workers"][0]["stats"]["sessions_by_class"] == {"Seller": 2, "Office": 1}
    s = pd.read_parquet(tmp_path / "samples.parquet")
    assert set(s["operation"]) == want, set(s["operation"])


def test_too_few_logins_for_a_role_names_the_role_and_both_numbers():
    from loadgen.workload.logins import deal_by_class

    rows = [{"username": "s1", "role": "sales"}, {"username": "b1", "role": "back_office"}]
    roles = {"Seller": "sales", "Office": "back_office"}
    assert deal_by_class(rows, {"Seller": 1, "Office": 1}, roles) == {"Seller": [rows[0]], "Office": [rows[1]]}
    with pytest.raises(ValueError, match="1 logins have role 'sales'; 2 Seller users need one each"):
        deal_by_class(rows, {"Seller": 2, "Office": 1}, roles)
    plain = [{"username": f"u{i}"} for i in range(3)]
    assert deal_by_class(plain, {"Seller": 2, "Office": 1}, roles) == {"Seller": plain[:2], "Office": plain[2:]}
    with pytest.raises(ValueError, match=r"3 logins for 4 users \(2 Seller, 2 Office\)"):
        deal_by_class(plain, {"Seller": 2, "Office": 2}, roles)
