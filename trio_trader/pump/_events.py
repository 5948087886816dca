"""Anchor event framing shared by the pump program and PumpSwap: codec and log scanner.

Both programs emit an event as ``sha256("event:<Name>")[:8]`` then borsh fields, twice: as a
``Program data: <base64>`` log line inside their own invoke frame, and as a self-CPI whose
instruction data is :data:`EVENT_CPI_TAG` then the same bytes. :class:`EventCodec` decodes
either form for one program's event types; :func:`parse_program_events` picks a program's
events out of a transaction's log.

The log has to be read as an invoke stack, not line by line: every Anchor program with an
event of the same name (``TradeEvent``, ``BuyEvent``) shares its discriminator, and any
program can print a ``Program data:`` line, so a line counts only while the wanted program
is on top of the stack (:func:`program_data_lines`). A router that CPIs the program still
yields the program's events; the router's own look-alike lines do not.
"""

from __future__ import annotations

import base64
import binascii
import logging
import operator
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs
from solders.pubkey import Pubkey

from . import _layout as L
from ._borsh import DecodeError, Reader, Writer

__all__ = [
    "EVENT_CPI_TAG",
    "PROGRAM_DATA",
    "EventCodec",
    "fixed_run",
    "parse_program_events",
    "program_data_lines",
]

#: Anchor's ``EVENT_IX_TAG_LE``: the first 8 bytes of an event self-CPI's instruction data.
EVENT_CPI_TAG = bytes.fromhex("e445a52e51cb9a1d")
PROGRAM_DATA = "Program data: "


class EventType(attrs.AttrsInstance, Protocol):
    """An ``@attrs.frozen`` event class: its discriminator and how many leading fields the
    oldest layout has."""

    DISCRIMINATOR: ClassVar[bytes]
    REQUIRED: ClassVar[int]


E = TypeVar("E", bound=EventType)


class EventCodec(Generic[E]):
    """Decode and encode one program's events, each an append-only field list.

    Args:
        layouts: each event class with its field list (newest layout, oldest fields first).
        what: names the events in the error for an unknown discriminator.
    """

    __slots__ = ("_by_disc", "_fields", "_plans", "_what")

    def __init__(self, layouts: Sequence[tuple[type[E], tuple[L.Field, ...]]], what: str) -> None:
        self._by_disc = {cls.DISCRIMINATOR: (cls, fields) for cls, fields in layouts}
        self._fields = dict(layouts)
        self._plans = {cls.DISCRIMINATOR: _plan(fields) for cls, fields in layouts}
        self._what = what

    def knows(self, disc: bytes) -> bool:
        """Whether ``disc`` (8 bytes) is one of this codec's events."""
        return disc in self._by_disc

    def decode(self, data: bytes) -> E:
        """Decode ``disc ‖ payload`` or ``EVENT_CPI_TAG ‖ disc ‖ payload``.

        Bytes after the newest known field are ignored (a later upgrade appends fields).

        Raises:
            DecodeError: unknown discriminator, or shorter than the oldest layout, or a
                field cut in half.
        """
        data = bytes(data)
        if data[:8] == EVENT_CPI_TAG:
            data = data[8:]
        if len(data) < 8:
            raise DecodeError(f"event of {len(data)} bytes has no discriminator")
        entry = self._by_disc.get(data[:8])
        if entry is None:
            raise DecodeError(f"not a {self._what} event: {data[:8].hex()}")
        cls, fields = entry
        values = _decode_planned(data, fields, self._plans[data[:8]], cls)
        return cls(**values)

    def encode(self, event: E) -> bytes:
        """``disc ‖ borsh`` of every field up to the first ``None`` (what the program logs)."""
        fields = self._fields[type(event)]
        values: dict[str, Any] = attrs.asdict(event, recurse=False)
        writer = Writer(event.DISCRIMINATOR)
        return L.encode_fields(writer, fields, values, zero_fill=False).to_bytes()


# ------------------------------------------------------------------- precompiled layouts
# A layout is cut into segments: runs of fixed-size fields, each read by one precompiled
# `struct`, and the variable-length fields between them (strings, vecs), read by their
# `Kind`. Whatever the fast path cannot vouch for (a run the bytes do not hold whole, a bool
# byte other than 0/1) is handed, from that segment on, to `_layout.decode_fields`, the
# reference reader: results and errors are the same as reading field by field.

_STRUCT_CODES = {
    id(L.PUBKEY): "32s",
    id(L.U64): "Q",
    id(L.I64): "q",
    id(L.BOOL): "B",
    id(L.U8): "B",
    id(L.U16): "H",
}


