"""Faults under load (``jxcbench chaos``): a small load that keeps the ids of every sales order
and payment it saw acknowledged (:mod:`.load`), the faults themselves (:mod:`.faults`), and the run
that injects them one by one, then checks that nothing acknowledged was lost and the audit is clean
(:mod:`.run`).
"""
