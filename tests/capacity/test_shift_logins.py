"""An app that stops answering while the staff log in before the load ends the step with a message
that says so — and names the OOM killer when it took a process of the profile's cgroup — not with
a transport traceback (seen: a 512 MiB profile's app killed during its 105 logins)."""

from __future__ import annotations

import socket
import threading

import pytest

from loadgen.capacity.step import _shift_logins
from loadgen.errors import JxcError


@pytest.fixture
def hanging_up_server():
    """A real TCP server that accepts every connection and closes it without an answer."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join(5)
    srv.close()


def _seats(n):
    return [["sales", f"sales{i}", i] for i in range(n)], {"idents": {f"sales{i}": (i, "sales", "t1") for i in range(n)}}


def test_the_oom_killer_is_named_when_it_took_a_process_meanwhile(hanging_up_server):
    seats, book = _seats(3)
    counter = iter([4, 5])  # the cgroup's oom_kill counter before and after the logins
    with pytest.raises(JxcError) as err:
        _shift_logins(hanging_up_server, seats, book, "pw", {}, 125_000, lambda: {"oom_kill": next(counter)})
    msg = str(err.value)
    assert err.value.exit_code == 1
    assert "at 125,000 customers the app stopped answering while its 3 online staff logged in" in msg
    assert "OOM killer killed 1 process(es)" in msg


def test_without_an_oom_kill_the_message_does_not_invent_one(hanging_up_server):
    seats, book = _seats(2)
    with pytest.raises(JxcError) as err:
        _shift_logins(hanging_up_server, seats, book, "pw", {}, 4_000, lambda: {"oom_kill": 0})
    assert "stopped answering" in str(err.value) and "OOM" not in str(err.value)


@pytest.fixture
def busy_server():
    """A real HTTP server that answers every request 503 (a database the app lost), or 401 when asked."""
    import http.server

    status = {"code": 503}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status["code"])
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", status
    srv.shutdown()
    srv.server_close()


def test_a_system_that_fails_the_logins_fails_the_level_and_a_refusal_stays_an_error(busy_server, tmp_path):
    """5xx to the staff's logins (the system lost its database: an OOM kill at 120,000 customers on
    MariaDB in 512 MiB) is a failed step — valid, failed, the OOM kill recorded, the limiting factor
    memory — so the search goes on below; 401 (the accounts, not the load) stays an error."""
    import json

    from loadgen.capacity.step import measure_step
    from loadgen.seed import seed_database
    from profiles.loader import load_profile
    from reports.analysis.limiting import limiting_factor

    url, status = busy_server
    db_url = f"sqlite:///{tmp_path / 'book.sqlite'}"
    seed_database(db_url, 2000)
    prof_path = tmp_path / "p.yaml"
    prof_path.write_text("name: shift\ndatabase: {engine: sqlite}\nslo: {p95_ms: 500}\n")
    profile = load_profile(prof_path)
    counter = iter([7, 8])  # the cgroup's oom_kill counter before and after the logins
    step = measure_step(profile, base_url=url, db_url=db_url, customers=2000, duration_s=60, warmup_s=5,
                        out_dir=tmp_path / "step", cgroup_stats=lambda: {"oom_kill": next(counter)})
    assert step["valid"] is True and step["passed"] is False and step["verdict"] == "fail", step
    assert step["requests"] == 0 and step["sut_events"] == {"oom_kills": 1}
    online = sum(step["staffing"]["online"].values())
    assert step["shift_failure"]["failed"] == online == step["operators"]
    assert f"{online} of its {online} online staff could not log in before the load (answers: {online} x 503" in step["fail_reason"]
    assert "OOM killer killed 1 process(es)" in step["fail_reason"]
    assert json.loads((tmp_path / "step" / "step.json").read_text())["fail_reason"] == step["fail_reason"]
    lf = limiting_factor(step, profile.model_dump(mode="json"))
    assert lf["resource"] == "memory" and lf["points_to"] == "oom_kill", lf
    assert f"{online} of the {online} online staff could not log in" in lf["detail"]

    status["code"] = 401
    with pytest.raises(JxcError, match="could not log in before the load") as err:
        measure_step(profile, base_url=url, db_url=db_url, customers=2000, duration_s=60, warmup_s=5,
                     out_dir=tmp_path / "step2", cgroup_stats=lambda: {"oom_kill": 0})
    assert type(err.value).__name__ == "LoginsFailed"


def test_an_audit_that_cannot_reach_the_database_is_a_reason_not_a_traceback():
    """After a load during which the OOM killer took the database, the audit meets a refused
    connection (a real one: nothing listens on the port): the step gets a reason, the sweep goes on."""
    from loadgen.capacity.step import audit_after_load

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    books, why = audit_after_load(None, f"mysql+pymysql://root@127.0.0.1:{port}/jxc")
    assert books is None and "OperationalError" in why and "Connection refused" in why, why
    books, why = audit_after_load(lambda: "audited", "sqlite://")
    assert (books, why) == ("audited", None)
