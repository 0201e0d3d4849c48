"""Where the CLI's commands run: the embedded engine in this process, or a running
`bananabatch serve` reached over its REST API (`--server URL`). Both answer with
the API's own read models, so the CLI renders one shape either way."""

from bananabatch.cli.backends.local import LocalBackend
from bananabatch.cli.backends.port import Backend, IngestSummary, held
from bananabatch.cli.backends.remote import RemoteBackend

__all__ = ["Backend", "IngestSummary", "LocalBackend", "RemoteBackend", "held"]
