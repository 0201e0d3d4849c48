"""Use cases shared by the API and the CLI (write side in jobs.py, read side in the queries package)."""
