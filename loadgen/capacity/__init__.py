"""The capacity search and what it writes: one step (:mod:`.step`), one system grown level by level
(:mod:`.levels`), the pure search (:mod:`.search`), the sweep that drives it resumably (:mod:`.sweep`)
and the results contract, ``capacity.json`` / ``steps.csv`` (:mod:`.results`).
"""
