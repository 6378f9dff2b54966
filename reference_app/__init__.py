"""The reference JXC (进销存) web app: the system whose capacity jxcbench measures.

It imports nothing from ``loadgen`` or ``reports``.
"""
