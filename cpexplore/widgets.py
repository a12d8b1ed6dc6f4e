"""Jupyter explorers: the service catalog and the server inventory, without writing code.

>>> from cpexplore.widgets import explore
>>> explore(cpexplore.connect())        # doctest: +SKIP

Two words that look alike mean different things here, and the labels say which:

* a **catalog region** (``region_id`` in ``session.catalog``) chooses *which endpoint
  to call*: ``region0``'s compute service, ``region1``'s, ...;
* a **cloud region** (``cloudregion`` of a server) is *where a VM lives*: ``Default``,
  ``Aliyun/cn-beijing``, ... One catalog region's compute service may report VMs of
  many cloud regions.

Servers the scheduler has not placed have no host, zone or cloud region; every
dropdown, filter and summary shows them as ``(unscheduled)``.

:func:`capacity_explorer` shows host capacity as the region counts it (running servers
only) as a chart and a table in one order, from
:func:`cpexplore.summaries.capacity_table` — the one definition of over-committed.

"Export CSV" never writes on the server (where a Voilà or Binder user could not fetch the
file): it offers the filtered rows as a browser download, a link holding the CSV
(:func:`csv_download`, :func:`download_html`), as spreadsheet-safe as every CSV cpexplore
writes. Statuses are explained where they are shown (``ready`` is a stopped server,
:data:`cpexplore.summaries.STATUS_MEANINGS`).

The logic behind each explorer is a plain function a test can call without a browser
(:func:`filter_catalog`, :func:`compute_interfaces`, :func:`fetch_servers`,
:func:`filter_servers`, :func:`summarize_servers` and :func:`fold_summary` from
:mod:`cpexplore.summaries`, :func:`capacity_view`, :func:`csv_download`,
:func:`frame_to_html`, :func:`status_legend_html`); the widget classes only wire controls to
them, draw plots into ``Output`` widgets with ``clear_output(wait=True)`` and show every
error inside the widget. Every table cell rendered is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import inspect
import io
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import ipywidgets as widgets
import pandas as pd
from IPython.display import HTML, clear_output, display

from .errors import CpExploreError, EndpointNotFound, ExportError
from .files import cell_value, csv_text, to_csv
from .gather import gather, listing_regions
from .listing import INFO_KEY, combined_info, list_info, with_info
from .plots import (
    capacity_caption,
    inventory_counts,
    plot_capacity_table,
    plot_endpoints,
    plot_inventory,
)
from .summaries import (
    CAPACITY_EXPLANATION,
    STATUS_MEANINGS,
    capacity_table,
    fold_summary,
    group_keys,
    rate_text,
    require_columns,
    summarize_servers,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .session import Session

__all__ = [
    "ALL",
    "INTERFACE_CHOICES",
    "GROUP_BY_CHOICES",
    "CAPACITY_HEADERS",
    "catalog_explorer",
    "inventory_explorer",
    "capacity_explorer",
    "explore",
    "CatalogExplorer",
    "InventoryExplorer",
    "CapacityExplorer",
    "filter_catalog",
    "compute_regions",
    "compute_interfaces",
    "fetch_servers",
    "filter_servers",
    "filter_options",
    "summarize_servers",
    "capacity_view",
    "export_csv",
    "CsvDownload",
    "csv_download",
    "download_html",
    "frame_to_html",
    "status_legend_html",
    "error_html",
]

_log = logging.getLogger(__name__)

#: The choice that means "no filter" in every dropdown.
ALL = "all"
#: The interface buttons of the catalog explorer.
INTERFACE_CHOICES: tuple[str, ...] = ("public", "internal", "admin", ALL)
#: Group-by choices of the inventory explorer: (label, column).
GROUP_BY_CHOICES: tuple[tuple[str, str], ...] = (
    ("Status", "status"),
    ("Hypervisor", "hypervisor"),
    ("Cloud region (where VMs live)", "cloudregion"),
    ("Zone", "zone"),
    ("Host", "host"),
    ("Project", "tenant"),
    ("OS type", "os_type"),
    ("Catalog region (endpoint called)", "catalog_region"),
)
_CATALOG_COLUMNS = ("service_type", "service_name", "interface", "region_id", "url")
_INTERFACE_TIPS: Mapping[str, str] = MappingProxyType(
    {
        "public": "endpoints clients outside the cluster can reach",
        "internal": "endpoints inside the cluster network",
        "admin": "administrative endpoints",
        ALL: "every interface",
    }
)


# =========================================================================== logic


def filter_catalog(
    catalog: pd.DataFrame,
    region: str = ALL,
    interface: str = ALL,
    service: str = "",
) -> pd.DataFrame:
    """The endpoints of one catalog region and interface whose service matches ``service``.

    ``region`` is matched exactly against ``region_id`` (a ``region-zone`` id is its own
    choice); ``service`` is a case-insensitive substring of the service type or name.
    ``"all"`` (or an empty string) means no filter. The index is reset.

    Example:
        >>> cat = pd.DataFrame({"service_type": ["compute_v2", "image"],
        ...                     "service_name": ["region2", "glance"],
        ...                     "interface": ["public", "internal"],
        ...                     "region_id": ["region0", "region0"]})
        >>> filter_catalog(cat, interface="public")["service_type"].tolist()
        ['compute_v2']
        >>> filter_catalog(cat, service="GLA")["service_type"].tolist()
        ['image']
    """
    require_columns(
        catalog,
        ["region_id", "interface", "service_type", "service_name"],
        "filter_catalog",
        hint="pass session.catalog or a frame with its columns",
    )
    keep = pd.Series(True, index=catalog.index)
    if region and region != ALL:
        keep &= catalog["region_id"].astype(str) == region
    if interface and interface != ALL:
        keep &= catalog["interface"].astype(str) == interface
    text = (service or "").strip().lower()
    if text:
        keep &= catalog["service_type"].astype(str).str.lower().str.contains(
            text, regex=False
        ) | catalog["service_name"].astype(str).str.lower().str.contains(text, regex=False)
    return catalog[keep].reset_index(drop=True)


def compute_regions(catalog: pd.DataFrame, interface: str = "public") -> list[str]:
    """The catalog regions that have a compute endpoint for ``interface``, sorted.

    Example:
        >>> cat = pd.DataFrame({"service_type": ["compute_v2", "image"],
        ...                     "interface": ["public", "public"],
        ...                     "region_id": ["region1", "region0"],
        ...                     "url": ["http://a", "http://b"]})
        >>> compute_regions(cat)
        ['region1']
    """
    rows = catalog[
        (catalog["service_type"].astype(str) == "compute_v2")
        & (catalog["interface"].astype(str) == interface)
    ]
    return sorted(set(rows["region_id"].astype(str)))


def compute_interfaces(catalog: pd.DataFrame) -> list[str]:
    """The interfaces the catalog has a compute endpoint for: public, internal, admin first.

    These are the choices of the inventory explorer's interface picker.

    Example:
        >>> cat = pd.DataFrame({"service_type": ["compute_v2", "compute_v2", "image"],
        ...                     "interface": ["internal", "public", "admin"],
        ...                     "region_id": ["region0"] * 3})
        >>> compute_interfaces(cat)
        ['public', 'internal']
    """
    rows = catalog[catalog["service_type"].astype(str) == "compute_v2"]
    found = set(rows["interface"].astype(str))
    known = [i for i in INTERFACE_CHOICES if i != ALL and i in found]
    return known + sorted(found - set(known))


def fetch_servers(
    session: Session,
    catalog_region: str = ALL,
    *,
    interface: str | None = None,
    scope: str = "max",
    refresh: bool = False,
    progress: bool = False,
    on_step: Callable[[int, int, str | None], None] | None = None,
    warn_cached: bool = True,
) -> pd.DataFrame:
    """Every server the compute service of ``catalog_region`` reports, with a ``catalog_region`` column.

    ``catalog_region="all"`` lists the servers of every catalog region that has a compute
    endpoint, as :func:`cpexplore.gather.listing_regions` chooses them (regions sharing an
    endpoint URL are asked once), and drops duplicate ids.
    ``interface`` chooses the endpoint (``public``, ``internal``, ``admin``; the session's
    by default). ``refresh=True`` bypasses the session's list cache; a list served from it
    warns (``CachedResultWarning``) unless ``warn_cached=False`` (the explorers say so in
    their status line instead). ``on_step(done, total, region)`` is called before each
    region is fetched and once at the end (``region=None``).

    The regions are listed concurrently by :func:`cpexplore.gather.gather` (the one way to
    list across regions); a region that fails raises its error. ``list_info(df)`` says
    where and when the rows came from (``regions``, ``from_cache``, ``partial``…).

    Example:
        >>> servers = fetch_servers(session, "region0", refresh=True)   # doctest: +SKIP
        >>> list_info(servers).from_cache                               # doctest: +SKIP
        False
    """
    iface = interface or session.interface
    if catalog_region == ALL:
        targets = listing_regions(session, "compute_v2", interface=iface)
        if not targets:
            raise EndpointNotFound(
                f"no catalog region has a {iface} compute endpoint",
                hint=f"the catalog's interfaces are {', '.join(session.interfaces) or 'none'}",
            )
    else:
        targets = [catalog_region]
    if on_step is not None:
        on_step(0, len(targets), targets[0])
    got = gather(
        {"session": session},
        "servers",
        regions=targets,
        scope=scope,
        interface=iface,
        refresh=refresh,
        progress=progress,
        warn_cached=warn_cached,
    )
    if not got.ok:
        raise got.failures[0]
    if on_step is not None:
        on_step(len(targets), len(targets), None)
    # gather's provenance columns, back in the explorer's words: the catalog region a row
    # was listed from, and the server's own source/region fields under their own names
    out = got.frame.drop(columns="source").rename(columns={"region": "catalog_region"})
    out = out.rename(columns={"server.region": "region", "server.source": "source"})
    if len(targets) > 1 and "id" in out.columns:
        out = out.drop_duplicates("id", ignore_index=True)
    out = out[[c for c in out.columns if c != "catalog_region"] + ["catalog_region"]]
    if got.infos:
        with_info(out, replace(combined_info(list(got.infos), len(out)), scope=scope))
    return out


def _match(frame: pd.DataFrame, column: str, value: str) -> pd.Series:
    """Rows whose group by ``column`` is ``value``, named as every group-by names them.

    ``(none)`` matches missing values, ``(unscheduled)`` servers without a host
    (see :func:`cpexplore.summaries.group_keys`).
    """
    return pd.Series(group_keys(frame, column).to_numpy() == value, index=frame.index)


def filter_servers(
    servers: pd.DataFrame,
    *,
    cloudregion: str = ALL,
    zone: str = ALL,
    status: str = ALL,
    hypervisor: str = ALL,
) -> pd.DataFrame:
    """The servers in one cloud region, zone, status and hypervisor (``"all"``: any).

    A filter on a column the frame lacks raises :class:`~cpexplore.errors.MissingColumns`;
    ``"(none)"`` selects rows where the column is missing, ``"(unscheduled)"`` servers on
    no host. The input is not modified.

    Example:
        >>> df = pd.DataFrame({"status": ["running", "ready"], "zone": ["z1", "z2"]})
        >>> filter_servers(df, status="ready")["zone"].tolist()
        ['z2']
    """
    chosen = {"cloudregion": cloudregion, "zone": zone, "status": status, "hypervisor": hypervisor}
    active = {k: v for k, v in chosen.items() if v and v != ALL}
    require_columns(servers, active, "filtering servers", hint="list servers with details=True")
    keep = pd.Series(True, index=servers.index)
    for column, value in active.items():
        keep &= _match(servers, column, value)
    out = servers[keep].reset_index(drop=True)
    out.attrs = dict(servers.attrs)
    return out


def filter_options(
    servers: pd.DataFrame, column: str, *, all_label: str = "all"
) -> list[tuple[str, str]]:
    """Dropdown options ``(label, value)`` for a column: ``all`` first, then each value with its count.

    Values are sorted by name; missing values appear as ``(none)`` (``(unscheduled)`` for
    where a server without a host runs). A column the frame lacks gives only the ``all``
    option.

    Example:
        >>> filter_options(pd.DataFrame({"s": ["b", "a", "b"]}), "s")
        [('all (3)', 'all'), ('a (1)', 'a'), ('b (2)', 'b')]
    """
    first = (f"{all_label} ({len(servers):,})", ALL)
    if column not in servers.columns:
        return [first]
    counts = group_keys(servers, column).value_counts()
    return [first] + [(f"{v} ({int(counts[v]):,})", v) for v in sorted(counts.index)]


def export_csv(
    frame: pd.DataFrame,
    directory: str | os.PathLike[str] = ".",
    *,
    stem: str = "servers",
    now: datetime | None = None,
) -> Path:
    """Write ``frame`` to a new ``<stem>-<UTC time>.csv`` in ``directory``; return its full path.

    For code in a notebook; the explorers' Export CSV button writes nothing on the server and
    offers :func:`csv_download` in the browser instead.

    The file is written by :func:`cpexplore.files.to_csv` (``cpexplore.reports.to_csv``): atomically, and safely for
    spreadsheets (cells that would start a formula are prefixed with ``'``). An existing
    file is never overwritten: a ``-2``, ``-3``... suffix is added instead.

    Example:
        >>> path = export_csv(servers, "exports", stem="servers-region0")  # doctest: +SKIP
        >>> path.name                                                      # doctest: +SKIP
        'servers-region0-20261127-101500.csv'
    """
    folder = Path(directory).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create the export folder {folder}: {e.strerror or e}") from e
    name = _export_name(stem, now)
    path = folder / f"{name}.csv"
    n = 2
    while path.exists():
        path = folder / f"{name}-{n}.csv"
        n += 1
    return to_csv(frame, path).resolve()


def _export_name(stem: str, now: datetime | None) -> str:
    """``<stem>-<UTC time>``, the stem made safe for a file name.

    Example:
        >>> _export_name("../servers region0", datetime(2026, 11, 7, 10, 15, tzinfo=UTC))
        'servers_region0-20261107-101500'
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "export"
    return f"{safe}-{stamp}"


class CsvDownload(NamedTuple):
    """A CSV file to hand to the browser: its name and its bytes (what :func:`csv_download` returns).

    ``href`` is the ``data:`` URL a download link carries.
    """

    filename: str
    data: bytes

    @property
    def href(self) -> str:
        """The file as a ``data:text/csv`` URL (base64)."""
        return "data:text/csv;charset=utf-8;base64," + base64.b64encode(self.data).decode("ascii")

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return len(self.data)


def csv_download(
    frame: pd.DataFrame,
    *,
    stem: str = "servers",
    now: datetime | None = None,
    bom: bool = False,
) -> CsvDownload:
    """The CSV file ``<stem>-<UTC time>.csv`` of ``frame``, in memory: ``(filename, bytes)``.

    The text is :func:`cpexplore.files.csv_text`'s — every field quoted, timestamps as
    ``…Z``, lists as JSON, cells that a spreadsheet would run as a formula prefixed with
    ``'`` — encoded as UTF-8, with the BOM older Excel wants when ``bom=True``. Nothing is
    written anywhere: the explorers hand it to the browser with :func:`download_html`.

    Example:
        >>> got = csv_download(pd.DataFrame({"name": ["=1+1"]}), stem="servers-region0",
        ...                    now=datetime(2026, 11, 7, 10, 15, tzinfo=UTC))
        >>> got.filename, got.data
        ('servers-region0-20261107-101500.csv', b'"name"\\n"\\'=1+1"\\n')
    """
    text = csv_text(frame, escape_formulas=True)
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
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


def download_html(download: CsvDownload, what: str | None = None) -> str:
    """A link that downloads ``download`` in the browser (JupyterLab, Voilà, Binder), escaped.

    ``what`` says what the file holds (``"12 servers"``); the size follows.

    Example:
        >>> link = download_html(CsvDownload("servers-x.csv", b"a"), "1 server")
        >>> 'download="servers-x.csv"' in link and "base64,YQ==" in link
        True
    """
    size = download.size
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


def status_legend_html(statuses: Iterable[Any]) -> str:
    """One line saying what each of ``statuses`` means (``ready`` = stopped), escaped.

    Statuses not in :data:`~cpexplore.summaries.STATUS_MEANINGS` are left out; an empty
    string when none is known.

    Example:
        >>> status_legend_html(["running", "ready", "weird"])  # doctest: +ELLIPSIS
        '<div class="cpx-status-legend" ...><b>Statuses</b>: running = powered on · ready = stopped (created, powered off)</div>'
    """
    parts = [
        f"{html.escape(str(v))} = {html.escape(STATUS_MEANINGS[str(v)])}"
        for v in dict.fromkeys(str(v) for v in statuses)
        if str(v) in STATUS_MEANINGS
    ]
    if not parts:
        return ""
    return (
        '<div class="cpx-status-legend" style="font-size:12px;color:#444;margin:2px 0">'
        "<b>Statuses</b>: " + " · ".join(parts) + "</div>"
    )


#: The capacity table columns the capacity explorer shows, with their headers.
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
    """The capacity table as the capacity explorer shows it: chosen columns, readable headers.

    Rows stay in :func:`~cpexplore.summaries.capacity_table`'s order, the chart's order
    (over-committed first); columns the table lacks are left out. Commit rates and bounds
    are written as the chart labels its bars (:func:`~cpexplore.summaries.rate_text`:
    ``10.53×``, never ``1.00×`` for a rate just over a bound of 1).

    Example:
        >>> t = pd.DataFrame({"host": ["h1"], "cpu_commit_rate": [10.53125],
        ...                   "cpu_commit_bound": [8.0], "over_committed": [True]})
        >>> capacity_view(t).values.tolist()
        [['h1', '10.53×', '8.00×', True]]
    """
    shown = [(c, label) for c, label in CAPACITY_HEADERS if c in table.columns]
    view = table[[c for c, _ in shown]].rename(columns=dict(shown)).reset_index(drop=True)
    headers = dict(shown)
    for kind in ("cpu", "mem"):
        rate, bound = f"{kind}_commit_rate", f"{kind}_commit_bound"
        limits = table[bound].tolist() if bound in table.columns else [None] * len(table)
        if rate in headers:
            view[headers[rate]] = pd.Series(
                [rate_text(r, b) for r, b in zip(table[rate], limits, strict=True)], dtype=object
            )
        if bound in headers:
            view[headers[bound]] = pd.Series([rate_text(b) for b in limits], dtype=object)
    return view


# =========================================================================== HTML


def _cell_text(value: Any, digits: int = 1) -> str:
    """How a value appears in an HTML table (before escaping).

    :func:`~cpexplore.files.cell_value` (as in CSV files and the command line's tables),
    with numbers made for reading: thousands separators, ``digits`` decimals (one).

    Example:
        >>> _cell_text(1234567), _cell_text(2.25), _cell_text(None), _cell_text(True)
        ('1,234,567', '2.2', '', 'True')
    """
    value = cell_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


_TABLE_STYLE = (
    "<style>"
    ".cpx-table{border-collapse:collapse;font-size:12px;margin:2px 0}"
    ".cpx-table th,.cpx-table td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;"
    "white-space:nowrap}"
    ".cpx-table td.num,.cpx-table th.num{text-align:right}"
    ".cpx-table caption{caption-side:top;text-align:left;font-weight:bold;padding:2px 0}"
    ".cpx-table tfoot td{font-weight:bold;border-top:1px solid #888}"
    "</style>"
)


def frame_to_html(
    frame: pd.DataFrame,
    *,
    max_rows: int = 100,
    caption: str | None = None,
    footer: Sequence[Any] | None = None,
    css_class: str = "cpx-table",
    max_height: str = "420px",
    digits: int = 1,
    right: Sequence[str] = (),
    titles: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """An HTML table of ``frame`` (no index) in which every caption, header and cell is escaped.

    Numbers (and the columns named in ``right``) are right-aligned, numbers with thousands
    separators; at most ``max_rows`` rows are shown, with a last line saying how many were
    left out. ``footer`` adds one bold row (e.g. totals). The table scrolls inside a box
    ``max_height`` high. Fractions show ``digits`` decimals. ``titles`` gives cells a
    tooltip: ``{column: {cell text: tooltip}}`` (e.g. what a status means).

    Example:
        >>> "<b>" in frame_to_html(pd.DataFrame({"name": ["<b>x</b>"]}))
        False
    """
    esc = html.escape
    numeric = [
        (pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]))
        or c in right
        for c in frame.columns
    ]
    align = [' class="num"' if n else "" for n in numeric]
    tips = [(titles or {}).get(str(c)) for c in frame.columns]
    head = "".join(f"<th{a}>{esc(str(c))}</th>" for c, a in zip(frame.columns, align, strict=True))
    body = []
    for row in frame.head(max_rows).itertuples(index=False, name=None):
        cells = []
        for v, a, tip in zip(row, align, tips, strict=True):
            text = _cell_text(v, digits)
            hint = tip.get(text) if tip else None
            title = f' title="{esc(hint)}"' if hint else ""
            cells.append(f"<td{a}{title}>{esc(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    left = len(frame) - max_rows
    if left > 0:
        body.append(
            f'<tr><td colspan="{max(len(frame.columns), 1)}">… {left:,} more rows not shown</td></tr>'
        )
    if not len(frame):
        body.append(f'<tr><td colspan="{max(len(frame.columns), 1)}">(no rows)</td></tr>')
    foot = ""
    if footer is not None:
        cells = "".join(
            f"<td{a}>{esc(_cell_text(v, digits))}</td>" for v, a in zip(footer, align, strict=False)
        )
        foot = f"<tfoot><tr>{cells}</tr></tfoot>"
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'{_TABLE_STYLE}<div style="max-height:{esc(max_height)};overflow:auto">'
        f'<table class="{esc(css_class)}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody>{foot}</table></div>"
    )


