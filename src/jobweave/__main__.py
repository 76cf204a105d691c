"""``python -m jobweave`` runs the command line."""

from jobweave.cli.app import main

main()
