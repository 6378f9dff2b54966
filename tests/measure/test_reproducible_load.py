"""Every random choice of the load derives from the profile's seed, the level and the operator's
index: two runs with the same seed issue the same operations, in the same order, with the same
arguments, per operator; another seed, level or operator does something else. Checked at the
runtime level (the real JXC personas, a recorded HTTP client answering like the app), no server."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from loadgen.workload.jxc import WORKLOAD
from loadgen.workload.plan import LoadPlan
from loadgen.workload.runtime import Runtime, next_operation, seat_rng


class _Response:
    def __init__(self, status: int, body, ctx: dict) -> None:
        self.status_code, self._body, self.request_meta = status, body, {"context": ctx}

    def json(self):
        return self._body

    def success(self):
        pass

    def failure(self, _msg):
        pass


class RecordingClient:
    """Answers like the app for one salesperson owning customers 1001..1100 (and the whole book for
    the back office); records every request."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    @contextmanager
    def request(self, method, path, name=None, json=None, headers=None, catch_response=True, context=None):
        self.log.append((name, method, path, None if json is None else sorted(json.items(), key=str)))
        url = urlsplit(path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        body: object = {}
        if url.path.endswith("/customers") and method == "GET":
            after = max(1000, int(q.get("after", 0)))
            ids = [i for i in range(after + 1, min(after + 1 + int(q.get("limit", 20)), 1101))]
            body = {"items": [{"id": i, "name": f"客户{i}", "phone": f"1390000{i:04d}"} for i in ids],
                    "next_after": ids[-1] if ids and ids[-1] < 1100 else None, "total": 100}
        elif method == "POST":
            body = {"id": len(self.log)}
        yield _Response(200 if method == "GET" else 201, body, context or {})


def operations(seed: int, customers: int, seat: list, n: int = 60) -> list[tuple]:
    plan = LoadPlan(base_url="http://x", seed=seed, customers=customers,
                    context={"product_ids": list(range(1, 50)), "warehouse_ids": [1, 2], "supplier_ids": [1, 2, 3],
                             "zipf_s": 1.0})
    rt = Runtime(plan, WORKLOAD, collector=None, next_seat=lambda: None)  # type: ignore[arg-type]
    client = RecordingClient()
    rng = seat_rng(plan, seat)
    s = rt.open_session(client, seat[0], seat[1], rng, auth=["token", {"customer_count": 100}])
    chooser = rt.chooser(seat[0])
    for _ in range(n):
        rt.run_operation(s, next_operation(rng, chooser))
        rng.uniform(*plan.think(seat[0]))  # the think time is drawn from the same stream
    assert rt.stats["workload_exceptions"] == 0
    return client.log


def test_same_seed_same_operations_per_operator():
    for seat in (["sales", "sales000007", 6], ["back_office", "office0002", 1], ["clerk", "clerk0003", 2],
                 ["manager", "mgr0001", 0]):
        first = operations(42, 8000, seat)
        assert first == operations(42, 8000, seat), seat[0]
        assert first != operations(43, 8000, seat), seat[0]
        assert first != operations(42, 16000, seat), seat[0]
    assert operations(42, 8000, ["sales", "sales000007", 6]) != operations(42, 8000, ["sales", "sales000008", 7])


def test_same_operations_in_another_process():
    """hash() of a string differs per process; the operator's seed must not."""
    code = ("import json; from tests.measure.test_reproducible_load import operations; "
            "print(json.dumps(operations(42, 8000, ['sales', 'sales000007', 6])))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__('os').environ, "PYTHONHASHSEED": "12345"})
    assert [list(map(_jsonish, x)) for x in operations(42, 8000, ["sales", "sales000007", 6])] == json.loads(out.stdout)


def _jsonish(v):
    return json.loads(json.dumps(v))


def test_salespeople_work_on_popular_customers_across_their_whole_book():
    log = operations(42, 8000, ["sales", "sales000007", 6], n=400)
    ids = []
    for name, method, path, body in log:
        if name in ("customer_view", "customer_edit"):
            ids.append(int(urlsplit(path).path.rsplit("/", 1)[1]))
        elif name in ("sales_order_create", "payment_create"):
            ids.append(dict(body)["customer_id"])
    assert len(ids) > 150
    assert max(ids) > 1080 and min(ids) < 1020        # not only the first page listed
    counts = sorted((ids.count(i) for i in set(ids)), reverse=True)
    top = sum(counts[: max(1, len(counts) // 5)])
    assert top / len(ids) > 0.45                       # a small share of customers gets most of the work
