"""Escaped HTML for the explorers and the report: tables, legends, errors, CSV downloads.

>>> print(frame_to_html(pd.DataFrame({"n": [1234]}), max_height=None))
<table class="cpx-table"><thead><tr><th class="num">n</th></tr></thead><tbody><tr><td class="num">1,234</td></tr></tbody></table>
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pandas as pd

from .errors import CpExploreError
from .files import cell_value, to_csv
from .summaries import STATUS_MEANINGS, rate_text

__all__ = [
    "TABLE_STYLE",
    "frame_to_html",
    "status_legend_html",
    "error_html",
    "CsvDownload",
    "csv_download",
    "download_html",
    "CAPACITY_HEADERS",
    "capacity_view",
]

#: The tables' CSS: each widget table carries it, the report has it once in its head.
TABLE_STYLE = (
    "<style>"
    ".cpx-table{border-collapse:collapse;font-size:12px;margin:2px 0}"
    ".cpx-table th,.cpx-table td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;"
    "white-space:nowrap}"
    ".cpx-table td.num,.cpx-table th.num{text-align:right}"
    ".cpx-table caption{caption-side:top;text-align:left;font-weight:bold;padding:2px 0}"
    ".cpx-table tfoot td{font-weight:bold;border-top:1px solid #888}"
    "</style>"
)


def _cell_text(value: Any, digits: int = 1) -> str:
    """A value as table text: thousands separators, ``digits`` decimals."""
    value = cell_value(value)
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def frame_to_html(
    frame: pd.DataFrame,
    *,
    max_rows: int = 100,
    caption: str | None = None,
    footer: Sequence[Any] | None = None,
    digits: int = 1,
    right: Sequence[str] = (),
    titles: Mapping[str, Mapping[str, str]] | None = None,
    max_height: str | None = "420px",
) -> str:
    """An HTML table of ``frame`` (no index), every caption, header and cell escaped.

    Numbers and the ``right`` columns are right-aligned; at most ``max_rows`` rows;
    ``footer`` adds a bold row; ``titles`` gives cells tooltips ``{column: {text: tip}}``.
    After :data:`TABLE_STYLE` in a scrolling box ``max_height`` high (``None``: no box).

    Example:
        >>> "<b>" in frame_to_html(pd.DataFrame({"name": ["<b>x</b>"]}))
        False
    """
    esc = html.escape
    align = [
        ' class="num"'
        if c in right
        or (pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]))
        else ""
        for c in frame.columns
    ]
    tips = [(titles or {}).get(str(c)) or {} for c in frame.columns]
    head = "".join(f"<th{a}>{esc(str(c))}</th>" for c, a in zip(frame.columns, align, strict=True))
    body = []
    for row in frame.head(max_rows).itertuples(index=False, name=None):
        cells = []
        for value, a, tip in zip(row, align, tips, strict=True):
            text = _cell_text(value, digits)
            title = f' title="{esc(tip[text])}"' if tip.get(text) else ""
            cells.append(f"<td{a}{title}>{esc(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    span = max(len(frame.columns), 1)
    if len(frame) > max_rows:
        body.append(
            f'<tr><td colspan="{span}">… {len(frame) - max_rows:,} more rows not shown</td></tr>'
        )
    if not len(frame):
        body.append(f'<tr><td colspan="{span}">(no rows)</td></tr>')
    foot = ""
    if footer is not None:
        cells = "".join(
            f"<td{a}>{esc(_cell_text(v, digits))}</td>" for v, a in zip(footer, align, strict=False)
        )
        foot = f"<tfoot><tr>{cells}</tr></tfoot>"
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    table = (
        f'<table class="cpx-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody>{foot}</table>"
    )
    if max_height is None:
        return table
    return f'{TABLE_STYLE}<div style="max-height:{esc(max_height)};overflow:auto">{table}</div>'


def status_legend_html(statuses: Iterable[Any]) -> str:
    """One escaped line saying what each of ``statuses`` means; ``""`` when none is known.

    Example:
        >>> status_legend_html(["running", "ready", "weird"])  # doctest: +ELLIPSIS
        '<div class="cpx-status-legend" ...><b>Statuses</b>: running = powered on · ready = stopped (created, powered off)</div>'
    """
    parts = [
        f"{html.escape(v)} = {html.escape(STATUS_MEANINGS[v])}"
        for v in dict.fromkeys(str(v) for v in statuses)
        if v in STATUS_MEANINGS
    ]
    if not parts:
        return ""
    return (
        '<div class="cpx-status-legend" style="font-size:12px;color:#444;margin:2px 0">'
        "<b>Statuses</b>: " + " · ".join(parts) + "</div>"
    )


def error_html(error: BaseException, *, doing: str) -> str:
    """A readable, escaped message box for an error met while ``doing`` something.

    Example:
        >>> "&lt;x&gt;" in error_html(ValueError("<x>"), doing="drawing")
        True
    """
    kind = type(error).__name__
    tip = "" if isinstance(error, CpExploreError) else f" ({html.escape(kind)})"
    return (
        '<div class="cpx-error" style="border-left:4px solid #D55E00;background:#fff4ec;'
        'padding:6px 10px;margin:4px 0;white-space:pre-wrap">'
        f"<b>{html.escape(doing)} failed</b>{tip}: {html.escape(str(error) or kind)}</div>"
    )


def _export_name(stem: str, now: datetime | None) -> str:
    """``<stem>-<UTC time>``, the stem made safe for a file name."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "export"
    return f"{safe}-{stamp}"


