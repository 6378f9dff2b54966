"""The chaos load: a few salespeople writing sales orders and payments as fast as the app lets them.

Why not the step's Locust engine: chaos needs every acknowledged document's id and every request's
outcome on one clock, in this process, while faults are injected from it; the personas' mix and
think times do not matter here, the writes do (they are what a fault can lose). Each operator is one
thread with its own HTTP client and token, so a killed worker, a restarted database or a cut link
hits it the way it hits a real client: connection refused, 5xx, or a timeout.

An *acknowledged* write is a 2xx answer with the new document's id; a 409 (out of stock, over the
credit limit) is the app's business answer, neither acknowledged nor failed; anything else (5xx,
other 4xx, a transport error or timeout) is a failure.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

API = "/api/v1"
REQUEST_TIMEOUT_S = 5.0
"""A request still unanswered after this long counts as failed (a stopped database holds it)."""


@dataclass
class Outcome:
    start: float   # time.monotonic() when sent
    end: float     # when answered or given up
    kind: str      # "sales_order" | "payment" | "login" | "customers"
    status: int | None  # HTTP status; None = transport error / timeout
    ok: bool       # 2xx

    @property
    def failed(self) -> bool:
        return self.status is None or (self.status >= 400 and self.status != 409)


@dataclass
class ChaosLoad:
    """``operators`` salespeople (usernames, one thread each) against ``base_url``."""

    base_url: str
    operators: list[str]
    password: str
    product_ids: list[int]
    warehouse_ids: list[int]
    seed: int = 16
    outcomes: list[Outcome] = field(default_factory=list)
    acked: dict[str, list[int]] = field(default_factory=lambda: {"sales_order": [], "payment": []})
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for i, username in enumerate(self.operators):
            t = threading.Thread(target=self._operator, args=(username, random.Random(self.seed + i)),
                                 name=f"chaos-{username}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=REQUEST_TIMEOUT_S + 5)

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def _record(self, o: Outcome, kind: str | None = None, doc_id: int | None = None) -> None:
        with self._lock:
            self.outcomes.append(o)
            if kind is not None and doc_id is not None:
                self.acked[kind].append(doc_id)

    def _send(self, http: Any, kind: str, method: str, path: str, **kw: Any) -> tuple[int | None, Any]:
        import httpx

        t0 = time.monotonic()
        try:
            r = http.request(method, path, **kw)
            status, body = r.status_code, (r.json() if r.headers.get("content-type", "").startswith(
                "application/json") else None)
        except (httpx.HTTPError, ValueError):
            status, body = None, None
        ok = status is not None and 200 <= status < 300
        doc = body.get("id") if ok and kind in self.acked and isinstance(body, dict) else None
        self._record(Outcome(t0, time.monotonic(), kind, status, ok), kind if doc is not None else None, doc)
        return status, body

    def _operator(self, username: str, rng: random.Random) -> None:
        import httpx

        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_S) as http:
            customers: list[int] = []
            while not self._stop.is_set():
                if "authorization" not in http.headers:
                    status, body = self._send(http, "login", "POST", f"{API}/auth/login",
                                              json={"username": username, "password": self.password})
                    if status != 200:
                        self._stop.wait(0.2)  # the app is down: try again, without spinning
                        continue
                    http.headers["authorization"] = f"Bearer {body['access_token']}"
                if not customers:
                    status, body = self._send(http, "customers", "GET", f"{API}/customers", params={"limit": 50})
                    if status == 200 and body and body.get("items"):
                        customers = [c["id"] for c in body["items"]]
                    else:
                        if status == 401:
                            del http.headers["authorization"]
                        self._stop.wait(0.2)
                        continue
                customer = rng.choice(customers)
                if rng.random() < 0.5:
                    lines = [{"product_id": p, "qty": 1} for p in rng.sample(self.product_ids, k=min(2, len(self.product_ids)))]
                    status, _ = self._send(http, "sales_order", "POST", f"{API}/sales-orders", json={
                        "customer_id": customer, "warehouse_id": rng.choice(self.warehouse_ids), "lines": lines})
                else:
                    status, _ = self._send(http, "payment", "POST", f"{API}/payments",
                                           json={"customer_id": customer, "amount": f"{rng.randint(1, 300)}.00"})
                if status == 401:
                    del http.headers["authorization"]
                elif status is None or status >= 500:
                    self._stop.wait(0.05)  # a failing system: keep probing, but do not flood it


__all__ = ["REQUEST_TIMEOUT_S", "ChaosLoad", "Outcome"]
