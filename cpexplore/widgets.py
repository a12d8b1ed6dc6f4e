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

The logic behind each explorer is a plain function a test can call without a browser
(:func:`filter_catalog`, :func:`fetch_servers`, :func:`filter_servers`,
:func:`summarize_servers` from :mod:`cpexplore.summaries`, :func:`capacity_view`,
:func:`export_csv`, :func:`frame_to_html`); the widget classes only wire controls to them,
draw plots into ``Output`` widgets with ``clear_output(wait=True)`` and show every error
inside the widget. Every table cell rendered is HTML-escaped.
"""

from __future__ import annotations

import html
import inspect
import io
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd
from IPython.display import Image, clear_output, display

from .errors import CpExploreError, EndpointNotFound, ExportError
from .files import cell_value, to_csv
from .gather import gather, listing_regions
from .listing import combined_info, list_info, with_info
from .plots import (
    capacity_caption,
    inventory_counts,
    plot_capacity_table,
    plot_endpoints,
    plot_inventory,
)
from .summaries import (
    CAPACITY_EXPLANATION,
    capacity_table,
    group_keys,
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
    "fetch_servers",
    "filter_servers",
    "filter_options",
    "summarize_servers",
    "capacity_view",
    "export_csv",
    "frame_to_html",
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


def fetch_servers(
    session: Session,
    catalog_region: str = ALL,
    *,
    interface: str | None = None,
    scope: str = "max",
    refresh: bool = False,
    progress: bool = False,
    on_step: Callable[[int, int, str | None], None] | None = None,
) -> pd.DataFrame:
    """Every server the compute service of ``catalog_region`` reports, with a ``catalog_region`` column.

    ``catalog_region="all"`` lists the servers of every catalog region that has a compute
    endpoint, as :func:`cpexplore.gather.listing_regions` chooses them (regions sharing an
    endpoint URL are asked once), and drops duplicate ids.
    ``refresh=True`` bypasses the session's list cache. ``on_step(done, total, region)``
    is called before each region is fetched and once at the end (``region=None``).

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
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "export"
    path = folder / f"{safe}-{stamp}.csv"
    n = 2
    while path.exists():
        path = folder / f"{safe}-{stamp}-{n}.csv"
        n += 1
    return to_csv(frame, path).resolve()


#: The capacity table columns the capacity explorer shows, with their headers.
CAPACITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("host", "host"),
    ("zone", "zone"),
    ("running_servers", "running servers"),
    ("cpu_commit", "vCPUs committed"),
    ("cpu_usable", "CPUs usable"),
    ("cpu_commit_rate", "CPU commit rate"),
    ("cpu_commit_bound", "CPU bound"),
    ("mem_commit_rate", "memory commit rate"),
    ("mem_commit_bound", "memory bound"),
    ("over_committed", "over-committed"),
)


