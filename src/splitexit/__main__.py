"""``python -m splitexit`` runs the command-line interface (the testbed starts workers so)."""

from splitexit.cli import main

main()
