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
