"""tinyjxc's load test, written for plain ``locust -f locustfile.py --host http://127.0.0.1:8080``.

Two kinds of staff: salespeople look customers up and take orders; back-office staff open customer
records. jxcbench runs this file unchanged (its User classes are the personas).
"""

import random

from locust import HttpUser, between, task

CUSTOMERS_SEEN = 500  # ids below this exist at every level the example sweeps


class Salesperson(HttpUser):
    weight = 3
    wait_time = between(0.05, 0.2)

    @task(3)
    def search_customer(self):
        self.client.get(f"/customers?q={random.choice(['wang', 'li', 'zhao', 'Trading 1'])}", name="customer_search")

    @task(1)
    def create_order(self):
        self.client.post("/orders", json={"customer_id": random.randint(1, CUSTOMERS_SEEN),
                                          "product_id": random.randint(1, 50), "qty": random.randint(1, 5)},
                         name="order_create")


class BackOffice(HttpUser):
    weight = 1
    wait_time = between(0.05, 0.2)

    @task
    def open_customer(self):
        self.client.get(f"/customers/{random.randint(1, CUSTOMERS_SEEN)}", name="customer_open")
