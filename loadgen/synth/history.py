"""Order history of one block of customers: sales orders, their lines, payments, credit lines.

* Orders per customer: Poisson around a log-normal activity, mean :data:`MEAN_ORDERS` — most
  customers order a little, a minority most (the top 20 % place about 60 % of orders).
* 1–5 lines per order (30/25/20/15/10 %), products by Zipf-like popularity, small quantities.
* Most orders are paid (80 %; 15 % of those only in part) some days later; payments that would fall
  after the anchor date are not made yet, so recent orders stay receivable (aging reports see data).
* Credit limit: the level's base line, raised to 125 % of everything the customer ever ordered
  (rounded up to 1 000 yuan), so no seeded order could have been refused for credit and the
  customer keeps headroom for orders placed during the load.
* Stock: the block's whole demand is bought (received purchase orders, one per warehouse ×
  supplier) when its first customer is seeded, *before* its sales, so stock never goes negative
  and returns to the opening level once the block is complete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadgen.synth.blocks import STREAM_HISTORY, rng_for, weighted
from loadgen.synth.catalogue import Catalogue
from loadgen.synth.customers import LEVEL_BASE_CENTS, US_PER_DAY, CustomerBlock

MEAN_ORDERS = 3.0
LINES_P = [0.30, 0.25, 0.20, 0.15, 0.10]
PAID_SHARE = 0.80
MAX_ORDERS = 400


@dataclass
class History:
    # orders, sorted by (customer, time)
    order_customer: np.ndarray   # local customer index in the block
    order_warehouse: np.ndarray  # warehouse index
    order_us: np.ndarray
    order_total: np.ndarray
    # lines, sorted by order
    line_order: np.ndarray       # local order index
    line_product: np.ndarray
    line_qty: np.ndarray
    line_price: np.ndarray
    line_amount: np.ndarray
    # payments, sorted by customer
    pay_customer: np.ndarray
    pay_amount: np.ndarray
    pay_us: np.ndarray
    # per customer
    credit_limit: np.ndarray
    balance: np.ndarray
    # the block's demand per product × warehouse (what its purchase receipts bring in)
    demand: np.ndarray           # int64 [products, warehouses]


def block_history(seed: int, block: int, cust: CustomerBlock, cat: Catalogue, anchor_us: int) -> History:
    rng = rng_for(seed, block, STREAM_HISTORY)
    n = len(cust)
    # activity is log-normal (times a company factor): scale it so the block's mean is MEAN_ORDERS
    lam = cust.activity * (MEAN_ORDERS / cust.activity.mean())
    n_orders = np.minimum(rng.poisson(lam), MAX_ORDERS)
    order_customer = np.repeat(np.arange(n), n_orders)
    o = len(order_customer)
    start = cust.created_us[order_customer]
    span = np.maximum(anchor_us - start, 1)
    order_us = start + (rng.random(o) * span).astype(np.int64)
    order_us = np.minimum(order_us, anchor_us - 1)
    sort = np.lexsort((order_us, order_customer))
    order_us = order_us[sort]
    home = cust.home_warehouse[order_customer]
    order_warehouse = np.where(rng.random(o) < 0.85, home, weighted(rng, [1, 1, 1, 1, 1, 1], o))

    n_lines = weighted(rng, LINES_P, o) + 1
    line_order = np.repeat(np.arange(o), n_lines)
    lines = len(line_order)
    line_product = weighted(rng, cat.popularity, lines)
    line_qty = np.minimum(rng.geometric(0.35, lines), 20).astype(np.int64)
    line_price = cat.price_cents[line_product]
    line_amount = line_qty * line_price
    order_total = np.bincount(line_order, weights=line_amount, minlength=o).astype(np.int64)

    paid = rng.random(o) < PAID_SHARE
    partial = rng.random(o) < 0.15
    share = rng.uniform(0.3, 0.9, o)
    pay_amount = np.where(partial, np.maximum(np.round(order_total * share), 1), order_total).astype(np.int64)
    pay_us = order_us + (rng.exponential(15.0, o) * US_PER_DAY).astype(np.int64)
    keep = paid & (pay_us < anchor_us)
    pay_customer = order_customer[keep]
    pay_amount = pay_amount[keep]
    pay_us = pay_us[keep]

    ordered = np.bincount(order_customer, weights=order_total, minlength=n).astype(np.int64)
    paid_sum = np.bincount(pay_customer, weights=pay_amount, minlength=n).astype(np.int64)
    needed = -(-(ordered * 5 // 4) // 100_000) * 100_000  # 125 %, rounded up to 1 000 yuan
    credit_limit = np.maximum(LEVEL_BASE_CENTS[cust.level], needed)

    cells = line_product * cat.warehouses + order_warehouse[line_order]
    demand = np.bincount(cells, weights=line_qty, minlength=cat.products * cat.warehouses)
    return History(
        order_customer=order_customer, order_warehouse=order_warehouse, order_us=order_us,
        order_total=order_total, line_order=line_order, line_product=line_product, line_qty=line_qty,
        line_price=line_price, line_amount=line_amount, pay_customer=pay_customer, pay_amount=pay_amount,
        pay_us=pay_us, credit_limit=credit_limit, balance=ordered - paid_sum,
        demand=demand.astype(np.int64).reshape(cat.products, cat.warehouses),
    )


__all__ = ["History", "block_history", "MEAN_ORDERS"]
