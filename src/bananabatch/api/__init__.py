"""The HTTP API (FastAPI). Build it with `bananabatch.api.app.create_app`."""