class CsvDownload(NamedTuple):
    """A CSV file for the browser, as :func:`csv_download` makes it: its name and bytes."""

    filename: str
    data: bytes

    @property
    def href(self) -> str:
        """The file as the ``data:text/csv`` URL (base64) a download link carries."""
        return "data:text/csv;charset=utf-8;base64," + base64.b64encode(self.data).decode("ascii")


def csv_download(
    frame: pd.DataFrame, *, stem: str = "servers", now: datetime | None = None, bom: bool = False
) -> CsvDownload:
    """The CSV file ``<stem>-<UTC time>.csv`` of ``frame``, in memory: ``(filename, bytes)``.

    :func:`cpexplore.files.to_csv`'s text in UTF-8 (``bom=True``: with a BOM for Excel).

    Example:
        >>> got = csv_download(pd.DataFrame({"name": ["=1+1"]}), stem="servers-region0",
        ...                    now=datetime(2026, 11, 7, 10, 15, tzinfo=UTC))
        >>> got.filename, got.data
        ('servers-region0-20261107-101500.csv', b'"name"\\n"\\'=1+1"\\n')
    """
    data = (b"\xef\xbb\xbf" if bom else b"") + str(to_csv(frame)).encode("utf-8")
    return CsvDownload(f"{_export_name(stem, now)}.csv", data)


# Large data: URLs are refused by some browsers (Chromium: above 2 MB), so a click turns the
# link into a Blob first; without JavaScript the plain link still works for smaller files.
# (window.URL, not URL: inside an inline handler, URL is document.URL, a string.)
_BLOB_CLICK = (
    "if(!window.Blob||!window.atob||!window.URL){return true;}"
    "event.preventDefault();"
    "var b=atob(this.href.split(',')[1]),u=new Uint8Array(b.length);"
    "for(var i=0;i<b.length;i++){u[i]=b.charCodeAt(i);}"
    "var url=window.URL.createObjectURL(new Blob([u],{type:'text/csv'}));"
    "var a=document.createElement('a');a.href=url;a.download=this.download;"
    "document.body.appendChild(a);a.click();a.remove();"
    "setTimeout(function(){window.URL.revokeObjectURL(url);},60000);return false;"
)


def download_html(download: CsvDownload, *, what: str | None = None) -> str:
    """An escaped link that downloads ``download`` in the browser; ``what``: ``"12 servers"``.

    Example:
        >>> link = download_html(CsvDownload("servers-x.csv", b"a"), what="1 server")
        >>> 'download="servers-x.csv"' in link and "base64,YQ==" in link
        True
    """
    size = len(download.data)
    shown = f"{size:,} bytes" if size < 10_000 else f"{size / 1024:,.0f} KB"
    if size >= 10 * 1024 * 1024:
        shown = f"{size / 1024 / 1024:,.1f} MB"
    about = f" ({what}, {shown})" if what else f" ({shown})"
    return (
        '<div class="cpx-download" style="margin:2px 0 2px 8px">'
        f'<a class="cpx-download-link" download="{html.escape(download.filename)}" '
        f'href="{download.href}" onclick="{html.escape(_BLOB_CLICK)}" '
        'style="font-weight:bold;text-decoration:underline">'
        f"⬇ Download {html.escape(download.filename)}</a>{html.escape(about)}</div>"
    )


#: The capacity table columns the capacity explorer and the report show, with their headers.
CAPACITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("host", "host"),
    ("zone", "zone"),
    ("running_servers", "running servers"),
    ("cpu_commit", "vCPUs committed"),
    ("cpu_usable", "CPUs usable"),
    ("cpu_commit_rate", "CPU commit rate"),
    ("cpu_commit_bound", "CPU commit bound"),
    ("mem_commit_rate", "memory commit rate"),
    ("mem_commit_bound", "memory commit bound"),
    ("over_committed", "over-committed"),
)


def capacity_view(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`~cpexplore.summaries.capacity_table` as the capacity explorer shows it.

    Its rows in order, the :data:`CAPACITY_HEADERS` columns it has, rates as the chart's.

    Example:
        >>> t = pd.DataFrame({"host": ["h1"], "cpu_commit_rate": [10.53125],
        ...                   "cpu_commit_bound": [8.0], "over_committed": [True]})
        >>> capacity_view(t).values.tolist()
        [['h1', '10.53×', '8.00×', True]]
    """
    headers = {c: label for c, label in CAPACITY_HEADERS if c in table.columns}
    view = table[list(headers)].rename(columns=headers).reset_index(drop=True)
    for kind in ("cpu", "mem"):
        rate, bound = f"{kind}_commit_rate", f"{kind}_commit_bound"
        limits = table[bound].tolist() if bound in table.columns else [None] * len(table)
        if rate in headers:
            texts = [rate_text(r, b) for r, b in zip(table[rate], limits, strict=True)]
            view[headers[rate]] = pd.Series(texts, dtype=object)
        if bound in headers:
            view[headers[bound]] = pd.Series([rate_text(b) for b in limits], dtype=object)
    return view
