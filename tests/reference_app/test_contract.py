"""The hot handlers build their JSON themselves (orjson, no response-model validation): their bodies
must still be exactly what the OpenAPI schema says — every field of the declared model, no other,
and valid for it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from reference_app.api.schemas import (
    AgingOut, CustomerList, CustomerOut, CustomerPage, CustomerView, PaymentOut, ProductPage, PurchaseOrderOut,
    SalesOrderOut, StockLevel, StockList, TopCustomer,
)


def fields_of(model: type[BaseModel], body: dict[str, Any], optional: frozenset[str] = frozenset()) -> None:
    want = set(model.model_fields)
    assert want - optional <= set(body) <= want, (model.__name__, sorted(set(body) ^ want))
    model.model_validate(body)
    for name, info in model.model_fields.items():  # nested models too, one item each
        nested = getattr(info.annotation, "__args__", (None,))[0]
        if isinstance(nested, type) and issubclass(nested, BaseModel) and body.get(name):
            fields_of(nested, body[name][0])


def test_hot_answers_match_their_declared_models(world):
    product = world.new_product(price="2.50", on_hand=20)
    c = world.new_customer("sales_a1")
    fields_of(CustomerOut, c)
    order = world.order("sales_a1", c["id"], [(product["id"], 2)])
    assert order.status_code == 201
    fields_of(SalesOrderOut, order.json())
    pay = world.post("sales_a1", "/payments", {"customer_id": c["id"], "amount": "1.00"})
    assert pay.status_code == 201
    fields_of(PaymentOut, pay.json())
    edited = world.patch("sales_a1", f"/customers/{c['id']}", {"address": "路1号"})
    fields_of(CustomerOut, edited.json())

    view = world.get("sales_a1", f"/customers/{c['id']}").json()
    fields_of(CustomerView, view)
    assert view["recent_orders"][0]["total"] == "5.00"
    fields_of(CustomerPage, world.get("sales_a1", "/customers").json(), optional=frozenset({"total"}))
    fields_of(CustomerPage, world.get("sales_a1", "/customers", params={"with_total": "true"}).json())
    fields_of(CustomerList, world.get("sales_a1", "/customers/search", params={"q": c["name"][-3:]}).json())
    fields_of(ProductPage, world.get("clerk", "/products").json())
    fields_of(StockList, world.get("clerk", "/stock", params={"product_id": product["id"]}).json())
    top = world.get("mgr_a", "/reports/top-customers").json()
    TypeAdapter(list[TopCustomer]).validate_python(top)
    fields_of(TopCustomer, top[0])
    fields_of(AgingOut, world.get("mgr_a", "/reports/receivables-aging").json())
    levels = world.get("mgr_a", "/reports/stock-levels").json()
    fields_of(StockLevel, levels[0])

    po = world.post("clerk", "/purchase-orders", {"supplier_id": world.catalog["supplier"]["id"],
                                                  "warehouse_id": world.catalog["w1"]["id"],
                                                  "lines": [{"product_id": product["id"], "qty": 3}]})
    fields_of(PurchaseOrderOut, po.json())
    fields_of(PurchaseOrderOut, world.post("clerk", f"/purchase-orders/{po.json()['id']}/receive").json())