@attrs.frozen
class FixedRun:
    start: int  # index of its first field in the layout
    names: tuple[str, ...]
    layout: struct.Struct
    pubkeys: tuple[int, ...]  # positions in the run converted to Pubkey
    bools: tuple[int, ...]  # positions that must be 0 or 1, converted to bool

    def read(self, data: bytes, pos: int) -> list[Any] | None:
        """The run's values at ``pos`` (the bytes must hold it whole), converted; None when
        a bool byte is not 0 or 1 (the reference reader then names it)."""
        row = list(self.layout.unpack_from(data, pos))
        for i in self.bools:
            if row[i] > 1:
                return None
            row[i] = row[i] == 1
        for i in self.pubkeys:
            row[i] = Pubkey.from_bytes(row[i])
        return row


def fixed_run(fields: Sequence[L.Field]) -> FixedRun:
    """``fields``, all fixed-size, as one run read by one ``struct``.

    Raises:
        ValueError: a field is of variable size.
    """
    plan = _plan(fields)
    if len(plan) != 1 or not isinstance(plan[0], FixedRun):
        raise ValueError("not a run of fixed-size fields")
    return plan[0]


def _plan(fields: Sequence[L.Field]) -> tuple[FixedRun | int, ...]:
    """Segments of `fields`: a `FixedRun` of fixed fields, or the index of a variable one."""
    plan: list[FixedRun | int] = []
    run: list[tuple[int, str, L.Kind]] = []

    def close() -> None:
        if run:
            codes = "".join(_STRUCT_CODES[id(kind)] for _, _, kind in run)
            plan.append(
                FixedRun(
                    start=run[0][0],
                    names=tuple(name for _, name, _ in run),
                    layout=struct.Struct("<" + codes),
                    pubkeys=tuple(i for i, (_, _, k) in enumerate(run) if k is L.PUBKEY),
                    bools=tuple(i for i, (_, _, k) in enumerate(run) if k is L.BOOL),
                )
            )
            run.clear()

    for index, (name, kind) in enumerate(fields):
        if id(kind) in _STRUCT_CODES:
            run.append((index, name, kind))
        else:
            close()
            plan.append(index)
    close()
    return tuple(plan)


