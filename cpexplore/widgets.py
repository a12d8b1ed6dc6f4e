"""Jupyter explorers of the service catalog, the server inventory and host capacity.

A **catalog region** chooses *which endpoint is called*, a **cloud region** is *where a VM
lives*. Every error is shown inside the widget.

>>> from cpexplore.widgets import explore
>>> explore(cpexplore.connect())        # doctest: +SKIP
"""

from __future__ import annotations

import base64
import contextlib
import html
import inspect
import io
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd
from IPython.display import HTML, clear_output, display

from .catalog import CHOOSABLE_INTERFACES, filter_endpoints
from .errors import CpExploreError, EndpointNotFound, ExportError
from .files import atomic_write
from .gather import gather, listing_regions
from .lists.info import combined_info, info_or_none, list_info, with_info
from .markup import (
    CsvDownload,
    capacity_view,
    csv_download,
    download_html,
    error_html,
    frame_to_html,
    status_legend_html,
)
from .plots import (
    capacity_caption,
    inventory_counts,
    new_figure,
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
    group_noun,
    rate_text,
    require_columns,
    summarize_servers,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .session import Session

__all__ = [
    "ALL",
    "INTERFACE_CHOICES",
    "GROUP_BY_CHOICES",
    "catalog_explorer",
    "inventory_explorer",
    "capacity_explorer",
    "explore",
    "CatalogExplorer",
    "InventoryExplorer",
    "CapacityExplorer",
    "fetch_servers",
    "filter_servers",
    "filter_options",
    "export_csv",
]

_log = logging.getLogger(__name__)

#: The choice that means "no filter" in every dropdown.
ALL = "all"
#: The interface buttons of the catalog explorer.
INTERFACE_CHOICES: tuple[str, ...] = (*CHOOSABLE_INTERFACES, ALL)
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
_CATALOG_REGION = "Catalog region (which endpoint to call):"
_FILTERS = ("cloudregion", "zone", "status", "hypervisor")  # the inventory's row filters
_CACHED = " — from the cache; press Refresh to fetch anew"


def fetch_servers(
    session: Session,
    *,
    catalog_region: str = ALL,
    interface: str | None = None,
    scope: str = "max",
    refresh: bool = False,
    progress: bool = False,
    on_step: Callable[[int, int, str | None], None] | None = None,
    warn_cached: bool = True,
) -> pd.DataFrame:
    """Every server the compute service of ``catalog_region`` reports, with a ``catalog_region`` column.

    ``"all"``: every catalog region :func:`cpexplore.gather.listing_regions` chooses
    (a failing one raises; duplicate ids dropped). ``on_step(done, total, region)`` is
    called before the fetch and after it (``region=None``).

    Example:
        >>> servers = fetch_servers(session, catalog_region="region0", refresh=True)  # doctest: +SKIP
    """
    iface = interface or session.interface
    targets = [catalog_region]
    if catalog_region == ALL:
        targets = listing_regions(session, "compute_v2", interface=iface)
        if not targets:
            raise EndpointNotFound(
                f"no catalog region has a {iface} compute endpoint",
                hint=f"the catalog's interfaces are {', '.join(session.interfaces) or 'none'}",
            )
    step = on_step or (lambda done, total, region: None)
    step(0, len(targets), targets[0])
    options = {"scope": scope, "refresh": refresh, "progress": progress, "warn_cached": warn_cached}
    got = gather({"session": session}, "servers", regions=targets, interface=iface, **options)
    if not got.ok:
        raise got.failures[0]
    step(len(targets), len(targets), None)
    # gather's provenance columns in the explorer's words; the server's own under their names
    out = got.frame.drop(columns="source").rename(columns={"region": "catalog_region"})
    out = out.rename(columns={"server.region": "region", "server.source": "source"})
    if len(targets) > 1 and "id" in out.columns:
        out = out.drop_duplicates("id", ignore_index=True)
    out = out[[c for c in out.columns if c != "catalog_region"] + ["catalog_region"]]
    if got.infos:
        with_info(out, replace(combined_info(list(got.infos), len(out)), scope=scope))
    return out


def _match(frame: pd.DataFrame, column: str, value: str) -> pd.Series:
    """Rows whose group by ``column`` is ``value``, named as every group-by names them."""
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

    Values are named as :func:`~cpexplore.summaries.group_keys` names them (``(none)``).

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


def filter_options(servers: pd.DataFrame, *, column: str) -> list[tuple[str, str]]:
    """Dropdown options ``(label, value)``: ``all``, then each group of ``column``, with counts.

    Example:
        >>> filter_options(pd.DataFrame({"s": ["b", "a", "b"]}), column="s")
        [('all (3)', 'all'), ('a (1)', 'a'), ('b (2)', 'b')]
    """
    first = (f"all ({len(servers):,})", ALL)
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
    """Save the :func:`~cpexplore.markup.csv_download` of ``frame`` in ``directory``; return its path.

    An existing file is never overwritten: a ``-2``, ``-3``... suffix is added instead.

    Example:
        >>> export_csv(servers, "exports", stem="servers-region0").name   # doctest: +SKIP
        'servers-region0-20261127-101500.csv'
    """
    got = csv_download(frame, stem=stem, now=now)
    folder = Path(directory).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create the export folder {folder}: {e.strerror or e}") from e
    path, n = folder / got.filename, 2
    while path.exists():
        path, n = folder / f"{got.filename.removesuffix('.csv')}-{n}.csv", n + 1
    return atomic_write(path, lambda fh: fh.write(got.data)).resolve()


def _alt_text(counts: pd.DataFrame, title: str) -> str:
    """A bar chart's data as text, for the image's ``alt`` (no bars: the title)."""
    parts = [f"{k} {int(v):,}" for k, v in counts.sum(axis=1).items()]
    return f"{title}: " + "; ".join(parts) if parts else title


def _wide() -> dict[str, str]:
    """A fresh widget style whose description is as wide as its text."""
    return {"description_width": "initial"}


def _dropdown(
    label: str, options: Sequence[Any] = (("all", ALL),), value: Any = ALL, auto: bool = True
) -> Any:
    layout = widgets.Layout(width="auto") if auto else widgets.Layout()
    return widgets.Dropdown(
        options=options, value=value, description=label, style=_wide(), layout=layout
    )


def _set_options(dropdown: widgets.Dropdown, options: Sequence[tuple[str, str]]) -> None:
    """New options; the value stays if it is one of them, else the first."""
    keep = dropdown.value if any(v == dropdown.value for _, v in options) else options[0][1]
    dropdown.options = options
    dropdown.value = keep


def _toggles(options: Sequence[str], value: str) -> widgets.ToggleButtons:
    return widgets.ToggleButtons(
        options=list(options),
        value=value,
        description="Interface:",
        tooltips=[_INTERFACE_TIPS.get(i, f"the {i} endpoints") for i in options],
        style={"button_width": "80px", "description_width": "initial"},
    )


def _refresh_button(what: str, load: Callable[..., Any]) -> widgets.Button:
    tip = f"Fetch the {what} again from the API, bypassing the cache"
    button = widgets.Button(description="Refresh", icon="refresh", tooltip=tip)
    button.on_click(lambda _button: load(refresh=True))
    return button


def _row(*children: widgets.Widget, align: str = "center") -> widgets.Box:
    """A row whose children wrap onto the next line when the page is narrow."""
    return widgets.Box(list(children), layout={"flex_flow": "row wrap", "align_items": align})


class _Explorer(widgets.VBox):
    """What every explorer has: ``message_html`` for errors and ``figure``, its last chart."""

    figure: Figure | None = None

    def _failed(self, error: BaseException, doing: str) -> None:
        _log.debug("%s failed", doing, exc_info=error)
        self.message_html.value = error_html(error, doing=doing)

    def _clear_error(self) -> None:
        if self.message_html.value.startswith('<div class="cpx-error"'):
            self.message_html.value = ""

    def _show(self, figure: Figure, alt: str) -> None:
        """Show ``figure`` in ``plot_output`` as one ``<img>`` with its ``alt`` (no flicker)."""
        self.figure = figure
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=96)
        src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        img = f'<img src="{src}" alt="{html.escape(alt)}" style="max-width:100%;height:auto">'
        with self.plot_output:
            clear_output(wait=True)
            display(HTML(img))