def capacity_view(table: pd.DataFrame) -> pd.DataFrame:
    """The capacity table as the capacity explorer shows it: chosen columns, readable headers.

    Rows stay in :func:`~cpexplore.summaries.capacity_table`'s order, the chart's order
    (over-committed first); columns the table lacks are left out.

    Example:
        >>> t = pd.DataFrame({"host": ["h1"], "cpu_commit_rate": [10.53], "over_committed": [True]})
        >>> list(capacity_view(t).columns)
        ['host', 'CPU commit rate', 'over-committed']
    """
    shown = [(c, label) for c, label in CAPACITY_HEADERS if c in table.columns]
    view = table[[c for c, _ in shown]].rename(columns=dict(shown))
    return view.reset_index(drop=True)


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
) -> str:
    """An HTML table of ``frame`` (no index) in which every caption, header and cell is escaped.

    Numbers are right-aligned with thousands separators; at most ``max_rows`` rows are
    shown, with a last line saying how many were left out. ``footer`` adds one bold row
    (e.g. totals). The table scrolls inside a box ``max_height`` high. Fractions show
    ``digits`` decimals.

    Example:
        >>> "<b>" in frame_to_html(pd.DataFrame({"name": ["<b>x</b>"]}))
        False
    """
    esc = html.escape
    numeric = [
        pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        for c in frame.columns
    ]
    align = [' class="num"' if n else "" for n in numeric]
    head = "".join(f"<th{a}>{esc(str(c))}</th>" for c, a in zip(frame.columns, align, strict=True))
    body = []
    for row in frame.head(max_rows).itertuples(index=False, name=None):
        cells = "".join(
            f"<td{a}>{esc(_cell_text(v, digits))}</td>" for v, a in zip(row, align, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
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


def _info_html(text: str) -> str:
    """An escaped notice box (export results and the like)."""
    return (
        '<div class="cpx-info" style="border-left:4px solid #0072B2;background:#eef6fb;'
        f'padding:6px 10px;margin:4px 0">{html.escape(text)}</div>'
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


def _show_png(output: widgets.Output, png: bytes, alt: str) -> None:
    """Replace what ``output`` shows by one PNG (``clear_output(wait=True)``: no flicker)."""
    with output:
        clear_output(wait=True)
        display(Image(data=png, format="png", alt=alt))


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
            tooltips=[
                "endpoints clients outside the cluster can reach",
                "endpoints inside the cluster network",
                "administrative endpoints",
                "every interface",
            ],
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
    ``filtered`` what the filters keep, ``summary`` the table shown and ``figure`` the
    matplotlib Figure last drawn; ``last_export`` is the path of the last CSV written.
    """

    def __init__(
        self,
        session: Session,
        *,
        catalog_region: str | None = None,
        scope: str = "max",
        group_by: str = "status",
        top: int = 15,
        export_dir: str | os.PathLike[str] = ".",
        progress: bool = True,
        load: bool = True,
    ) -> None:
        self.session = session
        self.scope = scope
        self.top = top
        self.export_dir = Path(export_dir)
        self.progress = progress
        self.servers: pd.DataFrame = pd.DataFrame()
        self.filtered: pd.DataFrame = pd.DataFrame()
        self.summary: pd.DataFrame = pd.DataFrame()
        self.figure: Figure | None = None
        self.last_export: Path | None = None
        self.loaded = False
        self._quiet = 0

        iface = session.interface
        regions = compute_regions(session.catalog, iface)
        start = catalog_region or (session.region if session.region in regions else ALL)
        self.catalog_region_dropdown = widgets.Dropdown(
            options=[(f"all ({len(regions)} with compute)", ALL)] + [(r, r) for r in regions],
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
            tooltip="Write the filtered servers to a CSV file",
        )
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
        self.plot_output = widgets.Output(
            layout=widgets.Layout(min_width="360px", flex="1 1 480px")
        )
        self.plot_output.add_class("cpx-inventory-plot")
        self.summary_html = widgets.HTML(layout=widgets.Layout(flex="1 1 360px"))
        self.summary_html.add_class("cpx-inventory-summary")

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
            "<b>Server inventory</b>: the <i>catalog region</i> chooses which compute endpoint "
            "is asked; the <i>cloud region</i> filter is where the VMs live."
        )
        super().__init__(
            [
                intro,
                widgets.HBox([self.catalog_region_dropdown, self.refresh_button], layout=wrap),
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
                    [self.group_by_dropdown, self.stack_dropdown, self.export_button], layout=wrap
                ),
                self.progress_bar,
                self.progress_output,
                self.message_html,
                self.count_html,
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

    # -- callbacks ------------------------------------------------------------------------
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
                f"Fetching servers from catalog region {region} ({done + 1} of {total})…"
            )

    def load(self, refresh: bool = False) -> None:
        """Fetch the servers of the chosen catalog region (``refresh``: bypass the cache), then redraw."""
        region = self.catalog_region_dropdown.value
        self.refresh_button.disabled = True
        self.export_button.disabled = True
        self.progress_bar.layout.display = None
        self.message_html.value = ""
        try:
            with self.progress_output:
                servers = fetch_servers(
                    self.session,
                    region,
                    scope=self.scope,
                    refresh=refresh,
                    progress=self.progress,
                    on_step=self._step,
                )
        except Exception as e:
            _log.debug("inventory fetch failed", exc_info=True)
            self.status_html.value = ""
            self.message_html.value = error_html(e, f"Fetching the servers of {region}")
            return
        finally:
            self.progress_bar.layout.display = "none"
            self.refresh_button.disabled = False
            self.export_button.disabled = False
            self.progress_output.clear_output()
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
            shown = self.summary.rename(
                columns={
                    by: label,
                    "share_pct": "share %",
                    "vcpus": "vCPUs",
                    "memory_gib": "memory GiB",
                }
            )
            self.summary_html.value = frame_to_html(
                shown, max_rows=60, caption=f"Servers by {label.lower()}", footer=footer
            )
            counts = inventory_counts(df, by, stack, self.top) if len(df) else df
            title = f"Servers by {label.lower()} ({len(df):,})"
            fig, png = _render(
                lambda ax: plot_inventory(df, by=by, stack=stack, top=self.top, ax=ax, title=title),
                bars=len(counts),
                width=7.5 if stack else 7.0,
            )
            self.figure = fig
            _show_png(self.plot_output, png, _alt_text(counts, title) if len(df) else title)
            if self.message_html.value.startswith('<div class="cpx-error"'):
                self.message_html.value = ""
        except Exception as e:  # shown in the widget, never lost in a callback
            _log.debug("inventory redraw failed", exc_info=True)
            self.message_html.value = error_html(e, "Drawing the inventory")

    def export(self) -> Path | None:
        """Write the filtered servers to a new CSV in ``export_dir``; show and return its path."""
        try:
            if not self.loaded:
                raise CpExploreError(
                    "nothing to export yet", hint="press Refresh to fetch the servers"
                )
            info = list_info(self.servers)
            regions = "-".join(str(r) for r in info.regions or (info.region,)) or "servers"
            path = export_csv(self.filtered, self.export_dir, stem=f"servers-{regions}")
        except Exception as e:
            _log.debug("export failed", exc_info=True)
            self.message_html.value = error_html(e, "Exporting CSV")
            return None
        self.last_export = path
        self.message_html.value = _info_html(f"Wrote {len(self.filtered):,} servers to {path}")
        return path


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
            kw: dict[str, Any] = {"scope": self.scope, "refresh": refresh, "progress": False}
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
            self.status_html.value = html.escape(
                f"{len(table):,} hosts, {over:,} over-committed ({counted})"
            )
            fig, png = _render_capacity(table, self.top)
            self.figure = fig
            alt = "; ".join(
                f"{h} {r:.2f}×"
                for h, r in zip(table["host"], table["cpu_commit_rate"], strict=False)
            )
            _show_png(self.plot_output, png, f"CPU commit rate per host: {alt}"[:2000])
            self.table_html.value = frame_to_html(
                capacity_view(table),
                max_rows=200,
                caption=capacity_caption(table).replace("\n", " "),
                digits=2,
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
    signature): ``catalog_region`` chooses the compute endpoint (the session's region by
    default, or ``"all"``); ``scope`` is passed to ``session.list`` (``max``: all the
    token may see); ``group_by`` is the first grouping; ``top`` how many bars are drawn
    before the rest is folded into "other"; CSV files go to ``export_dir``;
    ``progress=False`` hides the page progress bar; ``load=False`` waits for
    :meth:`~InventoryExplorer.load` (or the Refresh button) before fetching.

    Example:
        >>> inventory_explorer(s, group_by="hypervisor", export_dir="exports")  # doctest: +SKIP
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
