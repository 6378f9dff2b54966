"""Who may do what, in one place: role checks and the row-level scope of customers.

* admin: everything, every customer;
* manager: customers whose owner is in the manager's team (plus its own);
* sales: customers it owns;
* clerk: products, stock, warehouses, suppliers, purchasing; no customer data at all.

A customer outside the scope is reported as *not found*, never as forbidden, so that its existence
is not leaked. The scope is a SQL condition, so visibility costs no extra round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import ClauseElement, ColumnElement, bindparam, select, true

from reference_app.domain import Forbidden
from reference_app.models import Customer, Operator
from reference_app.security import TokenClaims
from reference_app.services.prepared import Prepared

# The authenticated operator as the services see it (id, role, team), straight from the token.
Actor = TokenClaims

CUSTOMER_ROLES = ("admin", "manager", "sales")
CATALOG_ROLES = ("admin", "clerk")
PURCHASING_ROLES = ("admin", "manager", "clerk")


def require_role(actor: Actor, roles: tuple[str, ...], action: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role!r} may not {action} (allowed: {', '.join(roles)})")


def customer_scope(actor: Actor, owner_col=Customer.owner_id) -> ColumnElement[bool]:
    """SQL condition selecting the customers ``actor`` may see, values bound; raises Forbidden for
    clerks. (The hot paths use :class:`Scoped` statements built once; the rule is the same.)"""
    shape, params = scope_of(actor)
    condition = scope_conditions(owner_col)[shape]
    return condition.params(**params) if params else condition


def scope_conditions(owner_col=Customer.owner_id) -> dict[str, ColumnElement[bool]]:
    """The three shapes :func:`customer_scope` can take, with the actor's ids as bind parameters."""
    return {
        "all": true(),
        "team": owner_col.in_(select(Operator.id).where(Operator.team == bindparam("scope_team"))),
        "own": owner_col == bindparam("scope_operator"),
    }


def scope_of(actor: Actor) -> tuple[str, dict[str, Any]]:
    """Which shape of :func:`scope_conditions` applies to ``actor``, and its parameters; raises
    Forbidden for clerks. The one place the scope rule lives."""
    require_role(actor, CUSTOMER_ROLES, "read customer data")
    if actor.role == "admin":
        return "all", {}
    if actor.role == "manager" and actor.team is not None:
        return "team", {"scope_team": actor.team}
    return "own", {"scope_operator": actor.operator_id}


class Scoped:
    """A customer statement built once per scope shape: ``build(scope_condition)`` -> statement.

    The row-level scope stays a SQL condition; only the actor's ids vary per request.
    """

    def __init__(self, build: Callable[[ColumnElement[bool]], ClauseElement], owner_col=Customer.owner_id) -> None:
        self._by_shape = {shape: Prepared(build(cond)) for shape, cond in scope_conditions(owner_col).items()}

    def for_actor(self, actor: Actor) -> tuple[Prepared, dict[str, Any]]:
        shape, params = scope_of(actor)
        return self._by_shape[shape], params


class Owner(NamedTuple):
    """What :func:`may_own` needs of an operator (an :class:`Operator` row serves as well)."""

    id: int
    role: str
    team: str | None


def may_own(actor: Actor, owner: Owner | Operator) -> bool:
    """Whether ``actor`` may give (or move) a customer to ``owner``."""
    if owner.role == "clerk":
        return False
    if actor.role == "admin":
        return True
    if actor.role == "manager":
        return owner.id == actor.operator_id or (actor.team is not None and owner.team == actor.team)
    return owner.id == actor.operator_id


__all__ = [
    "Actor", "CUSTOMER_ROLES", "CATALOG_ROLES", "PURCHASING_ROLES", "require_role", "customer_scope", "may_own",
    "scope_conditions", "scope_of", "Scoped", "Owner",
]
