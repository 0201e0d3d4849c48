"""`python -m bananabatch.cli`."""

from bananabatch.cli import main

main()
