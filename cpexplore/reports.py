"""The inventory report: CSV tables, PNG charts and an ``index.html`` tying them together.

:func:`inventory_report` fetches and writes; :func:`write_inventory_report` writes frames
already fetched.

>>> from cpexplore import reports
>>> paths = reports.inventory_report(session, "report")          # doctest: +SKIP
>>> paths["index.html"]                                           # doctest: +SKIP
"""

from __future__ import annotations

import html
import io
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import Forbidden, MissingColumns
from .files import atomic_write, iso_utc, make_dir, session_meta, to_csv
from .markup import CAPACITY_HEADERS, TABLE_STYLE, frame_to_html
from .summaries import CAPACITY_EXPLANATION, capacity_table, summary_table

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

__all__ = ["write_inventory_report", "inventory_report"]

# (file name, caption, chart kind)
_CHARTS: tuple[tuple[str, str, str], ...] = (
    ("chart_status.png", "Servers by status", "status"),
    ("chart_regions.png", "Servers by cloud region and status", "regions"),
    ("chart_capacity.png", "Host capacity: committed to running servers vs. usable", "capacity"),
    ("chart_timeline.png", "Servers created per month", "timeline"),
    ("chart_endpoints.png", "Catalog endpoints by service type and interface", "endpoints"),
)


def _groups(df: pd.DataFrame, column: str, top: int = 20) -> int:
    return min(top + 1, int(df[column].nunique())) if column in df.columns else 1