class CatalogExplorer(_Explorer):
    """Pick a catalog region, an interface and a service; see the endpoints and a plot.

    Built by :func:`catalog_explorer`; ``filtered`` is the endpoint table shown.
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
        self.catalog, self.max_rows = catalog.copy(), max_rows
        self.filtered = self.catalog.iloc[0:0]
        counts = self.catalog["region_id"].astype(str).value_counts()
        regions = sorted(counts.index)
        options = [(f"all ({group_noun('endpoint', len(self.catalog))})", ALL)]
        options += [(f"{r} ({group_noun('endpoint', int(counts[r]))})", r) for r in regions]
        self.region_dropdown = _dropdown(
            _CATALOG_REGION, options, region if region in regions else ALL
        )
        self.interface_buttons = _toggles(
            INTERFACE_CHOICES, interface if interface in INTERFACE_CHOICES else ALL
        )
        self.service_text = widgets.Text(
            value=service,
            placeholder="type or name, e.g. compute",
            description="Service:",
            style=_wide(),
        )
        self.summary_html, self.message_html = widgets.HTML(), widgets.HTML()
        self.table_html = widgets.HTML().add_class("cpx-endpoint-table")
        layout = widgets.Layout(min_width="360px", flex="1 1 420px")
        self.plot_output = widgets.Output(layout=layout).add_class("cpx-endpoint-plot")
        for control in (self.region_dropdown, self.interface_buttons, self.service_text):
            control.observe(lambda _change: self.update(), names="value")
        table_box = widgets.Box(
            [self.table_html], layout=widgets.Layout(flex="1 1 480px", overflow="auto")
        )
        super().__init__(
            [
                widgets.HTML(
                    "<b>Service catalog</b>: the endpoints your token can call. A <i>catalog "
                    "region</i> chooses which endpoint is called; it is not where VMs live."
                ),
                _row(self.region_dropdown, self.service_text, align="stretch"),
                self.interface_buttons,
                self.summary_html,
                self.message_html,
                _row(self.plot_output, table_box, align="flex-start"),
            ]
        )
        self.add_class("cpx-catalog-explorer")
        self.update()

    def update(self) -> None:
        """Filter the catalog with the controls' values and redraw the table and the plot."""
        try:
            region, interface = self.region_dropdown.value, self.interface_buttons.value
            service = self.service_text.value.strip()
            require_columns(
                self.catalog,
                ["region_id", "interface", "service_type", "service_name"],
                "the catalog explorer",
                hint="pass session.catalog or a frame with its columns",
            )
            df = filter_endpoints(self.catalog, region=region, interface=interface, service=service)
            self.filtered = df
            where = "every catalog region" if region == ALL else f"catalog region {region}"
            how = "any interface" if interface == ALL else f"the {interface} interface"
            self.summary_html.value = html.escape(
                f"{len(df)} of {len(self.catalog)} endpoints: {where}, {how}"
                + (f", service matching {service!r}" if service else "")
            )
            shown = [c for c in _CATALOG_COLUMNS if c in df.columns]
            self.table_html.value = frame_to_html(df[shown], max_rows=self.max_rows)
            title = f"Endpoints in {where}, {how} ({len(df)})"
            counts = inventory_counts(df, by="service_type", hue="interface", top=100)
            figure = new_figure(len(counts), pyplot=False)
            plot_endpoints(df, ax=figure.add_subplot(), title=title)
            self._show(figure, _alt_text(counts, title))
            self.message_html.value = ""
        except Exception as e:  # shown in the widget, never lost in a callback
            self._failed(e, "Showing the endpoints")


