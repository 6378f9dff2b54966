"""tinyjxc's load test with per-user logins, written for plain ``locust`` too.

Under jxcbench each user logs in as its own account (``self.jxcbench_operator``, from
``system.users``); under plain ``locust -f locustfile_logins.py`` every user logs in as clerk-1.
"""

import random

from locust import HttpUser, between, task

CUSTOMERS_SEEN = 100  # ids below this exist at every level a sweep of 100 customers or more seeds


class Clerk(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self):
        login = getattr(self, "jxcbench_operator", None) or {"username": "clerk-1", "password": "pw-1"}
        r = self.client.post("/login", json={"username": login["username"], "password": login["password"]},
                             name="login")
        r.raise_for_status()
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}

    @task
    def whoami(self):
        self.client.get("/me", headers=self.headers, name="me")

    @task(3)
    def open_customer(self):
        self.client.get(f"/customers/{random.randint(1, CUSTOMERS_SEEN)}", headers=self.headers, name="customer_open")
