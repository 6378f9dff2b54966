"""Domain errors and money: what the services raise and speak, with no HTTP in sight.

The web layer maps each error class to one status code (see :mod:`reference_app.api.errors`);
business refusals (out of stock, over credit, over quota) are 409s, not server errors.
"""

from __future__ import annotations

from decimal import Decimal


class DomainError(Exception):
    """Base of every refusal a service can raise; ``str(err)`` is the message shown to the client."""


class NotFound(DomainError):
    """The object does not exist *or is not visible to this operator* (existence is not leaked)."""

    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} not found")


class Unauthenticated(DomainError):
    """No valid credentials: missing, malformed or expired token, or a wrong password."""


class Forbidden(DomainError):
    """The operator's role may not do this at all."""


class InvalidReference(DomainError):
    """A request field names an object that does not exist (answers 422 naming the field)."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field = field


class Conflict(DomainError):
    """The request contradicts the current state (duplicate code, already received...)."""


class OutOfStock(Conflict):
    def __init__(self, product_id: int, warehouse_id: int, wanted: int) -> None:
        super().__init__(
            f"out of stock: product {product_id} in warehouse {warehouse_id} has fewer than {wanted} on hand"
        )
        self.product_id = product_id


class CreditLimitExceeded(Conflict):
    def __init__(self, customer_id: int, total_cents: int) -> None:
        super().__init__(
            f"credit limit exceeded: customer {customer_id} cannot take an order of {format_money(total_cents)}"
        )


class QuotaExceeded(Conflict):
    def __init__(self, operator_id: int, quota: int) -> None:
        super().__init__(f"customer_quota exceeded: operator {operator_id} already owns its quota of {quota} customers")


def format_money(cents: int) -> str:
    """Integer cents as a decimal string: 12345 -> "123.45", -5 -> "-0.05"."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{frac:02d}"


def to_cents(amount: Decimal) -> int:
    """A decimal amount with at most two decimals as integer cents (validated before we get here)."""
    return int((amount * 100).to_integral_exact())


__all__ = [
    "DomainError", "NotFound", "Unauthenticated", "Forbidden", "InvalidReference", "Conflict", "OutOfStock",
    "CreditLimitExceeded", "QuotaExceeded", "format_money", "to_cents",
]