class InventoryExplorer(_Explorer):
    """The server inventory by status, hypervisor, zone, host...: filters, plot, summary, CSV.

    Built by :func:`inventory_explorer`. ``servers`` is what was fetched, ``filtered`` what
    the filters keep, ``summary`` the grouping's full table, ``last_export`` the last CSV.
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
    ) -> None:
        self.session, self.scope, self.top = session, scope, top
        self.bom, self.progress = bom, progress
        self.servers = self.filtered = self.summary = pd.DataFrame()
        self.last_export: CsvDownload | None = None
        self.loaded, self._quiet, self._exported = False, 0, None
        # the interfaces a list can use, and the catalog regions it lists: gather's one rule
        found = {
            i: listing_regions(session, "compute_v2", interface=i) for i in CHOOSABLE_INTERFACES
        }
        interfaces = [i for i, regions in found.items() if regions] or [session.interface]
        iface = interface or session.interface
        iface = iface if iface in interfaces else interfaces[0]
        self.interface_buttons = _toggles(interfaces, iface)
        regions = found.get(iface, [])
        start = catalog_region or (session.region if session.region in regions else ALL)
        self.catalog_region_dropdown = _dropdown(
            _CATALOG_REGION, self._region_options(regions), start if start in regions else ALL
        )
        self.refresh_button = _refresh_button("servers", self.load)
        self.cloudregion_dropdown = _dropdown("Cloud region (where VMs live):")
        self.zone_dropdown = _dropdown("Zone:")
        self.status_dropdown = _dropdown("Status:")
        self.hypervisor_dropdown = _dropdown("Hypervisor:")
        self._filters = (  # in the order of _FILTERS
            self.cloudregion_dropdown,
            self.zone_dropdown,
            self.status_dropdown,
            self.hypervisor_dropdown,
        )
        columns = [c for _, c in GROUP_BY_CHOICES]
        self.group_by_dropdown = _dropdown(
            "Group by:", GROUP_BY_CHOICES, group_by if group_by in columns else "status", auto=False
        )
        self.hue_dropdown = _dropdown(
            "Colour by:", [("(nothing)", ""), *GROUP_BY_CHOICES[:3]], "", auto=False
        )
        tip = "Make a CSV file of the filtered servers to download in this browser"
        self.export_button = widgets.Button(description="Export CSV", icon="download", tooltip=tip)
        self.export_button.on_click(lambda _button: self.export())
        self.download_html = widgets.HTML().add_class("cpx-download-box")
        self.progress_bar = widgets.IntProgress(
            max=1, description="Fetching:", style=_wide(), layout=widgets.Layout(display="none")
        )
        self.progress_output = widgets.Output()
        self.status_html, self.message_html = widgets.HTML(), widgets.HTML()
        self.count_html, self.status_legend_html = widgets.HTML(), widgets.HTML()
        layout = widgets.Layout(min_width="360px", flex="1 1 480px")
        self.plot_output = widgets.Output(layout=layout).add_class("cpx-inventory-plot")
        layout = widgets.Layout(flex="1 1 360px")
        self.summary_html = widgets.HTML(layout=layout).add_class("cpx-inventory-summary")
        self._observe(self._on_interface, self.interface_buttons)
        self._observe(self.load, self.catalog_region_dropdown)
        self._observe(self._on_cloudregion, self.cloudregion_dropdown)
        self._observe(self.redraw, *self._filters[1:], self.group_by_dropdown, self.hue_dropdown)
        super().__init__(
            [
                widgets.HTML(
                    "<b>Server inventory</b>: the <i>catalog region</i> and the <i>interface</i> "
                    "choose which compute endpoint is asked; the <i>cloud region</i> filter is "
                    "where the VMs live."
                ),
                _row(self.catalog_region_dropdown, self.interface_buttons, self.refresh_button),
                self.status_html,
                _row(*self._filters),
                _row(
                    self.group_by_dropdown,
                    self.hue_dropdown,
                    self.export_button,
                    self.download_html,
                ),
                self.progress_bar,
                self.progress_output,
                self.message_html,
                self.count_html,
                self.status_legend_html,
                _row(self.plot_output, self.summary_html, align="flex-start"),
            ]
        )
        self.add_class("cpx-inventory-explorer")
        if load:
            self.load()
        else:
            self.status_html.value = html.escape(
                "Not loaded yet: the servers are fetched when this tab is opened or Refresh is pressed."
            )

    @staticmethod
    def _region_options(regions: Sequence[str]) -> list[tuple[str, str]]:
        return [(f"all ({len(regions)} with compute)", ALL)] + [(r, r) for r in regions]

    def _observe(self, act: Callable[[], Any], *controls: widgets.Widget) -> None:
        """Call ``act`` when a control's value changes, unless the explorer changed it."""
        for control in controls:
            control.observe(lambda _change: self._quiet or act(), names="value")

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change controls without their callbacks running."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _on_interface(self) -> None:
        regions = listing_regions(
            self.session, "compute_v2", interface=self.interface_buttons.value
        )
        with self._quietly():
            _set_options(self.catalog_region_dropdown, self._region_options(regions))
        self.load()

    def _on_cloudregion(self) -> None:
        with self._quietly():
            self._set_zone_options()
        self.redraw()

    def _step(self, done: int, total: int, region: str | None) -> None:
        self.progress_bar.max = max(total, 1)
        self.progress_bar.value = done
        if region is not None:
            self.status_html.value = html.escape(
                f"Fetching servers from catalog region {region} ({done + 1} of {total}, "
                f"{self.interface_buttons.value} endpoint)…"
            )

    def load(self, *, refresh: bool = False) -> None:
        """Fetch the servers of the chosen endpoint (``refresh``: not from the cache); redraw."""
        region, iface = self.catalog_region_dropdown.value, self.interface_buttons.value
        self.refresh_button.disabled = self.export_button.disabled = True
        self.progress_bar.layout.display = None
        self.message_html.value = ""
        self._clear_download()
        failed: Exception | None = None
        try:
            # progress bars draw here; in a kernel an Output swallows errors leaving it
            with self.progress_output:
                try:
                    servers = fetch_servers(
                        self.session,
                        catalog_region=region,
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
            self.refresh_button.disabled = self.export_button.disabled = False
            self.progress_output.clear_output()
        if failed is not None:
            still = "Still showing: " + self._status_text(self.servers) if self.loaded else ""
            self.status_html.value = still
            where = "every catalog region" if region == ALL else region
            self._failed(failed, f"Fetching the servers of {where} ({iface} endpoint)")
            return
        self.servers, self.loaded = servers, True
        self.status_html.value = self._status_text(servers)
        with self._quietly():
            self._set_options()
        self.redraw()

    def _status_text(self, servers: pd.DataFrame) -> str:
        info = list_info(servers)
        regions = ", ".join(str(r) for r in info.regions or (info.region,)) or "?"
        partial = " — PARTIAL: some pages failed" if info.partial else ""
        return html.escape(
            f"{len(servers):,} servers from catalog region {regions} "
            f"({info.interface} endpoint, scope {info.scope or '?'}), "
            f"fetched {info.fetched_at:%H:%M:%S UTC}{_CACHED if info.from_cache else ''}{partial}"
        )

    def _set_options(self) -> None:
        for column, dropdown in zip(_FILTERS, self._filters, strict=True):
            _set_options(dropdown, filter_options(self.servers, column=column))
        self._set_zone_options()
        present = [(label, c) for label, c in GROUP_BY_CHOICES if c in self.servers.columns]
        _set_options(self.group_by_dropdown, present)
        _set_options(self.hue_dropdown, [("(nothing)", ""), *present[:3]])
        statuses = []
        if "status" in self.servers.columns:
            statuses = group_keys(self.servers, "status").value_counts().index
        self.status_legend_html.value = status_legend_html(statuses)

    def _set_zone_options(self) -> None:
        within, region = self.servers, self.cloudregion_dropdown.value
        if region != ALL and "cloudregion" in within.columns:
            within = within[_match(within, "cloudregion", region)]
        _set_options(self.zone_dropdown, filter_options(within, column="zone"))

    def current_filters(self) -> dict[str, str]:
        """The filter values chosen: cloudregion, zone, status, hypervisor."""
        return {c: d.value for c, d in zip(_FILTERS, self._filters, strict=True)}

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
            hue = self.hue_dropdown.value if self.hue_dropdown.value not in ("", by) else None
            df = self.filtered = filter_servers(self.servers, **self.current_filters())
            if self._exported is not None and self._exported != self._rows_key():
                self._clear_download()
            self.summary = summarize_servers(df, by)
            chosen = [f"{k} {v}" for k, v in self.current_filters().items() if v != ALL]
            self.count_html.value = html.escape(
                f"{len(df):,} of {len(self.servers):,} servers"
                + (f" ({', '.join(chosen)})" if chosen else " (no filter)")
            )
            label = {c: lbl for lbl, c in GROUP_BY_CHOICES}.get(by, by)
            self.summary_html.value = self._summary_html(by, label, len(df))
            counts = inventory_counts(df, by=by, hue=hue, top=self.top)
            title = f"Servers by {label.lower()} ({len(df):,})"
            figure = new_figure(len(counts), width=7.5 if hue else 7.0, pyplot=False)
            ax = figure.add_subplot()
            plot_inventory(df, by=by, hue=hue, top=self.top, ax=ax, title=title)
            self._show(figure, _alt_text(counts, title))
            self._clear_error()
        except Exception as e:  # shown in the widget, never lost in a callback
            self._failed(e, "Drawing the inventory")

    def _summary_html(self, by: str, label: str, rows: int) -> str:
        """The side table: the chart's groups, one ``other`` row and the total."""
        footer = ["total"] + [
            (100.0 if rows else 0.0) if c == "share_pct" else self.summary[c].sum()
            for c in self.summary.columns[1:]
        ]
        headers = {by: label, "share_pct": "share %", "vcpus": "vCPUs", "memory_gib": "memory GiB"}
        return frame_to_html(
            fold_summary(self.summary, by, self.top).rename(columns=headers),
            max_rows=self.top + 1,
            caption=f"Servers by {label.lower()}",
            footer=footer,
            titles={label: STATUS_MEANINGS} if by == "status" else None,
        )

    def export(self) -> CsvDownload | None:
        """Offer the filtered servers as a CSV download (gone when the view changes); return it."""
        try:
            if not self.loaded:
                raise CpExploreError(
                    "nothing to export yet", hint="press Refresh to fetch the servers"
                )
            info = list_info(self.servers)
            regions = "-".join(str(r) for r in info.regions or (info.region,)) or "servers"
            got = csv_download(self.filtered, stem=f"servers-{regions}", bom=self.bom)
        except Exception as e:
            self._failed(e, "Exporting CSV")
            return None
        self.last_export, self._exported = got, self._rows_key()
        self.download_html.value = download_html(got, what=group_noun("server", len(self.filtered)))
        self._clear_error()
        return got


class CapacityExplorer(_Explorer):
    """Host capacity (:func:`capacity_explorer`): chart and ``table`` of ``hosts``, ``servers``."""

    def __init__(
        self, session: Session, *, scope: str = "max", top: int = 15, load: bool = True
    ) -> None:
        self.session, self.scope, self.top = session, scope, top
        self.hosts = self.table = pd.DataFrame()
        self.servers: pd.DataFrame | None = None
        self.loaded = False
        self.refresh_button = _refresh_button("hosts (and servers)", self.load)
        self.status_html, self.message_html = widgets.HTML(), widgets.HTML()
        self.plot_output = widgets.Output(layout={"min_width": "480px"}).add_class(
            "cpx-capacity-plot"
        )
        self.table_html = widgets.HTML().add_class("cpx-capacity-table")
        super().__init__(
            [
                widgets.HTML(f"<b>Host capacity</b>: {html.escape(CAPACITY_EXPLANATION)}."),
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

    def load(self, *, refresh: bool = False) -> None:
        """Fetch the hosts (and, when needed, the servers), then :meth:`show` them."""
        self.refresh_button.disabled = True
        kw = {"scope": self.scope, "refresh": refresh, "progress": False, "warn_cached": False}
        try:
            hosts = self.session.list("hosts", **kw)
            needs_servers = not {"cpu_commit", "mem_commit"} <= set(hosts.columns) or bool(
                hosts[["cpu_commit", "mem_commit"]].isna().any(axis=None)
            )
            servers = self.session.list("servers", **kw) if needs_servers else None
        except Exception as e:
            self._failed(e, "Fetching the hosts")
            return
        finally:
            self.refresh_button.disabled = False
        self.show(hosts, servers)

    def show(self, hosts: pd.DataFrame, servers: pd.DataFrame | None = None) -> None:
        """Compute the capacity table of these frames; draw its chart and show it."""
        try:
            table = capacity_table(hosts, servers)
            self.hosts, self.servers, self.table, self.loaded = hosts, servers, table, True
            over = int(table["over_committed"].sum())
            counted = "from the hosts' own figures" if servers is None else "hosts and servers"
            frames = [f for f in (hosts, servers) if f is not None]
            cached = any(getattr(info_or_none(f), "from_cache", False) for f in frames)
            self.status_html.value = html.escape(
                f"{len(table):,} hosts, {over:,} over-committed ({counted})"
                + (_CACHED if cached else "")
            )
            cols = (table["host"], table["cpu_commit_rate"], table["cpu_commit_bound"])
            alt = "; ".join(f"{h} {rate_text(r, b)}" for h, r, b in zip(*cols, strict=True))
            figure = plot_capacity_table(table, top=self.top, pyplot=False)
            self._show(figure, f"CPU commit rate per host: {alt}"[:2000])
            view = capacity_view(table)
            unplaced = "".join(f" {line}" for line in capacity_caption(table).split("\n")[1:])
            self.table_html.value = frame_to_html(
                view,
                max_rows=200,
                caption=f"The chart draws the first {min(self.top, len(table)):,} of these "
                f"{len(table):,} hosts, in this order.{unplaced}",
                digits=2,
                right=[c for c in view.columns if "commit rate" in c or "commit bound" in c],
            )
            self.message_html.value = ""
        except Exception as e:  # shown in the widget, never lost in a callback
            self._failed(e, "Showing the host capacity")


def catalog_explorer(
    session: Session, *, region: str = ALL, interface: str | None = None, service: str = ""
) -> CatalogExplorer:
    """A widget to browse ``session.catalog`` by catalog region, interface and service.

    Example:
        >>> catalog_explorer(cpexplore.connect())      # doctest: +SKIP
    """
    iface = interface or session.interface
    return CatalogExplorer(session.catalog, region=region, interface=iface, service=service)


def inventory_explorer(session: Session, **options: Any) -> InventoryExplorer:
    """A widget to explore the servers: filters, group-by, plot, summary, Refresh and Export CSV.

    Options (:class:`InventoryExplorer`'s): ``catalog_region``, ``interface``, ``scope``,
    ``group_by``, ``top`` (bars before "other"), ``bom`` (for older Excel), ``progress``,
    ``load=False`` (no fetch before Refresh).

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

    Servers are listed too when some host lacks the region's commit figures.

    Example:
        >>> capacity_explorer(cpexplore.connect(), top=10)     # doctest: +SKIP
    """
    return CapacityExplorer(session, scope=scope, top=top, load=load)


def explore(session: Session, **inventory_options: Any) -> widgets.Tab:
    """Both explorers in tabs; the inventory (:func:`inventory_explorer` options) loads when shown.

    Example:
        >>> explore(cpexplore.connect())                # doctest: +SKIP
    """
    catalog = catalog_explorer(session)
    inventory = inventory_explorer(session, **{**inventory_options, "load": False})
    tabs = widgets.Tab(
        children=[catalog, inventory], titles=("Catalog (endpoints)", "Inventory (servers)")
    )
    tabs.add_class("cpx-explore")

    def on_tab(change: dict[str, Any]) -> None:
        if change.get("new") == 1 and not inventory.loaded:
            inventory.load()

    tabs.observe(on_tab, names="selected_index")
    return tabs