def _decode_planned(
    data: bytes, fields: Sequence[L.Field], plan: tuple[FixedRun | int, ...], cls: type[Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    reader = Reader(data, 8)
    pos = 8
    end = len(data)
    for segment in plan:
        start = segment.start if isinstance(segment, FixedRun) else segment
        if isinstance(segment, FixedRun) and pos + segment.layout.size <= end:
            row = segment.read(data, pos)
            if row is not None:
                values.update(zip(segment.names, row, strict=True))
                pos += segment.layout.size
                continue
        elif isinstance(segment, int) and pos < end:
            reader = Reader(data, pos)
            values[fields[segment][0]] = fields[segment][1].read(reader)
            pos = reader.pos
            continue
        # The reference reader from here on: the bytes end, are cut, or are unusual.
        rest = L.decode_fields(
            Reader(data, pos),
            fields[start:],
            required=max(0, cls.REQUIRED - start),
            stop_at_partial=False,
            what=cls.__name__,
        )
        values.update(rest)
        return values
    return values


# The invoke-stack scan reads every log line of every notification, so what it does per line
# is cached: most lines ("Program <id> invoke [n]", "... success", "Program log: Instruction:
# Buy") are the same strings transaction after transaction. A line is classified the way a
# split into four words would classify it (the reference this scan is held to in the tests);
# a line that cannot move the stack (no " invoke [", " success", " failed:") is known to be
# skipped before any split. The cache is bounded in entries (full, it starts again empty) and
# in line length, so varying lines ("consumed N of M compute units") or hostile ones cost at
# most one classification each and a bounded amount of memory.
#
# The scan is what a trade costs most (~50 lines a transaction, ~100 for a create, each
# string new from the JSON decoder), and it is mostly the same work every time: what the
# stack does depends only on the lines that move it, and those recur. So the result is also
# kept per *shape*: the lines that must be the same for the answer to hold (every line that
# moves the stack, and the skipped lines without digits, which recur: its *fixed* lines), and
# which of the other lines were data lines and which were skipped. A transaction with as many
# lines, the same fixed lines and, in its other lines, data and skipped lines where the shape
# had them (checked, by the same rules) has its stack move exactly as before, so the same
# lines are picked. Any other transaction is scanned line by line. Shapes are found by the
# line count (a few per count, tried in turn) and checked with C-level calls only: the fixed
# lines picked by one `itemgetter` and compared as a tuple, the others joined and searched.
# No line is hashed (a key of every line's code or length cost ~60 % more per trade), and the
# varying lines (compute units, amounts) do not make a new shape of each transaction.
# One regex `findall` over the joined log, the other way to do this in C, costs more than the
# line-by-line loop on the feed's trade (~23 µs against ~20 µs): the regex engine tries its
# pattern at every line start (`scripts/_bench/decode_steps.py`).

_SKIP, _DATA, _PUSH, _POP = 0, 1, 2, 3
#: (kind, program, cut): a push keeps ``stack[:cut]`` (None: all of it) then appends ``program``
_LineOp = tuple[int, str, int | None]
_SKIP_OP: _LineOp = (_SKIP, "", None)
_DATA_OP: _LineOp = (_DATA, "", None)
_LINE_OPS: dict[str, _LineOp] = {}
_LINE_OPS_MAX = 4096
_LINE_CACHED_MAX = 200  # characters: longer lines are classified every time
_HAS_DIGIT = re.compile(r"\d").search


#: the lines at some indices of a log, as a tuple, in one C-level call (`_picker`)
_Pick = Callable[[Sequence[str]], tuple[str, ...]]


@attrs.frozen
class _Shape:
    pick_fixed: _Pick
    fixed: tuple[str, ...]  # its fixed lines (``pick_fixed`` of the log it was kept from)
    data_at: tuple[int, ...]  # the other lines that were data lines
    pick_skipped: _Pick  # the other lines, which were skipped
    found: tuple[int, ...]  # the lines picked


_ShapeKey = tuple[str, int]  # program, line count
_SHAPES: dict[_ShapeKey, list[_Shape]] = {}
_SHAPES_MAX = 512  # keys: at most _SHAPE_LINES_MAX per program
_SHAPES_PER_KEY = 4  # shapes of one line count, the newest first
_SHAPE_LINES_MAX = 256  # longer logs are scanned line by line, never kept
_SHAPE_FIXED_MAX = 8 * 1024  # characters of fixed lines a shape may keep


def _picker(indices: Sequence[int]) -> _Pick:
    """The lines at ``indices``, as a tuple (``itemgetter`` returns one line bare)."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)
    if indices:
        at = indices[0]
        return lambda lines: (lines[at],)
    return lambda lines: ()


def _line_op(line: str) -> _LineOp:
    """What ``line`` does to the invoke stack (uncached)."""
    if line.startswith(PROGRAM_DATA):
        return _DATA_OP
    if " invoke [" not in line and " success" not in line and " failed:" not in line:
        return _SKIP_OP
    parts = line.split(" ", 3)
    if len(parts) < 3 or parts[0] != "Program":
        return _SKIP_OP
    program, verb = parts[1], parts[2]
    if verb == "invoke" and len(parts) == 4 and parts[3].startswith("["):
        try:
            depth = int(parts[3].strip("[]"))
        except ValueError:
            return (_PUSH, program, None)
        # ``invoke [n]`` drops the frames at depth n and deeper whose end was cut away
        return (_PUSH, program, depth - 1 if depth > 0 else 0)
    if verb in ("success", "failed:"):
        return (_POP, program, None)
    return _SKIP_OP


def program_data_lines(logs: Iterable[str], program_id: str) -> list[str]:
    """The ``Program data:`` lines printed while ``program_id`` is on top of the invoke stack.

    The stack follows ``Program <id> invoke [n]`` / ``success`` / ``failed: …`` lines; an
    ``invoke [n]`` also drops frames at depth ``n`` and deeper whose end the node cut away.
    """
    # a tuple of types, not ``list | tuple``: that builds a union object at every call
    lines = logs if isinstance(logs, (list, tuple)) else list(logs)
    if len(lines) > _SHAPE_LINES_MAX:
        return [lines[i] for i in _scan(lines, program_id)]
    key = (program_id, len(lines))
    shapes = _SHAPES.get(key)
    if shapes is not None:
        for shape in shapes:
            if _fits(shape, lines):
                return [lines[i] for i in shape.found]
    found = _scan(lines, program_id)
    _keep_shape(key, lines, found)
    return [lines[i] for i in found]


def _fits(shape: _Shape, lines: Sequence[str]) -> bool:
    """Whether ``lines`` (as many as ``shape`` had) have its fixed lines, and data and
    skipped lines where it had them.

    The skipped ones are searched joined (C-level: no marker has a newline, so none spans
    two lines); only when a marker or a data line's start shows up are they judged one by one.
    """
    if shape.pick_fixed(lines) != shape.fixed:
        return False
    data = PROGRAM_DATA
    for i in shape.data_at:
        if not lines[i].startswith(data):
            return False
    skipped = shape.pick_skipped(lines)
    text = "\n" + "\n".join(skipped)
    if (
        "\n" + data not in text
        and " invoke [" not in text
        and " success" not in text
        and " failed:" not in text
    ):
        return True
    return all(not line.startswith(data) and _line_op(line) is _SKIP_OP for line in skipped)


def _keep_shape(key: _ShapeKey, lines: Sequence[str], found: list[int]) -> None:
    """Keep the shape of ``lines`` (see above), unless its fixed lines are too long to keep.

    Fixed: every line that moves the stack, and the skipped lines without digits that are
    short enough to recur (`_classify`'s rule); the others are data or skipped lines."""
    fixed_at: list[int] = []
    data_at: list[int] = []
    skip_at: list[int] = []
    size = 0
    for i, line in enumerate(lines):
        op = _LINE_OPS.get(line) or _line_op(line)
        if op is _DATA_OP:
            data_at.append(i)
        elif op is _SKIP_OP and (len(line) > _LINE_CACHED_MAX or _HAS_DIGIT(line) is not None):
            skip_at.append(i)
        else:
            fixed_at.append(i)
            size += len(line)
    if size > _SHAPE_FIXED_MAX:
        return
    if key not in _SHAPES and len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    pick_fixed = _picker(fixed_at)
    shape = _Shape(pick_fixed, pick_fixed(lines), tuple(data_at), _picker(skip_at), tuple(found))
    shapes = _SHAPES.setdefault(key, [])
    shapes.insert(0, shape)
    del shapes[_SHAPES_PER_KEY:]


def _scan(lines: Sequence[str], program_id: str) -> list[int]:
    """`program_data_lines`' indices, line by line (the reference's rules, cached per line)."""
    stack: list[str] = []
    found: list[int] = []
    # locals, not globals, in the loop that every line of a new shape goes through
    op_of, skip, push, data = _LINE_OPS.get, _SKIP_OP, _PUSH, PROGRAM_DATA
    for i, line in enumerate(lines):
        op = op_of(line)
        if op is None:  # a data line (never cached), a varying line, or one not seen yet
            if line.startswith(data):
                if stack and stack[-1] == program_id:
                    found.append(i)
                continue
            op = _classify(line)
        if op is skip:
            continue
        kind, program, cut = op
        if kind == push:
            if cut is not None:
                del stack[cut:]
            stack.append(program)
        elif stack and stack[-1] == program:
            stack.pop()
    return found


def _classify(line: str) -> _LineOp:
    """``_line_op``, kept in the cache unless ``line`` is a data line, too long, or a
    skipped line with a digit.

    Skipped lines with numbers ("… consumed 1770 of 328642 compute units", amounts in
    other programs' logs) differ from one transaction to the next: cached, they would
    fill the cache within a second on mainnet and empty it again and again, costing the
    lines that do recur (invokes, successes, "Instruction: Buy") their hits.
    """
    op = _line_op(line)
    if op is _SKIP_OP and _HAS_DIGIT(line) is not None:
        return op
    if op is not _DATA_OP and len(line) <= _LINE_CACHED_MAX:
        if len(_LINE_OPS) >= _LINE_OPS_MAX:
            _LINE_OPS.clear()
        _LINE_OPS[line] = op
    return op


def parse_program_events(
    logs: Iterable[str],
    program_id: str,
    codec: EventCodec[E],
    *,
    log: logging.Logger,
    what: str,
) -> list[E]:
    """``codec``'s events among ``program_id``'s own ``Program data:`` lines, in order.

    The program's other events are skipped; a line that does not decode is logged on
    ``log`` (naming ``what``) and skipped, so one bad line never costs the caller the rest
    of the transaction.
    """
    events: list[E] = []
    for line in program_data_lines(logs, program_id):
        try:
            data = base64.b64decode(line[len(PROGRAM_DATA) :].strip(), validate=True)
        except (binascii.Error, ValueError):
            log.warning("undecodable base64 in %s log line %.80s", what, line)
            continue
        if not codec.knows(data[:8]):
            continue
        try:
            events.append(codec.decode(data))
        except DecodeError as exc:
            log.warning("skipping malformed %s event: %s", what, exc)
    return events
