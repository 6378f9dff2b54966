"""Synthetic, deterministic JXC data (numpy, vectorised): customers, catalogue, history, operators.

Everything is a pure function of the seed and a block index (see :mod:`loadgen.synth.blocks`), so
the same ``--seed`` gives the same rows on every engine and however the rows were chunked.
"""

from loadgen.synth.blocks import BLOCK
from loadgen.synth.catalogue import WAREHOUSES, Catalogue, make_catalogue
from loadgen.synth.customers import LEVEL_NAMES, CustomerBlock, customer_block, phones
from loadgen.synth.history import MEAN_ORDERS, History, block_history
from loadgen.synth.operators import (
    FILL,
    LOADTEST_PASSWORD,
    assign_owners,
    operator_rows,
    per_salesperson,
    salespeople_for,
)

__all__ = [
    "BLOCK", "WAREHOUSES", "Catalogue", "make_catalogue", "LEVEL_NAMES", "CustomerBlock", "customer_block",
    "phones", "MEAN_ORDERS", "History", "block_history", "FILL", "LOADTEST_PASSWORD", "assign_owners",
    "operator_rows", "per_salesperson", "salespeople_for",
]
