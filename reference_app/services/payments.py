"""Payments: money received from a customer lowers its balance in the same transaction."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from reference_app.models import Customer, Payment, utcnow
from reference_app.services.customers import visible_customer
from reference_app.services.database import Database
from reference_app.services.permissions import Actor, customer_scope


def create_payment(db: Database, actor: Actor, customer_id: int, amount_cents: int) -> Payment:
    customer_scope(actor)  # clerks are refused before any query

    def unit(s: Session) -> Payment:
        visible_customer(s, actor, customer_id)
        s.execute(
            update(Customer).where(Customer.id == customer_id)
            .values(balance_cents=Customer.balance_cents - amount_cents)
            .execution_options(synchronize_session=False)
        )
        payment = Payment(customer_id=customer_id, operator_id=actor.operator_id, amount_cents=amount_cents,
                          created_at=utcnow())
        s.add(payment)
        s.flush()
        return payment

    return db.write(unit)


__all__ = ["create_payment"]
