"""Files a person can open: safe CSV/JSON and an inventory report.

Everything here takes DataFrames and writes files, except :func:`inventory_report`, which
takes a :class:`~cpexplore.Session` to fetch what it writes.

* :func:`to_csv` / :func:`csv_text` write UTF-8 CSV (``bom=True`` adds a BOM for Excel),
  timestamps as ISO-8601 with ``Z``, lists and dicts as JSON, atomically (a temporary
  file in the same folder, then a rename), and neutralise spreadsheet formulas the way
  OWASP recommends: a text cell that starts with ``= + - @``, tab, CR or LF (and is not
  a plain number such as ``-3``) gets a leading ``'``. The visible ``'`` is the price of
  safety; pass ``escape_formulas=False`` for machine consumers. :func:`read_csv` reads
  such a file back with its types and removes exactly the quotes that were added.
* :func:`to_json` / :func:`json_text` write the values as they are: JSON is data for
  programs, so nothing is escaped in it.
* :func:`cell_value` is the one plain form of a cell that every text output starts from
  (CSV here, the command line's tables, the widgets' HTML tables).
* :func:`inventory_report` writes ``servers.csv``, ``hosts.csv``, ``endpoints.csv``,
  ``summary.csv`` and ``capacity.csv`` (the tables of :mod:`cpexplore.summaries`), PNG
  charts and an ``index.html`` tying them together.

These file functions live in :mod:`cpexplore.files`, which :mod:`cpexplore.snapshots`
shares; snapshots and diffs (``snapshot``, ``snapshots``, ``load_snapshot``, ``diff``,
``diff_snapshots``, ``Diff``) are importable from here too.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"name": ["=1+1", "-3", "web"], "tags": [["a"], [], None]})
    >>> print(csv_text(df), end="")
    "name","tags"
    "'=1+1","[""a""]"
    "-3","[]"
    "web",""
    >>> json_text(df.head(1))
    '[{"name": "=1+1", "tags": ["a"]}]'
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
from .files import (
    FORMULA_TRIGGERS,
    atomic_write,
    cell_value,
    csv_text,
    escape_formula,
    iso_utc,
    json_text,
    make_dir,
    read_csv,
    session_meta,
    to_csv,
    to_json,
    unescape_formula,
)
from .snapshots import Diff, diff, diff_snapshots, load_snapshot, snapshot, snapshots
from .summaries import CAPACITY_EXPLANATION, capacity_table, summary_table

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

__all__ = [
    "FORMULA_TRIGGERS",
    "to_csv",
    "to_json",
    "csv_text",
    "json_text",
    "read_csv",
    "escape_formula",
    "unescape_formula",
    "cell_value",
    "summary_table",
    "capacity_table",
    "write_inventory_report",
    "inventory_report",
    "snapshot",
    "snapshots",
    "load_snapshot",
    "diff",
    "diff_snapshots",
    "Diff",
]


# --------------------------------------------------------------------------- the report

# (file name, caption, chart kind); drawn by _draw_chart with cpexplore.plots
_CHARTS: tuple[tuple[str, str, str], ...] = (
    ("chart_status.png", "Servers by status", "status"),
    ("chart_regions.png", "Servers by cloud region and status", "regions"),
    ("chart_capacity.png", "Host capacity: committed to running servers vs. usable", "capacity"),
    ("chart_timeline.png", "Servers created per month", "timeline"),
    ("chart_endpoints.png", "Catalog endpoints by service type and interface", "endpoints"),
)


def _bars_height(bars: int) -> float:
    """Figure height (inches) giving each horizontal bar room for its label."""
    return float(min(11.0, max(2.4, 1.3 + 0.3 * bars)))


def _groups(df: pd.DataFrame, column: str, top: int = 20) -> int:
    return min(top + 1, int(df[column].nunique())) if column in df.columns else 1


def _draw_chart(
    kind: str,
    plots: Any,
    servers: pd.DataFrame,
    capacity: pd.DataFrame,
    catalog: pd.DataFrame,
) -> bytes:
    """Draw one report chart on a private Figure (no pyplot state) and return PNG bytes.

    The capacity chart draws the report's own capacity table, so ``capacity.csv``,
    ``index.html`` and the chart show the same rows in the same order. Raises
    ``MissingColumns`` (from :mod:`cpexplore.plots`) when the data lacks a column.
    """
    from matplotlib.figure import Figure

    if kind == "status":
        fig = Figure(figsize=(7.0, _bars_height(_groups(servers, "status"))), layout="constrained")
        plots.plot_inventory(servers, by="status", ax=fig.add_subplot())
    elif kind == "regions":
        bars = _groups(servers, "cloudregion")
        fig = Figure(figsize=(8.0, _bars_height(bars)), layout="constrained")
        plots.plot_inventory(servers, by="cloudregion", stack="status", ax=fig.add_subplot())
    elif kind == "capacity":
        fig = Figure(figsize=(9.5, _bars_height(min(20, len(capacity)) + 2)), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        plots.plot_capacity_table(capacity, top=20, ax=(axes[0], axes[1]))
    elif kind == "timeline":
        fig = Figure(figsize=(8.0, 3.2), layout="constrained")
        plots.plot_timeline(servers, freq="M", ax=fig.add_subplot())
    else:
        bars = _groups(catalog, "service_type")
        fig = Figure(figsize=(7.0, _bars_height(bars)), layout="constrained")
        plots.plot_endpoints(catalog, by="service_type", hue="interface", ax=fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


# the capacity columns index.html shows, in this order (capacity.csv has them all)
_CAPACITY_SHOWN = (
    "host",
    "zone",
    "running_servers",
    "cpu_commit",
    "cpu_usable",
    "cpu_commit_rate",
    "cpu_commit_bound",
    "mem_commit_rate",
    "mem_commit_bound",
    "over_committed",
)


def _html_table(df: pd.DataFrame, *, max_rows: int = 50, float_format: Any = None) -> str:
    shown = df.head(max_rows)
    text = shown.to_html(
        index=False, border=0, escape=True, na_rep="", classes="t", float_format=float_format
    )
    if len(df) > max_rows:
        text += f"<p class='more'>{len(df) - max_rows} more rows in the CSV.</p>"
    return text


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9rem} table.t{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
table.t th,table.t td{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}
table.t td{font-variant-numeric:tabular-nums} .grid{display:flex;flex-wrap:wrap;gap:1.5rem}
.grid>div{flex:1 1 300px} figure{margin:1rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555} .more,.note{font-size:.85rem;color:#777}
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
    blocks = []
    for by, part in summary.groupby("by", sort=False):
        blocks.append(
            f"<div><h3>By {e(str(by))}</h3>{_html_table(part.drop(columns='by'), max_rows=15)}</div>"
        )
    cap_cols = [c for c in _CAPACITY_SHOWN if c in capacity.columns]
    cap_html = (
        _html_table(capacity[cap_cols], max_rows=10, float_format="{:.2f}".format)
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
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(title)}</h1><p class='meta'>{meta_html}</p>"
        f"<h2>Files</h2><table class='t'><tr><th>file</th><th>what</th><th>rows</th>"
        f"<th>bytes</th></tr>{file_rows}</table>"
        f"<h2>Summary</h2><div class='grid'>{''.join(blocks)}</div>"
        f"<h2>Host capacity: over-committed first</h2>{cap_html}"
        f"<h2>Charts</h2>{chart_html}{notes_html}"
        "<p class='note'>Generated by cpexplore. CSV cells that could start a spreadsheet "
        "formula begin with a ' (OWASP CSV injection advice).</p>"
        "</body></html>\n"
    )


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
    """Write the inventory report of these frames into ``out_dir``; return name → path.

    Files: ``servers.csv``, ``hosts.csv``, ``endpoints.csv``, ``summary.csv`` (see
    :func:`~cpexplore.summaries.summary_table`), ``capacity.csv`` (see
    :func:`~cpexplore.summaries.capacity_table`: the region's commit rates, counting
    running servers only, and whether each host is over its commit bound), the PNG
    charts of :mod:`cpexplore.plots` and ``index.html``, which shows the summary, the
    capacity table in the chart's order (over-committed first) and the charts and links
    every file. ``out_dir`` is created. A chart whose data is missing is
    skipped, and a capacity table that cannot be computed is left empty; both are noted in
    ``index.html``, as are ``notes``.

    >>> paths = write_inventory_report(servers, hosts, s.catalog, "report")   # doctest: +SKIP
    >>> paths["index.html"]                                               # doctest: +SKIP
    PosixPath('report/index.html')
    """
    out = make_dir(out_dir)
    notes = list(notes)
    summary = summary_table(servers)
    try:
        capacity = capacity_table(hosts, servers) if len(hosts) else pd.DataFrame()
    except MissingColumns as e:
        capacity = pd.DataFrame()
        notes.append(f"Host capacity: not computed ({e}).")
    else:
        unplaced = int(capacity.attrs.get("unplaced_servers", 0) or 0)
        if unplaced:
            away = int(capacity.attrs.get("unscheduled_servers", 0) or 0)
            notes.append(
                f"Host capacity: {unplaced:,} servers are on no host listed here "
                f"({away:,} of them unscheduled) and are not counted."
            )
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

    drawn: list[tuple[str, str]] = []
    if charts:
        try:
            from . import plots
        except ImportError as e:
            plots = None
            notes.append(f"Charts were not drawn: cpexplore.plots could not be imported ({e}).")
            warnings.warn(f"inventory report without charts: {e}", RuntimeWarning, stacklevel=2)
        if plots is not None:
            for name, caption, kind in _CHARTS:
                if kind == "capacity" and capacity.empty:
                    if len(hosts):  # the reason is already in the notes
                        continue
                    notes.append(f"{caption}: not drawn (no hosts).")
                    continue
                try:
                    data = _draw_chart(kind, plots, servers, capacity, endpoints)
                except MissingColumns as e:
                    notes.append(f"{caption}: not drawn ({e}).")
                    continue
                p = atomic_write(out / name, lambda fh, d=data: fh.write(d))
                paths[name] = p
                drawn.append((name, caption))
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
        charts=drawn,
        notes=notes,
    )
    data = page.encode("utf-8")
    paths["index.html"] = atomic_write(out / "index.html", lambda fh: fh.write(data))
    return paths


def _list_hosts(session: Session, **kw: Any) -> tuple[pd.DataFrame, str | None]:
    """Hosts, or an empty frame and a note when this account may not list them."""
    try:
        return session.list("hosts", **kw), None
    except Forbidden as e:
        return pd.DataFrame(), f"Hosts are not visible to this account ({e.message})."


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
    """Fetch servers, hosts and the catalog, and write the inventory report; return paths.

    ``scope="max"`` lets an admin see everything and a member its project. Lists are
    fetched fresh (not from the session cache). See :func:`write_inventory_report` for
    the files; the result maps file name → path, ``"index.html"`` last.

    >>> paths = inventory_report(cpexplore.connect(), "report")     # doctest: +SKIP
    >>> print(paths["index.html"])                                  # doctest: +SKIP
    report/index.html
    """
    kw: dict[str, Any] = {"scope": scope, "region": region, "refresh": True, "progress": progress}
    servers = session.list("servers", **kw)
    hosts, note = _list_hosts(session, **kw)
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