def error_html(error: BaseException, doing: str) -> str:
    """A readable, escaped message box for an error met while ``doing`` something.

    Example:
        >>> "&lt;x&gt;" in error_html(ValueError("<x>"), "drawing")
        True
    """
    kind = type(error).__name__
    text = str(error) or kind
    tip = "" if isinstance(error, CpExploreError) else f" ({html.escape(kind)})"
    return (
        '<div class="cpx-error" style="border-left:4px solid #D55E00;background:#fff4ec;'
        'padding:6px 10px;margin:4px 0;white-space:pre-wrap">'
        f"<b>{html.escape(doing)} failed</b>{tip}: {html.escape(text)}</div>"
    )


# =========================================================================== drawing


def _render(draw: Callable[[Axes], Any], bars: int, width: float = 7.0) -> tuple[Figure, bytes]:
    """Draw on a new (non-pyplot) figure sized for ``bars`` bars; return it and its PNG."""
    from matplotlib.figure import Figure

    height = float(min(11.0, max(2.6, 1.4 + 0.3 * bars)))
    fig = Figure(figsize=(width, height), layout="constrained")
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    return fig, buf.getvalue()


def _render_capacity(table: pd.DataFrame, top: int) -> tuple[Figure, bytes]:
    """The capacity chart of ``table`` on a new (non-pyplot) figure, and its PNG."""
    from matplotlib.figure import Figure

    bars = min(top, len(table)) + 2
    fig = Figure(figsize=(9.5, float(min(11.0, max(3.2, 1.6 + 0.3 * bars)))), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    plot_capacity_table(table, top=top, ax=(axes[0], axes[1]))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    return fig, buf.getvalue()


def _alt_text(counts: pd.DataFrame, title: str) -> str:
    """A text description of a bar chart's data, for the image's ``alt``.

    Example:
        >>> _alt_text(pd.DataFrame({"count": [2]}, index=["running"]), "Servers")
        'Servers: running 2'
    """
    parts = [f"{k} {int(v):,}" for k, v in counts.sum(axis=1).items()]
    return f"{title}: " + ("; ".join(parts) if parts else "nothing to draw")


def _png_html(png: bytes, alt: str) -> str:
    """An ``<img>`` of a PNG with its ``alt`` text (which an IPython ``Image`` loses on the page).

    Example:
        >>> _png_html(b"x", 'a "b"')
        '<img src="data:image/png;base64,eA==" alt="a &quot;b&quot;" style="max-width:100%;height:auto">'
    """
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<img src="{src}" alt="{html.escape(alt)}" style="max-width:100%;height:auto">'


def _show_png(output: widgets.Output, png: bytes, alt: str) -> None:
    """Replace what ``output`` shows by one PNG (``clear_output(wait=True)``: no flicker)."""
    with output:
        clear_output(wait=True)
        display(HTML(_png_html(png, alt)))


def _plural(n: int, noun: str) -> str:
    """``1 endpoint``, ``2 endpoints``.

    Example:
        >>> _plural(1, "endpoint"), _plural(1234, "server")
        ('1 endpoint', '1,234 servers')
    """
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _wide() -> dict[str, str]:
    """A fresh widget style whose description is as wide as its text."""
    return {"description_width": "initial"}


def _dropdown_value(options: Sequence[tuple[str, str]], wanted: str) -> str:
    """``wanted`` if it is one of the options' values, else ``all``."""
    return wanted if any(v == wanted for _, v in options) else ALL


# =========================================================================== widgets


class CatalogExplorer(widgets.VBox):
    """Pick a catalog region, an interface and a service; see the endpoints and a plot.

    Build it with :func:`catalog_explorer`. The controls are ``region_dropdown``,
    ``interface_buttons`` and ``service_text``; ``filtered`` is the endpoint table shown,
    ``figure`` the matplotlib Figure last drawn.
    """

    def __init__(
        self,
        catalog: pd.DataFrame,
        *,
        region: str = ALL,
        interface: str = ALL,
        service: str = "",
        max_rows: int = 200,
    ) -> None:
        self.catalog = catalog.copy()
        self.max_rows = max_rows
        self.filtered = self.catalog.iloc[0:0]
        self.figure: Figure | None = None
        counts = self.catalog["region_id"].astype(str).value_counts()
        regions = sorted(counts.index)
        options = [(f"all ({_plural(len(self.catalog), 'endpoint')})", ALL)] + [
            (f"{r} ({_plural(int(counts[r]), 'endpoint')})", r) for r in regions
        ]
        self.region_dropdown = widgets.Dropdown(
            options=options,
            value=region if region in regions else ALL,
            description="Catalog region (which endpoint to call):",
            style=_wide(),
            layout=widgets.Layout(width="auto"),
        )
        self.interface_buttons = widgets.ToggleButtons(
            options=list(INTERFACE_CHOICES),
            value=interface if interface in INTERFACE_CHOICES else ALL,
            description="Interface:",
            tooltips=[_INTERFACE_TIPS[i] for i in INTERFACE_CHOICES],
            style={"button_width": "80px", "description_width": "initial"},
        )
        self.service_text = widgets.Text(
            value=service,
            placeholder="type or name, e.g. compute",
            description="Service:",
            continuous_update=True,
            style=_wide(),
        )
        self.summary_html = widgets.HTML()
        self.message_html = widgets.HTML()
        self.table_html = widgets.HTML()
        self.table_html.add_class("cpx-endpoint-table")
        self.plot_output = widgets.Output(
            layout=widgets.Layout(min_width="360px", flex="1 1 420px")
        )
        self.plot_output.add_class("cpx-endpoint-plot")
        for control in (self.region_dropdown, self.interface_buttons, self.service_text):
            control.observe(self._on_change, names="value")
        intro = widgets.HTML(
            "<b>Service catalog</b>: the endpoints your token can call. A <i>catalog region</i> "
            "chooses which endpoint is called; it is not where VMs live."
        )
        table_box = widgets.Box(
            [self.table_html], layout=widgets.Layout(flex="1 1 480px", overflow="auto")
        )
        super().__init__(
            [
                intro,
                widgets.HBox(
                    [self.region_dropdown, self.service_text],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                self.interface_buttons,
                self.summary_html,
                self.message_html,
                widgets.Box(
                    [self.plot_output, table_box],
                    layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"),
                ),
            ]
        )
        self.add_class("cpx-catalog-explorer")
        self.update()

    def _on_change(self, _change: Any = None) -> None:
        self.update()

    def update(self) -> None:
        """Filter the catalog with the controls' values and redraw the table and the plot."""
        try:
            region = self.region_dropdown.value
            interface = self.interface_buttons.value
            df = filter_catalog(self.catalog, region, interface, self.service_text.value)
            self.filtered = df
            where = "every catalog region" if region == ALL else f"catalog region {region}"
            how = "any interface" if interface == ALL else f"the {interface} interface"
            self.summary_html.value = html.escape(
                f"{len(df)} of {len(self.catalog)} endpoints: {where}, {how}"
                + (
                    f", service matching {self.service_text.value.strip()!r}"
                    if self.service_text.value.strip()
                    else ""
                )
            )
            shown = [c for c in _CATALOG_COLUMNS if c in df.columns]
            self.table_html.value = frame_to_html(df[shown], max_rows=self.max_rows)
            title = f"Endpoints in {where}, {how} ({len(df)})"
            counts = inventory_counts(df, "service_type", "interface", top=100) if len(df) else df
            fig, png = _render(lambda ax: plot_endpoints(df, ax=ax, title=title), bars=len(counts))
            self.figure = fig
            _show_png(self.plot_output, png, _alt_text(counts, title) if len(df) else title)
            self.message_html.value = ""
        except Exception as e:  # shown in the widget, never lost in a callback
            _log.debug("catalog explorer update failed", exc_info=True)
            self.message_html.value = error_html(e, "Showing the endpoints")


class InventoryExplorer(widgets.VBox):
    """The server inventory by status, hypervisor, zone, host...: filters, plot, summary, CSV.

    Build it with :func:`inventory_explorer`. ``servers`` holds what was fetched,
    ``filtered`` what the filters keep, ``summary`` the full :func:`summarize_servers`
    table of the chosen grouping (the side table shows its first ``top`` rows, one
    ``other`` row and the total) and ``figure`` the matplotlib Figure last drawn;
    ``last_export`` is the :class:`CsvDownload` the download link last offered.
    """

    def __init__(
        self,
        session: Session,
        *,
        catalog_region: str | None = None,
        interface: str | None = None,
        scope: str = "max",
        group_by: str = "status",
        top: int = 15,
        bom: bool = False,
        progress: bool = True,
        load: bool = True,
        export_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if export_dir is not None:
            warnings.warn(
                "inventory_explorer(export_dir=...) is no longer used: Export CSV now offers "
                "the file as a download in the browser and writes nothing on the server",
                DeprecationWarning,
                stacklevel=3,
            )
        self.session = session
        self.scope = scope
        self.top = top
        self.bom = bom
        self.progress = progress
        self.servers: pd.DataFrame = pd.DataFrame()
        self.filtered: pd.DataFrame = pd.DataFrame()
        self.summary: pd.DataFrame = pd.DataFrame()
        self.figure: Figure | None = None
        self.last_export: CsvDownload | None = None
        self.loaded = False
        self._quiet = 0
        self._exported: tuple[Any, ...] | None = None

        interfaces = compute_interfaces(session.catalog) or [session.interface]
        iface = interface or session.interface
        iface = iface if iface in interfaces else interfaces[0]
        self.interface_buttons = widgets.ToggleButtons(
            options=interfaces,
            value=iface,
            description="Interface:",
            tooltips=[_INTERFACE_TIPS.get(i, f"the {i} endpoints") for i in interfaces],
            style={"button_width": "80px", "description_width": "initial"},
        )
        regions = compute_regions(session.catalog, iface)
        start = catalog_region or (session.region if session.region in regions else ALL)
        self.catalog_region_dropdown = widgets.Dropdown(
            options=self._region_options(regions),
            value=start if start in regions else ALL,
            description="Catalog region (which endpoint to call):",
            style=_wide(),
            layout=widgets.Layout(width="auto"),
        )
        self.refresh_button = widgets.Button(
            description="Refresh",
            icon="refresh",
            tooltip="Fetch the servers again from the API, bypassing the cache",
        )
        self.cloudregion_dropdown = self._filter_dropdown("Cloud region (where VMs live):")
        self.zone_dropdown = self._filter_dropdown("Zone:")
        self.status_dropdown = self._filter_dropdown("Status:")
        self.hypervisor_dropdown = self._filter_dropdown("Hypervisor:")
        self.group_by_dropdown = widgets.Dropdown(
            options=list(GROUP_BY_CHOICES),
            value=group_by if group_by in dict(GROUP_BY_CHOICES).values() else "status",
            description="Group by:",
            style=_wide(),
        )
        self.stack_dropdown = widgets.Dropdown(
            options=[("(nothing)", "")] + list(GROUP_BY_CHOICES[:3]),
            value="",
            description="Colour by:",
            style=_wide(),
        )
        self.export_button = widgets.Button(
            description="Export CSV",
            icon="download",
            tooltip="Make a CSV file of the filtered servers to download in this browser",
        )
        self.download_html = widgets.HTML()
        self.download_html.add_class("cpx-download-box")
        self.progress_bar = widgets.IntProgress(
            value=0,
            min=0,
            max=1,
            description="Fetching:",
            style=_wide(),
            layout=widgets.Layout(display="none"),
        )
        self.progress_output = widgets.Output()
        self.status_html = widgets.HTML()
        self.message_html = widgets.HTML()
        self.count_html = widgets.HTML()
        self.status_legend_html = widgets.HTML()
        self.plot_output = widgets.Output(
            layout=widgets.Layout(min_width="360px", flex="1 1 480px")
        )
        self.plot_output.add_class("cpx-inventory-plot")
        self.summary_html = widgets.HTML(layout=widgets.Layout(flex="1 1 360px"))
        self.summary_html.add_class("cpx-inventory-summary")

        self.interface_buttons.observe(self._on_interface, names="value")
        self.catalog_region_dropdown.observe(self._on_catalog_region, names="value")
        self.refresh_button.on_click(self._on_refresh)
        self.export_button.on_click(self._on_export)
        self.cloudregion_dropdown.observe(self._on_cloudregion, names="value")
        for control in (
            self.zone_dropdown,
            self.status_dropdown,
            self.hypervisor_dropdown,
            self.group_by_dropdown,
            self.stack_dropdown,
        ):
            control.observe(self._on_filter, names="value")

        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        intro = widgets.HTML(
            "<b>Server inventory</b>: the <i>catalog region</i> and the <i>interface</i> choose "
            "which compute endpoint is asked; the <i>cloud region</i> filter is where the VMs live."
        )
        super().__init__(
            [
                intro,
                widgets.HBox(
                    [self.catalog_region_dropdown, self.interface_buttons, self.refresh_button],
                    layout=wrap,
                ),
                self.status_html,
                widgets.HBox(
                    [
                        self.cloudregion_dropdown,
                        self.zone_dropdown,
                        self.status_dropdown,
                        self.hypervisor_dropdown,
                    ],
                    layout=wrap,
                ),
                widgets.HBox(
                    [
                        self.group_by_dropdown,
                        self.stack_dropdown,
                        self.export_button,
                        self.download_html,
                    ],
                    layout=wrap,
                ),
                self.progress_bar,
                self.progress_output,
                self.message_html,
                self.count_html,
                self.status_legend_html,
                widgets.Box(
                    [self.plot_output, self.summary_html],
                    layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"),
                ),
            ]
        )
        self.add_class("cpx-inventory-explorer")
        if load:
            self.load()
        else:
            self.status_html.value = html.escape(
                "Not loaded yet: the servers are fetched when this tab is opened or Refresh is pressed."
            )

    # -- construction helpers -------------------------------------------------------------
    @staticmethod
    def _filter_dropdown(label: str) -> widgets.Dropdown:
        return widgets.Dropdown(
            options=[("all", ALL)],
            value=ALL,
            description=label,
            style=_wide(),
            layout=widgets.Layout(width="auto"),
        )

    @staticmethod
    def _region_options(regions: Sequence[str]) -> list[tuple[str, str]]:
        return [(f"all ({len(regions)} with compute)", ALL)] + [(r, r) for r in regions]

    # -- callbacks ------------------------------------------------------------------------
    def _on_interface(self, _change: Any = None) -> None:
        if self._quiet:
            return
        regions = compute_regions(self.session.catalog, self.interface_buttons.value)
        keep = self.catalog_region_dropdown.value
        self._quiet += 1
        try:
            self.catalog_region_dropdown.options = self._region_options(regions)
            self.catalog_region_dropdown.value = keep if keep in regions else ALL
        finally:
            self._quiet -= 1
        self.load()

    def _on_catalog_region(self, _change: Any = None) -> None:
        if not self._quiet:
            self.load()

    def _on_refresh(self, _button: Any = None) -> None:
        self.load(refresh=True)

    def _on_cloudregion(self, _change: Any = None) -> None:
        if self._quiet:
            return
        self._quiet += 1
        try:
            self._set_zone_options()
        finally:
            self._quiet -= 1
        self.redraw()

    def _on_filter(self, _change: Any = None) -> None:
        if not self._quiet:
            self.redraw()

    def _on_export(self, _button: Any = None) -> None:
        self.export()

    # -- actions ----------------------------------------------------------------------------
    def _step(self, done: int, total: int, region: str | None) -> None:
        self.progress_bar.max = max(total, 1)
        self.progress_bar.value = done
        if region is not None:
            self.status_html.value = html.escape(
                f"Fetching servers from catalog region {region} ({done + 1} of {total}, "
                f"{self.interface_buttons.value} endpoint)…"
            )

    def load(self, refresh: bool = False) -> None:
        """Fetch the servers of the chosen catalog region and interface (``refresh``: bypass
        the cache), then redraw."""
        region = self.catalog_region_dropdown.value
        iface = self.interface_buttons.value
        for control in (self.refresh_button, self.export_button):
            control.disabled = True
        self.progress_bar.layout.display = None
        self.message_html.value = ""
        self._clear_download()
        failed: Exception | None = None
        try:
            # the progress bars draw into progress_output; an error is caught inside the
            # block, since in a kernel an Output widget swallows what leaves it
            with self.progress_output:
                try:
                    servers = fetch_servers(
                        self.session,
                        region,
                        interface=iface,
                        scope=self.scope,
                        refresh=refresh,
                        progress=self.progress,
                        on_step=self._step,
                        warn_cached=False,  # the status line says so
                    )
                except Exception as e:
                    failed = e
        finally:
            self.progress_bar.layout.display = "none"
            self.refresh_button.disabled = False
            self.export_button.disabled = False
            self.progress_output.clear_output()
        if failed is not None:
            _log.debug("inventory fetch failed", exc_info=failed)
            self.status_html.value = (
                "Still showing: " + self._status_text(self.servers) if self.loaded else ""
            )
            where = "every catalog region" if region == ALL else region
            self.message_html.value = error_html(
                failed, f"Fetching the servers of {where} ({iface} endpoint)"
            )
            return
        self.servers = servers
        self.loaded = True
        self.status_html.value = self._status_text(servers)
        self._quiet += 1
        try:
            self._set_options()
        finally:
            self._quiet -= 1
        self.redraw()

    def _status_text(self, servers: pd.DataFrame) -> str:
        info = list_info(servers)
        regions = ", ".join(str(r) for r in info.regions or (info.region,)) or "?"
        stamp = info.fetched_at.strftime("%H:%M:%S UTC")
        cached = " — from the cache; press Refresh to fetch anew" if info.from_cache else ""
        partial = " — PARTIAL: some pages failed" if info.partial else ""
        return html.escape(
            f"{len(servers):,} servers from catalog region {regions} "
            f"({info.interface} endpoint, scope {info.scope or '?'}), "
            f"fetched {stamp}{cached}{partial}"
        )

    def _set_options(self) -> None:
        for dropdown, column in (
            (self.cloudregion_dropdown, "cloudregion"),
            (self.status_dropdown, "status"),
            (self.hypervisor_dropdown, "hypervisor"),
        ):
            options = filter_options(self.servers, column)
            keep = _dropdown_value(options, dropdown.value)
            dropdown.options = options
            dropdown.value = keep
        self._set_zone_options()
        present = [(label, c) for label, c in GROUP_BY_CHOICES if c in self.servers.columns]
        for dropdown, extra in (
            (self.group_by_dropdown, []),
            (self.stack_dropdown, [("(nothing)", "")]),
        ):
            choices = extra + (present if dropdown is self.group_by_dropdown else present[:3])
            keep = dropdown.value if any(v == dropdown.value for _, v in choices) else choices[0][1]
            dropdown.options = choices
            dropdown.value = keep
        statuses = (
            group_keys(self.servers, "status").value_counts().index
            if "status" in self.servers.columns
            else []
        )
        self.status_legend_html.value = status_legend_html(statuses)

    def _set_zone_options(self) -> None:
        within = self.servers
        region = self.cloudregion_dropdown.value
        if region != ALL and "cloudregion" in within.columns:
            within = within[_match(within, "cloudregion", region)]
        options = filter_options(within, "zone")
        keep = _dropdown_value(options, self.zone_dropdown.value)
        self.zone_dropdown.options = options
        self.zone_dropdown.value = keep

    def current_filters(self) -> dict[str, str]:
        """The filter values chosen: cloudregion, zone, status, hypervisor."""
        return {
            "cloudregion": self.cloudregion_dropdown.value,
            "zone": self.zone_dropdown.value,
            "status": self.status_dropdown.value,
            "hypervisor": self.hypervisor_dropdown.value,
        }

    def _rows_key(self) -> tuple[Any, ...]:
        """What decides the filtered rows: the fetched frame and the filters."""
        return (id(self.servers), *self.current_filters().values())

    def _clear_download(self) -> None:
        """Take the download link away: it would offer rows the view no longer shows."""
        self.download_html.value = ""
        self._exported = None

    def redraw(self) -> None:
        """Apply the filters to the fetched servers; redraw the plot and the summary table."""
        if not self.loaded:
            return
        try:
            by = self.group_by_dropdown.value
            stack = self.stack_dropdown.value or None
            if stack == by:
                stack = None
            df = filter_servers(self.servers, **self.current_filters())
            self.filtered = df
            if self._exported is not None and self._exported != self._rows_key():
                self._clear_download()
            self.summary = summarize_servers(df, by)
            chosen = [f"{k} {v}" for k, v in self.current_filters().items() if v != ALL]
            self.count_html.value = html.escape(
                f"{len(df):,} of {len(self.servers):,} servers"
                + (f" ({', '.join(chosen)})" if chosen else " (no filter)")
            )
            label = dict((c, lbl) for lbl, c in GROUP_BY_CHOICES).get(by, by)
            footer = ["total"] + [
                (100.0 if len(df) else 0.0) if c == "share_pct" else self.summary[c].sum()
                for c in self.summary.columns[1:]
            ]
            shown = fold_summary(self.summary, by, self.top).rename(
                columns={
                    by: label,
                    "share_pct": "share %",
                    "vcpus": "vCPUs",
                    "memory_gib": "memory GiB",
                }
            )
            self.summary_html.value = frame_to_html(
                shown,
                max_rows=self.top + 1,
                caption=f"Servers by {label.lower()}",
                footer=footer,
                titles={label: STATUS_MEANINGS} if by == "status" else None,
            )
            counts = inventory_counts(df, by, stack, self.top) if len(df) else df
            title = f"Servers by {label.lower()} ({len(df):,})"
            fig, png = _render(
                lambda ax: plot_inventory(df, by=by, stack=stack, top=self.top, ax=ax, title=title),
                bars=len(counts) + 1,
                width=7.5 if stack else 7.0,
            )
            self.figure = fig
            _show_png(self.plot_output, png, _alt_text(counts, title) if len(df) else title)
            if self.message_html.value.startswith('<div class="cpx-error"'):
                self.message_html.value = ""
        except Exception as e:  # shown in the widget, never lost in a callback
            _log.debug("inventory redraw failed", exc_info=True)
            self.message_html.value = error_html(e, "Drawing the inventory")

    def export(self) -> CsvDownload | None:
        """Offer the filtered servers as a CSV download in the browser; return the file.

        The link (``download_html``) is made anew on each export and taken away when the
        filters or the fetched servers change. Nothing is written on the server.
        """
        try:
            if not self.loaded:
                raise CpExploreError(
                    "nothing to export yet", hint="press Refresh to fetch the servers"
                )
            info = list_info(self.servers)
            regions = "-".join(str(r) for r in info.regions or (info.region,)) or "servers"
            got = csv_download(self.filtered, stem=f"servers-{regions}", bom=self.bom)
        except Exception as e:
            _log.debug("export failed", exc_info=True)
            self.message_html.value = error_html(e, "Exporting CSV")
            return None
        self.last_export = got
        self._exported = self._rows_key()
        self.download_html.value = download_html(got, _plural(len(self.filtered), "server"))
        if self.message_html.value.startswith('<div class="cpx-error"'):
            self.message_html.value = ""
        return got


class CapacityExplorer(widgets.VBox):
    """Host capacity as the region counts it: the chart and the table, in the same order.

    Build it with :func:`capacity_explorer`. ``hosts`` and ``servers`` hold what was
    fetched (the servers only when some host lacks the region's commit figures),
    ``table`` the :func:`~cpexplore.summaries.capacity_table` shown and ``figure`` the
    matplotlib Figure last drawn. The chart draws the first ``top`` rows of the table.
    """

    def __init__(
        self, session: Session, *, scope: str = "max", top: int = 15, load: bool = True
    ) -> None:
        self.session = session
        self.scope = scope
        self.top = top
        self.hosts: pd.DataFrame = pd.DataFrame()
        self.servers: pd.DataFrame | None = None
        self.table: pd.DataFrame = pd.DataFrame()
        self.figure: Figure | None = None
        self.loaded = False
        self.refresh_button = widgets.Button(
            description="Refresh",
            icon="refresh",
            tooltip="Fetch the hosts (and servers) again from the API, bypassing the cache",
        )
        self.refresh_button.on_click(self._on_refresh)
        self.status_html = widgets.HTML()
        self.message_html = widgets.HTML()
        self.plot_output = widgets.Output(layout=widgets.Layout(min_width="480px"))
        self.plot_output.add_class("cpx-capacity-plot")
        self.table_html = widgets.HTML()
        self.table_html.add_class("cpx-capacity-table")
        intro = widgets.HTML("<b>Host capacity</b>: " + html.escape(CAPACITY_EXPLANATION) + ".")
        super().__init__(
            [
                intro,
                widgets.HBox([self.refresh_button, self.status_html]),
                self.message_html,
                self.plot_output,
                self.table_html,
            ]
        )
        self.add_class("cpx-capacity-explorer")
        if load:
            self.load()
        else:
            self.status_html.value = html.escape("Not loaded yet: press Refresh.")

    def _on_refresh(self, _button: Any = None) -> None:
        self.load(refresh=True)

    def load(self, refresh: bool = False) -> None:
        """Fetch the hosts (and, when needed, the servers), then :meth:`show` them."""
        self.refresh_button.disabled = True
        try:
            kw: dict[str, Any] = {
                "scope": self.scope,
                "refresh": refresh,
                "progress": False,
                "warn_cached": False,  # the status line says so
            }
            hosts = self.session.list("hosts", **kw)
            needs_servers = not {"cpu_commit", "mem_commit"} <= set(hosts.columns) or bool(
                hosts[["cpu_commit", "mem_commit"]].isna().any(axis=None)
            )
            servers = self.session.list("servers", **kw) if needs_servers else None
        except Exception as e:
            _log.debug("capacity fetch failed", exc_info=True)
            self.message_html.value = error_html(e, "Fetching the hosts")
            return
        finally:
            self.refresh_button.disabled = False
        self.show(hosts, servers)

    def show(self, hosts: pd.DataFrame, servers: pd.DataFrame | None = None) -> None:
        """Compute the capacity table of these frames; draw its chart and show it."""
        try:
            table = capacity_table(hosts, servers)
            self.hosts, self.servers, self.table = hosts, servers, table
            self.loaded = True
            over = int(table["over_committed"].sum())
            counted = "from the hosts' own figures" if servers is None else "hosts and servers"
            cached = any(
                getattr(frame.attrs.get(INFO_KEY), "from_cache", False)
                for frame in (hosts, servers)
                if frame is not None
            )
            self.status_html.value = html.escape(
                f"{len(table):,} hosts, {over:,} over-committed ({counted})"
                + (" — from the cache; press Refresh to fetch anew" if cached else "")
            )
            fig, png = _render_capacity(table, self.top)
            self.figure = fig
            alt = "; ".join(
                f"{h} {rate_text(r, b)}"
                for h, r, b in zip(
                    table["host"],
                    table["cpu_commit_rate"],
                    table["cpu_commit_bound"],
                    strict=False,
                )
            )
            _show_png(self.plot_output, png, f"CPU commit rate per host: {alt}"[:2000])
            view = capacity_view(table)
            drawn = min(self.top, len(table))
            self.table_html.value = frame_to_html(
                view,
                max_rows=200,
                caption=(
                    f"The chart draws the first {drawn:,} of these {len(table):,} hosts, in this "
                    "order."
                    + "".join(f" {line}" for line in capacity_caption(table).split("\n")[1:])
                ),
                digits=2,
                right=[c for c in view.columns if "commit rate" in c or "commit bound" in c],
            )
            self.message_html.value = ""
        except Exception as e:  # shown in the widget, never lost in a callback
            _log.debug("capacity view failed", exc_info=True)
            self.message_html.value = error_html(e, "Showing the host capacity")


# =========================================================================== entry points


def catalog_explorer(
    session: Session,
    *,
    region: str = ALL,
    interface: str | None = None,
    service: str = "",
) -> CatalogExplorer:
    """A widget to browse ``session.catalog`` by catalog region, interface and service.

    The interface starts at the session's (``public`` unless configured otherwise).

    Example:
        >>> catalog_explorer(cpexplore.connect())      # doctest: +SKIP
    """
    return CatalogExplorer(
        session.catalog,
        region=region,
        interface=interface or session.interface,
        service=service,
    )


def inventory_explorer(session: Session, **options: Any) -> InventoryExplorer:
    """A widget to explore the servers: filters, group-by, plot, summary, Refresh and Export CSV.

    The keyword options are :class:`InventoryExplorer`'s (this function shows the same
    signature): ``catalog_region`` and ``interface`` choose the compute endpoint (the
    session's region and interface by default; ``"all"`` regions; the interfaces the
    catalog has a compute endpoint for are offered, :func:`compute_interfaces`); ``scope``
    is passed to ``session.list`` (``max``: all the token may see); ``group_by`` is the
    first grouping; ``top`` how many bars (and table rows) are shown before the rest is
    summed as "other"; ``bom=True`` puts the BOM older Excel wants in downloaded CSV files;
    ``progress=False`` hides the page progress bar; ``load=False`` waits for
    :meth:`~InventoryExplorer.load` (or the Refresh button) before fetching. Export CSV
    offers a download in the browser; ``export_dir`` is no longer used (a
    ``DeprecationWarning`` says so).

    Example:
        >>> inventory_explorer(s, group_by="hypervisor", interface="internal")  # doctest: +SKIP
    """
    return InventoryExplorer(session, **options)


# help() and Jupyter's shift-tab show the keyword options InventoryExplorer takes
inventory_explorer.__signature__ = inspect.signature(InventoryExplorer).replace(  # type: ignore[attr-defined]
    return_annotation="InventoryExplorer"
)


def capacity_explorer(
    session: Session, *, scope: str = "max", top: int = 15, load: bool = True
) -> CapacityExplorer:
    """A widget showing host capacity as the region counts it: chart and table, one order.

    Hosts are listed with ``scope``; servers too when some host lacks the region's commit
    figures. The chart draws the ``top`` first hosts: over-committed first.

    Example:
        >>> capacity_explorer(cpexplore.connect(), top=10)     # doctest: +SKIP
    """
    return CapacityExplorer(session, scope=scope, top=top, load=load)


def explore(session: Session, **inventory_options: Any) -> widgets.Tab:
    """Both explorers in tabs: the catalog first; the inventory is fetched when its tab opens.

    Keyword arguments go to :func:`inventory_explorer`.

    Example:
        >>> explore(cpexplore.connect())                # doctest: +SKIP
    """
    catalog = catalog_explorer(session)
    inventory = inventory_explorer(session, **{**inventory_options, "load": False})
    tabs = widgets.Tab(
        children=[catalog, inventory],
        titles=("Catalog (endpoints)", "Inventory (servers)"),
    )
    tabs.add_class("cpx-explore")

    def on_tab(change: dict[str, Any]) -> None:
        if change.get("new") == 1 and not inventory.loaded:
            inventory.load()

    tabs.observe(on_tab, names="selected_index")
    return tabs
