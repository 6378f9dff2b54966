"""Payments: money received from a customer lowers its balance in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, update

from reference_app.models import Customer, Payment, utcnow
from reference_app.services.customers import require_visible
from reference_app.services.database import Database
from reference_app.services.permissions import Actor, scope_of
from reference_app.services.prepared import Prepared, Tx, insert_row

_AMOUNT = bindparam("p_amount")
CREDIT = Prepared(update(Customer).where(Customer.id == bindparam("p_customer"))
                  .values(balance_cents=Customer.balance_cents - _AMOUNT, updated_at=bindparam("p_now")))  # as onupdate would
NEW_PAYMENT = insert_row(Payment.__table__)


def create_payment(db: Database, actor: Actor, customer_id: int, amount_cents: int) -> dict[str, Any]:
    """The payment as a dict of its columns."""
    scope_of(actor)  # clerks are refused before any query

    def unit(tx: Tx) -> dict[str, Any]:
        require_visible(tx, actor, customer_id)
        now = utcnow()
        tx.run(CREDIT, p_customer=customer_id, p_amount=amount_cents, p_now=now)
        payment = dict(customer_id=customer_id, operator_id=actor.operator_id, amount_cents=amount_cents,
                       created_at=now)
        return {"id": tx.insert(NEW_PAYMENT, **payment), **payment}

    return db.writing(unit)


__all__ = ["create_payment"]
