"""Outputs as the API sends them, kept as JSON from one poll to the next.

While a job runs, every commit of the orchestrator (about 20 a second) makes each
polled page new, and rebuilding a page of 100 outputs (loading the rows, building the
models, serialising them) cost 10-15 ms of the API process each time. But an output's
JSON is fixed by its row and its flags, and every UPDATE of the row moves its change
number (`Output.change_seq`), so (id, change number, flags) names one JSON exactly. A
page now reads only the ids and change numbers of its rows and their flags, and loads
and serialises the few outputs that changed since they were last sent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bananabatch.db.models import Output
from bananabatch.quality.service import flags_by_output
from bananabatch.services.queries.output_view import output_out
from bananabatch.services.queries.views_outputs import (
    OutputPage,
)

MAX_ROWS = 10_000
"""Outputs kept at most (about 1.5 KB each), least recently sent dropped first."""

Flags = tuple[tuple[str, str], ...]


class _Kept:
    """The JSON of recently sent outputs, by id, with what it was made from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: OrderedDict[str, tuple[int, Flags, bytes]] = OrderedDict()

    def get(self, output_id: str, change_seq: int, flags: Flags) -> bytes | None:
        with self._lock:
            kept = self._rows.get(output_id)
            if kept is None or kept[0] != change_seq or kept[1] != flags:
                return None
            self._rows.move_to_end(output_id)
            return kept[2]

    def put(self, output_id: str, change_seq: int, flags: Flags, body: bytes) -> None:
        with self._lock:
            self._rows[output_id] = (change_seq, flags, body)
            self._rows.move_to_end(output_id)
            while len(self._rows) > MAX_ROWS:
                self._rows.popitem(last=False)


_kept = _Kept()


def outputs_json(session: Session, keys: Sequence[tuple[str, int]]) -> dict[str, bytes]:
    """The JSON of each (output id, change number) by id (an output deleted meanwhile is
    absent); only outputs not sent in this state before are loaded and serialised."""
    ids = [output_id for output_id, _ in keys]
    flags = {k: tuple(v) for k, v in flags_by_output(session, ids).items()}
    found: dict[str, bytes] = {}
    for output_id, seq in keys:
        body = _kept.get(output_id, seq, flags.get(output_id, ()))
        if body is not None:
            found[output_id] = body
    missing = [output_id for output_id in ids if output_id not in found]
    if missing:
        for o in session.scalars(select(Output).where(Output.id.in_(missing))):
            out = output_out(o, list(flags.get(o.id, ())))
            body = out.__pydantic_serializer__.to_json(out)
            _kept.put(o.id, o.change_seq, flags.get(o.id, ()), body)
            found[o.id] = body
    return found


_EMPTY_ITEMS = b'{"items":[]'


def page_json(
    items: Sequence[bytes],
    next_cursor: str | None,
    changes_cursor: str | None,
    more_changes: bool = False,
) -> bytes:
    """An `OutputPage` as JSON, byte for byte what serialising the model gives: the
    envelope is the model's own, with the outputs' kept JSON spliced in."""
    empty = OutputPage(
        items=[],
        next_cursor=next_cursor,
        changes_cursor=changes_cursor,
        more_changes=more_changes,
    )
    envelope = empty.__pydantic_serializer__.to_json(empty)
    assert envelope.startswith(_EMPTY_ITEMS)  # `items` is the model's first field
    return b"".join((b'{"items":[', b",".join(items), b"]", envelope[len(_EMPTY_ITEMS) :]))
