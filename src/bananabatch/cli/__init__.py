"""The `bananabatch` command line: serve the product, or run whole jobs headless.

Every job command runs on the embedded engine (this process, the data dir) or,
with `--server URL` (or BANANABATCH_SERVER), on a running `bananabatch serve`
through its REST API; the token comes from BANANABATCH_TOKEN.

Exit codes mean something: 0 every output succeeded; 1 finished with some
outputs failed or blocked; 2 bad input (nothing was started); 3 the job failed
entirely; 4 the job was cancelled; 5 held at a budget cap; 130 interrupted by
Ctrl-C and 143 by SIGTERM (the job is saved, paused as interrupted, and resumes
with `bananabatch jobs resume JOB_ID`).
"""

from bananabatch.cli import datasets, info, jobs, review, run
from bananabatch.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_BUDGET,
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_TERMINATED,
    app,
    install_signal_handlers,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BUDGET",
    "EXIT_CANCELLED",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_TERMINATED",
    "app",
    "datasets",
    "info",
    "jobs",
    "main",
    "review",
    "run",
]


def main() -> None:
    install_signal_handlers()
    app()
