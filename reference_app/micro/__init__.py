"""The reference app as three services behind a gateway (``architecture.kind: microservices``).

* *customers* (operators, auth, customers and their balances), *inventory* (products, warehouses,
  suppliers, stock and its ledger), *orders* (sales and purchase orders, payments): each its own
  process(es) and its own database (:mod:`.topology`), each the only writer of what it owns.
* The services reuse the monolith's models, routers, permissions and statements; what crosses a
  service boundary goes over HTTP (:mod:`.peers`: pooled httpx clients, timeouts).
* A sales order is a saga (:mod:`.saga`): reserve stock in inventory, charge the customer's credit in
  customers, commit in orders; compensated when a step is refused, fails or times out, with
  idempotency keys so that a retried step never takes stock or credit twice.
* The gateway (:mod:`.gateway`) exposes exactly the monolith's public API on one port.
* :mod:`.audit` reconciles the three databases (order lines with ledger rows, balances with orders
  and payments).
"""