def _chart_png(
    kind: str, plots: Any, servers: pd.DataFrame, capacity: pd.DataFrame, catalog: pd.DataFrame
) -> bytes:
    """One report chart as PNG (the capacity chart draws the report's own ``capacity``)."""
    if kind == "capacity":
        fig = plots.plot_capacity_table(capacity, top=20, pyplot=False)
    elif kind == "timeline":
        fig = plots.new_figure(width=8.0, pyplot=False)
        plots.plot_timeline(servers, freq="M", ax=fig.add_subplot())
    elif kind == "endpoints":
        fig = plots.new_figure(_groups(catalog, "service_type"), pyplot=False)
        plots.plot_endpoints(catalog, ax=fig.add_subplot())
    else:
        by, hue = ("status", None) if kind == "status" else ("cloudregion", "status")
        fig = plots.new_figure(_groups(servers, by), width=8.0 if hue else 7.0, pyplot=False)
        plots.plot_inventory(servers, by=by, hue=hue, ax=fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9rem} table.t{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
table.t th,table.t td{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}
table.t td{font-variant-numeric:tabular-nums} .grid{display:flex;flex-wrap:wrap;gap:1.5rem}
.grid>div{flex:1 1 300px} figure{margin:1rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555} .note{font-size:.85rem;color:#777}
"""


def _index_html(
    *,
    title: str,
    meta: Mapping[str, Any],
    files: Sequence[tuple[str, str, int | None, int]],
    summary: pd.DataFrame,
    capacity: pd.DataFrame,
    charts: Sequence[tuple[str, str]],
    notes: Sequence[str],
) -> str:
    e = html.escape
    meta_html = " · ".join(f"{e(str(k))}: <b>{e(str(v))}</b>" for k, v in meta.items())
    file_rows = "".join(
        f"<tr><td><a href='{e(name)}'>{e(name)}</a></td><td>{e(desc)}</td>"
        f"<td>{'' if rows is None else rows}</td><td>{size:,}</td></tr>"
        for name, desc, rows, size in files
    )
    blocks = "".join(
        f"<div><h3>By {e(str(by))}</h3>"
        f"{frame_to_html(part.drop(columns='by'), max_rows=15, max_height=None)}</div>"
        for by, part in summary.groupby("by", sort=False)
    )
    cap_cols = [c for c, _ in CAPACITY_HEADERS if c in capacity.columns]  # the explorer's
    cap_html = (
        frame_to_html(capacity[cap_cols], max_rows=10, digits=2, max_height=None)
        + f"<p class='note'>{e(CAPACITY_EXPLANATION)}.</p>"
        if len(capacity)
        else ""
    )
    chart_html = "".join(
        f"<figure><img src='{e(name)}' alt='{e(caption)}' loading='eager'>"
        f"<figcaption>{e(caption)}</figcaption></figure>"
        for name, caption in charts
    )
    notes_html = "".join(f"<p class='note'>{e(n)}</p>" for n in notes)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{e(title)}</title><style>{_CSS}</style>{TABLE_STYLE}</head><body>"
        f"<h1>{e(title)}</h1><p class='meta'>{meta_html}</p>"
        f"<h2>Files</h2><table class='t'><tr><th>file</th><th>what</th><th>rows</th>"
        f"<th>bytes</th></tr>{file_rows}</table>"
        f"<h2>Summary</h2><div class='grid'>{blocks}</div>"
        f"<h2>Host capacity: over-committed first</h2>{cap_html}"
        f"<h2>Charts</h2>{chart_html}{notes_html}"
        "<p class='note'>Generated by cpexplore. CSV cells that could start a spreadsheet "
        "formula begin with a ' (OWASP CSV injection advice).</p>"
        "</body></html>\n"
    )


def _capacity(hosts: pd.DataFrame, servers: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The capacity table of the report (empty without hosts), noting what it leaves out."""
    try:
        capacity = capacity_table(hosts, servers) if len(hosts) else pd.DataFrame()
    except MissingColumns as e:
        notes.append(f"Host capacity: not computed ({e}).")
        return pd.DataFrame()
    unplaced = int(capacity.attrs.get("unplaced_servers", 0) or 0)
    if unplaced:
        away = int(capacity.attrs.get("unscheduled_servers", 0) or 0)
        notes.append(
            f"Host capacity: {unplaced:,} servers are on no host listed here "
            f"({away:,} of them unscheduled) and are not counted."
        )
    return capacity


def _charts(
    out: Path,
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame],
    notes: list[str],
) -> list[tuple[str, str, Path]]:
    """Write the charts that can be drawn: (name, caption, path); the others into ``notes``."""
    servers, hosts, capacity, endpoints = frames
    try:
        from . import plots
    except ImportError as e:
        notes.append(f"Charts were not drawn: cpexplore.plots could not be imported ({e}).")
        warnings.warn(f"inventory report without charts: {e}", RuntimeWarning, stacklevel=3)
        return []
    drawn = []
    for name, caption, kind in _CHARTS:
        if kind == "capacity" and capacity.empty:
            if not len(hosts):  # otherwise the reason is already in the notes
                notes.append(f"{caption}: not drawn (no hosts).")
            continue
        try:
            data = _chart_png(kind, plots, servers, capacity, endpoints)
        except MissingColumns as e:
            notes.append(f"{caption}: not drawn ({e}).")
            continue
        drawn.append((name, caption, atomic_write(out / name, lambda fh, d=data: fh.write(d))))
    return drawn


def write_inventory_report(
    servers: pd.DataFrame,
    hosts: pd.DataFrame,
    endpoints: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    title: str = "Cloudpods inventory",
    meta: Mapping[str, Any] | None = None,
    charts: bool = True,
    bom: bool = False,
    escape_formulas: bool = True,
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """Write the inventory report of these frames into ``out_dir`` (created); return name → path.

    The CSVs (servers, hosts, endpoints, :func:`~cpexplore.summaries.summary_table`,
    :func:`~cpexplore.summaries.capacity_table`), PNG charts and ``index.html`` linking
    them. What the data cannot make is left out and noted in ``index.html``, as are ``notes``.

    >>> paths = write_inventory_report(servers, hosts, s.catalog, "report")   # doctest: +SKIP
    >>> paths["index.html"]                                               # doctest: +SKIP
    PosixPath('report/index.html')
    """
    out = make_dir(out_dir)
    notes = list(notes)
    summary = summary_table(servers)
    capacity = _capacity(hosts, servers, notes)
    paths: dict[str, Path] = {}
    files: list[tuple[str, str, int | None, int]] = []
    for name, frame, desc in (
        ("servers.csv", servers, "every server"),
        ("hosts.csv", hosts, "every host"),
        ("endpoints.csv", endpoints, "the service catalog"),
        ("summary.csv", summary, "server counts by status, hypervisor, zone, cloud region"),
        (
            "capacity.csv",
            capacity,
            "per host: committed to running servers vs. usable, commit rates and bounds",
        ),
    ):
        p = to_csv(frame, out / name, escape_formulas=escape_formulas, bom=bom, index=False)
        paths[name] = p
        files.append((name, desc, len(frame), p.stat().st_size))
    drawn = _charts(out, (servers, hosts, capacity, endpoints), notes) if charts else []
    for name, caption, p in drawn:
        paths[name] = p
        files.append((name, caption, None, p.stat().st_size))
    page = _index_html(
        title=title,
        meta={
            "generated": iso_utc(pd.Timestamp.now(tz="UTC").floor("s")),
            **(meta or {}),
            "servers": len(servers),
            "hosts": len(hosts),
        },
        files=files,
        summary=summary,
        capacity=capacity,
        charts=[(name, caption) for name, caption, _ in drawn],
        notes=notes,
    )
    paths["index.html"] = atomic_write(out / "index.html", lambda fh: fh.write(page.encode()))
    return paths


def inventory_report(
    session: Session,
    out_dir: str | os.PathLike[str],
    *,
    scope: str | None = "max",
    region: str | None = None,
    charts: bool = True,
    bom: bool = False,
    escape_formulas: bool = True,
    progress: bool | None = None,
) -> dict[str, Path]:
    """Fetch servers, hosts and the catalog fresh; write :func:`write_inventory_report`.

    >>> paths = inventory_report(cpexplore.connect(), "report")     # doctest: +SKIP
    >>> print(paths["index.html"])                                  # doctest: +SKIP
    report/index.html
    """
    kw: dict[str, Any] = {"scope": scope, "region": region, "refresh": True, "progress": progress}
    servers = session.list("servers", **kw)
    try:
        hosts, note = session.list("hosts", **kw), None
    except Forbidden as e:  # this account may not list them
        hosts, note = pd.DataFrame(), f"Hosts are not visible to this account ({e.message})."
    meta = session_meta(session, region)
    meta["scope"] = scope or "(server default)"
    paths = write_inventory_report(
        servers,
        hosts,
        session.catalog,
        out_dir,
        title=f"Cloudpods inventory — {meta['region']}",
        meta=meta,
        charts=charts,
        bom=bom,
        escape_formulas=escape_formulas,
        notes=[note] if note else [],
    )
    if note:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    return paths
