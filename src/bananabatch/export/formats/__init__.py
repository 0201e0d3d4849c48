"""Exports that write a labelled dataset back in the format it came in."""

from bananabatch.export.formats.labelled import is_labelled_job, labelled_entries

__all__ = ["is_labelled_job", "labelled_entries"]
