"""Pure domain logic: planning, prompt templating, naming, pricing and seeds.

Nothing here does I/O (the only file read is the packaged model catalog, via
`bananabatch.catalog`), so every rule can be unit-tested in isolation and reused
by the API, the CLI and the orchestrator alike.
"""
