"""Frames as text tables for a terminal: cells escaped and cut, columns fitted to its width."""

from __future__ import annotations

import itertools
import math
import unicodedata
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .snapshots import Diff

CELL_WIDTH = 40  # table cells are cut to this many characters (csv/json are never cut)
_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(0x20), *range(0x7F, 0xA0))}  # control characters
_ESCAPES |= {9: "\\t", 10: "\\n", 13: "\\r"}


def safe_text(text: str) -> str:
    """Text with control characters made visible, so a name cannot break a table or a terminal.

    >>> safe_text("db-line1\\nline2\\x1b[31m")
    'db-line1\\\\nline2\\\\x1b[31m'
    """
    return text.translate(_ESCAPES)


def cell(value: Any, width: int | None = CELL_WIDTH) -> str:
    """One value as table text: :func:`~cpexplore.files.cell_value` (ISO times, compact
    JSON), short floats, control characters escaped, cut to ``width`` characters."""
    from .files import cell_value

    value = cell_value(value)
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value):
        value = f"{value:g}"
    text = safe_text(str(value))
    return text[: width - 1] + "…" if width is not None and len(text) > width else text


def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1  # East Asian wide take two


def _width(text: str) -> int:
    return sum(map(_char_width, text))


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, ending in ``…`` when cut."""
    if _width(text) <= width:
        return text
    keep = sum(1 for used in itertools.accumulate(map(_char_width, text)) if used <= width - 1)
    return text[:keep] + "…"


def _fit(
    columns: list[Any], headers: dict[Any, str], widths: dict[Any, int], fit: int
) -> list[str]:
    """Drop ``columns`` from the right, then narrow ``widths``, to fit; return those dropped."""
    least = {c: _width(headers[c]) + 2 for c in columns}  # tabulate: at least header + 2 wide
    dropped: list[str] = []
    while len(columns) > 1 and (
        sum(max(min(widths[c], 6), least[c]) for c in columns) + 2 * (len(columns) - 1) > fit
    ):
        dropped.insert(0, str(columns.pop()))
    budget = fit - 2 * (len(columns) - 1)
    while sum(max(widths[c], least[c]) for c in columns) > budget:
        widest = max(columns, key=lambda c: widths[c] - max(6, least[c]))
        if widths[widest] <= max(6, least[widest]):
            break
        widths[widest] -= 1
    return dropped


def table(
    df: pd.DataFrame, out: TextIO, *, width: int | None = CELL_WIDTH, fit: int | None = None
) -> list[str]:
    """Print ``df`` with tabulate: numbers right-aligned, text exactly as it is (escaped).

    With ``fit`` (a terminal width), cells are cut with ``…`` and, if even that is not
    enough, columns are left off from the right; the names of those left off are returned.
    """
    import pandas as pd
    from tabulate import tabulate

    if df.empty:
        out.write("(no rows)\n")
        return []
    columns = list(df.columns)
    headers = {c: safe_text(str(c)) for c in columns}
    cells = {c: [cell(v, width) for v in df[c].tolist()] for c in columns}
    dropped: list[str] = []
    if fit is not None:
        widths = {c: max(map(_width, [headers[c], *cells[c]])) for c in columns}
        dropped = _fit(columns, headers, widths, fit)
        cells = {c: [_cut(v, widths[c]) for v in cells[c]] for c in columns}
    types = pd.api.types
    align = [
        "right"
        if types.is_numeric_dtype(df[c].dtype) and not types.is_bool_dtype(df[c].dtype)
        else "left"
        for c in columns
    ]
    rows = list(zip(*(cells[c] for c in columns), strict=True))
    headings = [headers[c] for c in columns]
    text = tabulate(rows, headings, tablefmt="simple", disable_numparse=True, colalign=align)
    out.write(text + "\n")
    return dropped


def print_diff(diffs: dict[str, Diff], *, max_rows: int, out: TextIO) -> None:
    """Per resource: a line of counts, columns added or removed, and up to ``max_rows`` changes."""
    for name, d in diffs.items():
        head = (
            f"{name}: {len(d.added)} added, {len(d.removed)} removed, "
            f"{len(d.changed_keys)} changed ({len(d.changed)} cells)"
        )
        out.write(head + (f"  [{d.old_id} → {d.new_id}]\n" if d.old_id and d.new_id else "\n"))
        if d.columns_added or d.columns_removed:
            out.write(
                f"  columns added: {', '.join(d.columns_added) or '-'}; "
                f"removed: {', '.join(d.columns_removed) or '-'}\n"
            )
        if d.empty:
            continue
        frame = d.to_frame()
        table(frame.head(max_rows), out)
        if len(frame) > max_rows:
            out.write(f"... {len(frame) - max_rows} more lines (--max-rows N, or -f csv for all)\n")
        out.write("\n")
