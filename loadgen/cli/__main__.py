"""``python -m loadgen.cli`` runs the ``jxcbench`` command line."""

from loadgen.cli import main

main()
