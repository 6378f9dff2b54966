"""The tables the services add to keep cross-service writes exact (each in its owner's database).

* ``reservations`` (inventory): stock taken for a sales order under an idempotency key (and, kind
  ``receipt``, a purchase order's goods put in once). A key is used once: reserving it again answers
  the first reservation; a key *released* before its reservation arrived (a compensation that
  overtook a slow request) refuses it for good.
* ``balance_moves`` (customers): each change of a customer's balance (an order's charge, a
  payment's credit) under an idempotency key, reverted at most once, with the same tombstone rule.
* ``sagas`` (orders): the durable intent of a cross-service write, written before its first remote
  step; what a recovery pass compensates when the request that started it died half-way.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from reference_app.models import BigId, Timestamp, utcnow


class MicroBase(DeclarativeBase):
    pass


class Reservation(MicroBase):
    __tablename__ = "reservations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # sale (stock out) | receipt (a purchase order's goods in)
    warehouse_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # held | released
    lines: Mapped[str] = mapped_column(Text)  # JSON [[product_id, qty, unit_price_cents], ...] as requested
    operator_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    __table_args__ = (CheckConstraint("status IN ('held', 'released')", name="ck_reservations_status"),)


class BalanceMove(MicroBase):
    __tablename__ = "balance_moves"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # + an order's charge, - a payment
    status: Mapped[str] = mapped_column(String(16))  # applied | reverted
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('applied', 'reverted')", name="ck_balance_moves_status"),
        Index("ix_balance_moves_customer", "customer_id"),
    )


class Saga(MicroBase):
    __tablename__ = "sagas"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the idempotency key of every remote step
    client_key: Mapped[str | None] = mapped_column(String(128), unique=True)  # the client's Idempotency-Key
    kind: Mapped[str] = mapped_column(String(16))  # sale | payment
    status: Mapped[str] = mapped_column(String(16))  # pending | done | aborting | aborted
    doc_id: Mapped[int | None] = mapped_column(BigInteger)  # the sales order / payment once done
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'aborting', 'aborted')", name="ck_sagas_status"),
        Index("ix_sagas_status_created", "status", "created_at"),
    )


__all__ = ["MicroBase", "Reservation", "BalanceMove", "Saga"]
