"""The fixed part of the book: products in categories, warehouses, suppliers, opening stock.

It depends on the seed only (not on the number of customers), so it is written once and every
later grow finds it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadgen.synth.blocks import STREAM_CATALOGUE, rng_for, weighted
from loadgen.synth.vocab import BRANDS, CATEGORIES, SPECS

DEFAULT_PRODUCTS = 3000
DEFAULT_SUPPLIERS = 50
WAREHOUSES = [
    ("W01", "华南仓（广州）", "广东省"), ("W02", "华东仓（上海）", "上海市"), ("W03", "华北仓（北京）", "北京市"),
    ("W04", "西南仓（成都）", "四川省"), ("W05", "华中仓（武汉）", "湖北省"), ("W06", "东北仓（沈阳）", "辽宁省"),
]
# Share of orders each warehouse ships (the big regions ship more).
WAREHOUSE_SHARE = np.array([0.28, 0.26, 0.16, 0.12, 0.11, 0.07])


@dataclass(frozen=True)
class Catalogue:
    sku: np.ndarray          # str
    name: np.ndarray         # str
    category: np.ndarray     # str
    unit: np.ndarray         # str
    price_cents: np.ndarray  # int64
    cost_cents: np.ndarray   # int64
    popularity: np.ndarray   # float64, sums to 1 (Zipf-like: a few products sell most)
    supplier: np.ndarray     # int: index into suppliers of the product's supplier
    supplier_code: np.ndarray
    supplier_name: np.ndarray
    supplier_phone: np.ndarray
    opening: np.ndarray      # int64 [product, warehouse]: opening stock

    @property
    def products(self) -> int:
        return len(self.sku)

    @property
    def warehouses(self) -> int:
        return len(WAREHOUSES)


def make_catalogue(seed: int, products: int = DEFAULT_PRODUCTS, suppliers: int = DEFAULT_SUPPLIERS) -> Catalogue:
    rng = rng_for(seed, 0, STREAM_CATALOGUE)
    cat = weighted(rng, [len(c[3]) for c in CATEGORIES], products)
    item = np.array([rng.integers(len(CATEGORIES[c][3])) for c in cat])
    brand = rng.integers(len(BRANDS), size=(products, 2))
    spec = rng.integers(len(SPECS), size=products)
    bch = np.array([b[0] for b in BRANDS])
    names = [f"{bch[b0]}{bch[b1]}{CATEGORIES[c][3][i]} {SPECS[s]}"
             for b0, b1, c, i, s in zip(brand[:, 0], brand[:, 1], cat, item, spec)]
    typical = np.array([CATEGORIES[c][2] for c in cat], dtype=np.float64)
    price_yuan = typical * rng.lognormal(0.0, 0.45, products)
    price_cents = np.maximum(np.round(price_yuan * 10).astype(np.int64) * 10, 100)
    cost_cents = np.round(price_cents * rng.uniform(0.55, 0.85, products)).astype(np.int64)
    rank = rng.permutation(products)
    popularity = 1.0 / (rank + 10.0) ** 1.1
    popularity /= popularity.sum()
    supplier = rng.integers(suppliers, size=products)
    s_brand = rng.integers(len(BRANDS), size=(suppliers, 2))
    s_names = [f"{bch[a]}{bch[b]}{CATEGORIES[i % len(CATEGORIES)][0]}供应有限公司"
               for i, (a, b) in enumerate(s_brand)]
    s_phone = [f"0{rng.integers(10, 999):d}-{rng.integers(2_000_000, 89_999_999):d}" for _ in range(suppliers)]
    # Opening stock: a floor plus what a popular product needs; purchases per block keep it there.
    opening = (500 + np.round(popularity * products * 1500)).astype(np.int64)
    opening = np.repeat(opening[:, None], len(WAREHOUSES), axis=1)
    return Catalogue(
        sku=np.array([f"P{i + 1:06d}" for i in range(products)]),
        name=np.array(names),
        category=np.array([CATEGORIES[c][0] for c in cat]),
        unit=np.array([CATEGORIES[c][1] for c in cat]),
        price_cents=price_cents,
        cost_cents=cost_cents,
        popularity=popularity,
        supplier=supplier,
        supplier_code=np.array([f"S{i + 1:05d}" for i in range(suppliers)]),
        supplier_name=np.array(s_names),
        supplier_phone=np.array(s_phone),
        opening=opening,
    )


__all__ = ["Catalogue", "make_catalogue", "WAREHOUSES", "WAREHOUSE_SHARE", "DEFAULT_PRODUCTS",
           "DEFAULT_SUPPLIERS"]
