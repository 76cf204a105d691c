"""The command line: the only part of jobweave that prints. Entry point: :func:`app.main`."""
