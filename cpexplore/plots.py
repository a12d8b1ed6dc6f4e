"""Inventory plots: a DataFrame in, matplotlib Axes out.

Every function here takes the DataFrames that :class:`~cpexplore.Session` returns (or any
frame with the same columns), draws on ``ax`` (a new figure sized to the data when
``ax=None``) and returns the Axes. Nothing here talks HTTP or knows about widgets, and
the input frames are never modified.

Defaults aim to be readable in a narrow notebook cell: horizontal bars (long names stay
on one line), value labels, titles, axis labels with units, and the Okabe-Ito
colour-blind-safe palette. A frame lacking a column a plot needs raises
:class:`~cpexplore.errors.MissingColumns` naming what is missing and what exists. The
numbers drawn come from :mod:`cpexplore.summaries`, like the report's tables: the capacity
chart draws :func:`~cpexplore.summaries.capacity_table` row by row, so chart and table agree
on which hosts are over-committed, and group-bys name servers without a host
``(unscheduled)``.

>>> import pandas as pd
>>> servers = pd.DataFrame({"status": ["running", "running", "ready"]})
>>> ax = plot_inventory(servers, by="status")          # doctest: +SKIP
>>> [p.get_width() for p in ax.patches]                # doctest: +SKIP
[2.0, 1.0]
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ConfigError
from .summaries import (
    CAPACITY_EXPLANATION,
    MIB_PER_GIB,
    OTHER_PREFIX,
    capacity_table,
    column_label,
    group_keys,
    other_label,
    rate_text,
    require_columns,
    shown_groups,
    status_label,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "PALETTE",
    "OTHER_COLOR",
    "plot_endpoints",
    "plot_inventory",
    "plot_capacity",
    "plot_capacity_table",
    "capacity_caption",
    "plot_timeline",
    "inventory_counts",
]

#: Okabe & Ito's colour-blind-safe palette (black left out; it is used for text).
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
)
#: The colour of the folded long tail ("other") and of physical capacity.
OTHER_COLOR = "#999999"
_OVER_COLOR = "#D55E00"  # vermillion: over-committed
_BOUND_COLOR = "#000000"  # the commit bound marker
_LABEL_CHARS = 32

# Period aliases accepted by plot_timeline, mapped to what ``Series.dt.to_period`` wants.
_PERIODS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "D": ("D", "day"),
        "W": ("W", "week"),
        "M": ("M", "month"),
        "ME": ("M", "month"),
        "MS": ("M", "month"),
        "Q": ("Q", "quarter"),
        "QE": ("Q", "quarter"),
        "QS": ("Q", "quarter"),
        "Y": ("Y", "year"),
        "YE": ("Y", "year"),
        "YS": ("Y", "year"),
        "A": ("Y", "year"),
    }
)


# --------------------------------------------------------------------------- public


def plot_endpoints(
    catalog: pd.DataFrame,
    by: str = "service_type",
    hue: str | None = "interface",
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw how many catalog endpoints each ``by`` value has, split by ``hue``.

    One horizontal bar per ``by`` value (most endpoints on top), stacked by ``hue``
    (``None`` for plain bars), with the total at the end of each bar.

    Args:
        catalog: ``session.catalog`` or a filtered part of it.
        by: the column giving one bar each (``service_type``, ``region_id``, ...).
        hue: the column splitting each bar into coloured segments, or ``None``.
        ax: the Axes to draw on; a new figure sized to the data if ``None``.
        title: the title; a description of the data by default.

    Example:
        >>> ax = plot_endpoints(session.catalog)                      # doctest: +SKIP
        >>> ax = plot_endpoints(session.catalog, by="region_id", hue=None)  # doctest: +SKIP
    """
    require_columns(catalog, [by] + ([hue] if hue else []), "plot_endpoints")
    counts = _count_table(catalog, by, hue)
    noun = "endpoint"
    default = f"Catalog endpoints by {column_label(by)}" + (
        f" and {column_label(hue)}" if hue else ""
    )
    return _draw_counts(
        counts,
        ax=ax,
        title=title or f"{default} ({len(catalog):,})",
        xlabel=f"{noun}s (count)",
        ylabel=column_label(by),
        legend_title=column_label(hue) if hue else None,
        empty=f"no {noun}s match",
    )


def inventory_counts(
    servers: pd.DataFrame,
    by: str = "status",
    stack: str | None = None,
    top: int = 20,
) -> pd.DataFrame:
    """Count rows per ``by`` value (columns split by ``stack``), folding the tail into "other".

    The result is what :func:`plot_inventory` shows: one row per bar in drawing order
    (largest first), one column per stack segment (a single ``count`` column without
    ``stack``). Beyond ``top`` bars the rest are summed into one last row labelled
    ``other (K hosts)`` (:func:`~cpexplore.summaries.shown_groups`: a lone remainder is
    kept as itself); missing values are counted as ``(none)``.

    Example:
        >>> df = pd.DataFrame({"status": ["running", "running", "ready", "stopped", "init"]})
        >>> inventory_counts(df, top=1)["count"].to_dict()
        {'running': 2, 'other (3 statuses)': 3}
        >>> inventory_counts(df, top=3)["count"].to_dict()
        {'running': 2, 'init': 1, 'ready': 1, 'stopped': 1}
    """
    require_columns(servers, [by] + ([stack] if stack else []), "inventory_counts")
    _check_top(top)
    counts = _count_table(servers, by, stack)
    return _fold(counts, top, by)


def plot_inventory(
    servers: pd.DataFrame,
    by: str = "status",
    stack: str | None = None,
    top: int = 20,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw how many servers (or any rows) fall in each ``by`` group.

    One horizontal bar per group, largest on top, labelled with its count. Groups beyond
    the ``top`` largest are summed on a separate last line, ``other (K hosts)``, below a
    dashed rule: its total is written, not drawn as a bar, so the long tail never dwarfs
    the bars above it (and one group left over is drawn as itself). With ``stack`` (e.g.
    ``"status"``), each bar is split into coloured segments by that column (its seven
    largest values get colours, the rest are folded into ``other``). Statuses are
    labelled with what they mean (``ready (stopped)``,
    :func:`~cpexplore.summaries.status_label`).

    Args:
        servers: ``session.list("servers")`` or a filtered part of it (any frame works).
        by: ``status``, ``hypervisor``, ``zone``, ``host``, ``cloudregion``, ``tenant``, ...
        stack: a second column splitting each bar, or ``None``.
        top: how many bars to show before folding the rest into "other".
        ax: the Axes to draw on; a new figure sized to the data if ``None``.
        title: the title; ``Servers by <by> (<rows>)`` by default.

    Example:
        >>> ax = plot_inventory(servers, by="hypervisor", stack="status")  # doctest: +SKIP
    """
    counts = inventory_counts(servers, by, stack, top)
    if stack and counts.shape[1] > len(PALETTE):
        counts = _fold_columns(counts, len(PALETTE))
    default = f"Servers by {column_label(by)}" + (f" and {column_label(stack)}" if stack else "")
    return _draw_counts(
        counts,
        ax=ax,
        title=title or f"{default} ({len(servers):,})",
        xlabel="servers (count)",
        ylabel=column_label(by),
        legend_title=column_label(stack) if stack else None,
        empty="no servers match",
        noun="servers",
        bar_label=status_label if by == "status" else str,
        segment_label=status_label if stack == "status" else str,
    )


def plot_capacity(
    hosts: pd.DataFrame,
    servers: pd.DataFrame | None = None,
    *,
    top: int = 20,
    source: str = "auto",
    ax: Sequence[Axes] | None = None,
    title: str | None = None,
) -> tuple[Axes, Axes]:
    """Draw per host what the region commits against what it has: vCPUs and memory.

    Two panels share the host axis: vCPUs on the left, memory (GiB) on the right. The grey
    bar is the host's usable capacity (CPUs less ``cpu_reserved``, memory less
    ``mem_reserved``), the narrow bar on it what is committed to its *running* servers
    (as the region's ``cpu_commit`` and ``mem_commit`` count), the black tick the host's
    commit bound (usable × ``cpu_commit_bound`` / ``mem_commit_bound``). A bar is
    vermillion when the host is over-committed on that resource — its commit rate is
    above its bound — and blue otherwise, whatever the rate (one rule, also at ``1.00×``);
    the label at its end is the commit rate as the table writes it
    (:func:`~cpexplore.summaries.rate_text`: never ``1.00×`` on a bar over a bound of 1).

    Everything drawn is a row of :func:`cpexplore.summaries.capacity_table` (the report's
    ``capacity.csv``), in its order: over-committed hosts first, then by how much of its
    bound a host uses. The ``top`` first rows are drawn; the title counts the
    over-committed hosts of the whole table, and the caption under the panels says what
    the ratio is.

    Args:
        hosts: ``session.list("hosts")``: ``name``, ``cpu_count``, ``mem_size`` (MiB), ...
        servers: ``session.list("servers")``: used where the hosts lack the region's
            commit figures (``source="servers"``: always), counting running servers only.
        top: how many hosts to show.
        source: ``"auto"``, ``"hosts"`` or ``"servers"``, as in ``capacity_table``.
        ax: two Axes to draw on (vCPU, memory); a new figure if ``None``.
        title: the figure's title.

    Returns:
        The two Axes ``(vcpu_ax, memory_ax)``.

    Example:
        >>> cpu_ax, mem_ax = plot_capacity(hosts, servers)            # doctest: +SKIP
    """
    _check_top(top)
    return plot_capacity_table(
        capacity_table(hosts, servers, source=source), top=top, ax=ax, title=title
    )


def plot_capacity_table(
    table: pd.DataFrame,
    *,
    top: int = 20,
    ax: Sequence[Axes] | None = None,
    title: str | None = None,
) -> tuple[Axes, Axes]:
    """Draw a :func:`~cpexplore.summaries.capacity_table` as :func:`plot_capacity` does.

    For views that show the table next to its chart (the report, the capacity explorer):
    both are then the same rows, in the same order.

    Example:
        >>> table = capacity_table(hosts, servers)                     # doctest: +SKIP
        >>> cpu_ax, mem_ax = plot_capacity_table(table, top=10)       # doctest: +SKIP
    """
    _check_top(top)
    require_columns(
        table,
        ["host", "cpu_commit_rate", "mem_commit_rate", "over_committed"],
        "plot_capacity_table",
        hint="pass the frame capacity_table(hosts, servers) returns",
    )
    shown = table.head(top)
    if ax is None:
        fig = _new_figure(len(shown) + 2, ncols=2, width=9.0)
        axes = fig.subplots(1, 2, sharey=True)
        cpu_ax, mem_ax = axes[0], axes[1]
    else:
        axes_list = list(ax)
        if len(axes_list) != 2:
            raise ValueError("plot_capacity draws two panels: pass ax=(vcpu_ax, memory_ax)")
        cpu_ax, mem_ax = axes_list
    _draw_capacity_panel(cpu_ax, shown, "cpu")
    _draw_capacity_panel(mem_ax, shown, "mem")
    if len(shown):
        cpu_ax.set_ylabel("host")
    mem_ax.set_ylabel("")
    over = int(table["over_committed"].sum())
    head = title or "Host capacity of running servers"
    more = (
        f"top {len(shown)} of {len(table)} hosts"
        if len(table) > len(shown)
        else f"{len(table)} host{'s' if len(table) != 1 else ''}"
    )
    figure = cpu_ax.figure
    figure.suptitle(f"{head} ({more}; {over} over-committed)")
    figure.supxlabel(capacity_caption(table), fontsize=8, color="0.3")
    return cpu_ax, mem_ax


def capacity_caption(table: pd.DataFrame) -> str:
    """The caption under a capacity chart: what the ratio is, and what was not counted.

    Example:
        >>> capacity_caption(pd.DataFrame()).startswith("commit rate =")
        True
    """
    text = textwrap.fill(CAPACITY_EXPLANATION + ".", width=120)
    unplaced = int(table.attrs.get("unplaced_servers", 0) or 0)
    if unplaced:
        away = int(table.attrs.get("unscheduled_servers", 0) or 0)
        text += (
            f"\n{unplaced:,} server{'s' if unplaced != 1 else ''} on no host listed here "
            f"({away:,} unscheduled) are not counted."
        )
    return text


def plot_timeline(
    servers: pd.DataFrame,
    freq: str = "M",
    *,
    column: str = "created_at",
    until: Any = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw how many servers were created per period (``freq``: D, W, M, Q or Y).

    Periods without servers are drawn as zero-height bars, so gaps show, up to the period
    of ``until``: when the data ends — the time the list was fetched (from
    ``cpexplore.list_info(servers)``) by default, else the last timestamp. A first or last
    period the data covers only in part (it starts after the period's first day, or ends
    before its last) is drawn lighter and hatched, and the legend says so: its bar is low
    because it is short, not because fewer servers were created. Day and week ticks are
    short dates (``Nov 07``, the week's Monday), with the year where it changes; tick
    labels are thinned to at most a dozen. Timestamps are read in UTC.

    Example:
        >>> ax = plot_timeline(servers, freq="W")                      # doctest: +SKIP
    """
    require_columns(servers, [column], "plot_timeline")
    try:
        period, noun = _PERIODS[freq.upper() if isinstance(freq, str) else freq]
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown freq {freq!r}; use one of D (day), W (week), M (month), Q (quarter), Y (year)"
        ) from None
    stamps = pd.to_datetime(servers[column], utc=True, errors="coerce").dropna()
    axis = ax if ax is not None else _new_axes(0, width=8.0, height=3.2)
    axis.set_title(title or f"Servers created per {noun} ({len(stamps):,})")
    axis.set_ylabel(f"servers created (per {noun})")
    axis.set_xlabel(f"{noun} created (UTC)")
    if stamps.empty:
        _empty(axis, "no creation times to plot")
        return axis
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    first, last = naive.min(), max(naive.max(), _data_end(servers, until, naive.max()))
    periods = naive.dt.to_period(period)
    counts = periods.value_counts().sort_index()
    full = pd.period_range(counts.index.min(), pd.Period(last, freq=period), freq=period)
    counts = counts.reindex(full, fill_value=0)
    partial = np.zeros(len(counts), dtype=bool)
    day = pd.Timedelta(days=1)
    partial[0] = first.normalize() > full[0].start_time
    partial[-1] |= last.normalize() + day <= full[-1].end_time.normalize()
    x = np.arange(len(counts))
    heights = counts.to_numpy()
    axis.bar(x[~partial], heights[~partial], width=0.85, color=PALETTE[0])
    if partial.any():
        from matplotlib.patches import Patch

        for at in x[partial]:  # a shaded column, visible even where nothing was created
            axis.fill_between(
                [at - 0.5, at + 0.5],
                0,
                1,
                transform=axis.get_xaxis_transform(),
                color="0.93",
                zorder=0,
                linewidth=0,
            )
        axis.bar(
            x[partial],
            heights[partial],
            width=0.85,
            color=PALETTE[0],
            alpha=0.4,
            hatch="///",
            edgecolor=PALETTE[0],
            linewidth=0.0,
        )
        axis.legend(
            handles=[
                Patch(
                    facecolor=PALETTE[0],
                    alpha=0.4,
                    hatch="///",
                    edgecolor=PALETTE[0],
                    label=(
                        f"partial {noun}: the data runs from {first:%b %d %Y} to {last:%b %d %Y}"
                    ),
                )
            ],
            loc="upper left",
            fontsize=8,
            frameon=False,
        )
    step = max(1, int(np.ceil(len(counts) / 12)))
    shown = list(counts.index[::step])
    labels = _period_labels(shown, noun)
    axis.set_xticks(x[::step], labels)
    if max(len(line) for text in labels for line in text.split("\n")) > 7:
        for tick in axis.get_xticklabels():
            tick.set_rotation(35)
            tick.set_horizontalalignment("right")
    axis.set_xlim(-0.6, len(x) - 0.4)
    axis.set_ylim(0, max(1.0, float(heights.max())) * (1.25 if partial.any() else 1.05))
    axis.yaxis.get_major_locator().set_params(integer=True)
    axis.grid(axis="y", alpha=0.3)
    axis.set_axisbelow(True)
    return axis


def _data_end(frame: pd.DataFrame, until: Any, latest: pd.Timestamp) -> pd.Timestamp:
    """When the data of ``frame`` ends, as a naive UTC time: ``until``, else the fetch time
    of its list (``df.attrs``), else ``latest``."""
    if until is None:
        info = frame.attrs.get("cpexplore")
        until = getattr(info, "fetched_at", None)
    if until is None:
        return latest
    stamp = pd.Timestamp(until)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.tz_localize(None)


def _period_labels(periods: Sequence[pd.Period], noun: str) -> list[str]:
    """Tick labels: days and weeks as ``Nov 07`` (a week by its Monday), with the year
    under the first and wherever it changes; months, quarters and years as pandas
    writes them (``2024-01``, ``2024Q1``, ``2024``).

    Example:
        >>> weeks = pd.period_range("2026-12-21", periods=3, freq="W")
        >>> _period_labels(list(weeks), "week")
        ['Dec 21\\n2026', 'Dec 28', 'Jan 04\\n2027']
    """
    if noun not in ("day", "week"):
        return [str(p) for p in periods]
    out, year = [], None
    for p in periods:
        start = p.start_time
        text = start.strftime("%b %d")
        if start.year != year:
            text += f"\n{start.year}"
            year = start.year
        out.append(text)
    return out


# --------------------------------------------------------------------------- helpers


def _check_top(top: Any) -> None:
    """Raise :class:`~cpexplore.errors.ConfigError` unless ``top`` is a whole number ≥ 1.

    Example:
        >>> _check_top(0)
        Traceback (most recent call last):
        ...
        cpexplore.errors.ConfigError: top must be a whole number of at least 1, not 0 (e.g. top=20)
    """
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ConfigError(
            f"top must be a whole number of at least 1, not {top!r}", hint="e.g. top=20"
        )


def _count_table(frame: pd.DataFrame, by: str, hue: str | None) -> pd.DataFrame:
    """Rows per ``by`` value (and ``hue`` column), largest total first.

    Example:
        >>> _count_table(pd.DataFrame({"s": ["a", "b", "b"]}), "s", None)["count"].tolist()
        [2, 1]
    """
    keys = group_keys(frame, by) if len(frame) else pd.Series([], dtype=object)
    if hue is None:
        counts = keys.value_counts().to_frame("count")
    else:
        segs = group_keys(frame, hue) if len(frame) else pd.Series([], dtype=object)
        counts = pd.crosstab(keys.to_numpy(), segs.to_numpy())
        counts = counts[counts.sum().sort_values(ascending=False, kind="stable").index]
    counts.index = counts.index.map(str)
    counts.index.name = by
    counts.columns = counts.columns.map(str)
    order = sorted(counts.index, key=lambda k: (-int(counts.loc[k].sum()), k))
    return counts.loc[order].astype("int64")


def _fold(counts: pd.DataFrame, top: int, by: str | None = None) -> pd.DataFrame:
    """Keep the groups :func:`~cpexplore.summaries.shown_groups` keeps; sum the rest into ``other``.

    Example:
        >>> c = pd.DataFrame({"count": [3, 2, 1]}, index=["a", "b", "c"])
        >>> _fold(c, 1, "host").index.tolist(), _fold(c, 2, "host").index.tolist()
        (['a', 'other (2 hosts)'], ['a', 'b', 'c'])
    """
    keep = shown_groups(len(counts), top)
    if keep >= len(counts):
        return counts
    head, tail = counts.iloc[:keep], counts.iloc[keep:]
    other = tail.sum().to_frame(other_label(by, len(tail))).T
    out = pd.concat([head, other])
    out.index.name = counts.index.name
    return out.astype("int64")


def _fold_columns(counts: pd.DataFrame, keep: int) -> pd.DataFrame:
    """Keep the ``keep - 1`` largest segment columns; sum the rest into ``other``.

    Example:
        >>> c = pd.DataFrame({"a": [3], "b": [2], "c": [1]})
        >>> _fold_columns(c, 2).columns.tolist()
        ['a', 'other']
    """
    head = counts.iloc[:, : keep - 1].copy()
    head["other"] = counts.iloc[:, keep - 1 :].sum(axis=1)
    return head


def _figure_height(bars: int) -> float:
    """A figure height (inches) that gives each horizontal bar room for its label.

    Example:
        >>> _figure_height(0), _figure_height(40)
        (2.4, 11.0)
    """
    return float(min(11.0, max(2.4, 1.3 + 0.3 * bars)))


def _new_figure(bars: int, *, ncols: int = 1, width: float = 7.0) -> Any:
    """A new pyplot figure (so notebooks show it inline) sized for ``bars`` bars."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, _figure_height(bars)), layout="constrained")


def _new_axes(bars: int, *, width: float = 7.0, height: float | None = None) -> Axes:
    """One new Axes on a new pyplot figure sized for ``bars`` bars."""
    import matplotlib.pyplot as plt

    _fig, axis = plt.subplots(figsize=(width, height or _figure_height(bars)), layout="constrained")
    return axis


def _short(label: str, limit: int = _LABEL_CHARS) -> str:
    """Shorten a tick label to ``limit`` characters, keeping both ends.

    Example:
        >>> _short("host-cn-beijing-h-00029-with-a-long-suffix", 20)
        'host-cn-be…ng-suffix'
    """
    if len(label) <= limit:
        return label
    keep = limit - 1
    return label[: (keep + 1) // 2] + "…" + label[len(label) - keep // 2 :]


def _empty(axis: Axes, text: str) -> None:
    """Say on an empty Axes why nothing is drawn."""
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes, color="0.35")
    axis.set_xticks([])
    axis.set_yticks([])


def _segment_colors(columns: Sequence[str]) -> list[str]:
    """Palette colours for stack segments, grey for ``other``.

    Example:
        >>> _segment_colors(["a", "other"])
        ['#0072B2', '#999999']
    """
    out, i = [], 0
    for name in columns:
        if name == "other" or name.startswith("other ("):
            out.append(OTHER_COLOR)
        else:
            out.append(PALETTE[i % len(PALETTE)])
            i += 1
    return out


def _draw_counts(
    counts: pd.DataFrame,
    *,
    ax: Axes | None,
    title: str,
    xlabel: str,
    ylabel: str,
    legend_title: str | None,
    empty: str,
    noun: str = "rows",
    bar_label: Callable[[Any], str] = str,
    segment_label: Callable[[Any], str] = str,
) -> Axes:
    """Draw a (stacked) horizontal bar chart of ``counts`` with totals at the bar ends.

    A last row labelled ``other (…)`` (see :func:`_fold`) is not drawn as a bar: it gets
    its own line below a dashed rule, with its total written out. ``bar_label`` and
    ``segment_label`` turn group values into tick and legend labels.
    """
    has_other = len(counts) > 0 and str(counts.index[-1]).startswith(OTHER_PREFIX)
    drawn = counts.iloc[:-1] if has_other else counts
    axis = ax if ax is not None else _new_axes(len(counts))
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    if counts.empty or int(counts.to_numpy().sum()) == 0:
        _empty(axis, empty)
        return axis
    y = np.arange(len(drawn), dtype=float)
    left = np.zeros(len(drawn))
    labels = [_short(bar_label(k)) for k in drawn.index]
    stacked = legend_title is not None
    colors = _segment_colors(list(counts.columns)) if stacked else None
    container = None
    for i, column in enumerate(drawn.columns):
        values = drawn[column].to_numpy(dtype=float)
        color: Any = (colors[i] if colors else PALETTE[0]) if stacked else PALETTE[0]
        label = segment_label(column) if stacked and column != "other" else str(column)
        container = axis.barh(
            y, values, left=left, height=0.7, color=color, label=label if stacked else None
        )
        left = left + values
    totals = drawn.sum(axis=1).to_numpy()
    if container is not None:
        axis.bar_label(container, labels=[f"{int(t):,}" for t in totals], padding=3, fontsize=9)
    ticks = list(y)
    if has_other:
        rest = int(counts.iloc[-1].sum())
        everything = int(counts.to_numpy().sum())
        share = 100.0 * rest / everything if everything else 0.0
        other_y = len(drawn) + 0.35
        axis.axhline(len(drawn) - 0.35, color="0.55", linewidth=0.8, linestyle=(0, (4, 3)))
        axis.text(
            0,
            other_y,
            f"  {rest:,} {noun} ({share:.1f}% of {everything:,}), not drawn as a bar",
            va="center",
            ha="left",
            fontsize=9,
            style="italic",
            color="0.3",
        )
        ticks.append(other_y)
        labels.append(str(counts.index[-1]))
    axis.set_yticks(ticks, labels)
    if has_other:
        axis.get_yticklabels()[-1].set_color("0.3")
        axis.get_yticklabels()[-1].set_fontstyle("italic")
        axis.set_ylim(ticks[-1] + 0.6, -0.6)  # inverted: largest on top, "other" below
    else:
        axis.invert_yaxis()  # largest on top
    axis.set_xlim(0, float(totals.max()) * 1.15 if len(totals) else 1.0)
    axis.xaxis.get_major_locator().set_params(integer=True)
    axis.grid(axis="x", alpha=0.3)
    axis.set_axisbelow(True)
    if stacked:
        axis.legend(
            title=legend_title,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
        )
    return axis


def _draw_capacity_panel(axis: Axes, table: pd.DataFrame, kind: str) -> None:
    """One panel of :func:`plot_capacity`: usable (grey), committed and the bound per host."""
    unit = "vCPUs" if kind == "cpu" else "GiB"
    axis.set_title("vCPUs" if kind == "cpu" else "Memory (GiB)", fontsize=10)
    axis.set_xlabel(unit)
    if table.empty:
        _empty(axis, "no hosts")
        return

    def values(column: str) -> np.ndarray:
        data = pd.to_numeric(table[column].astype(object), errors="coerce")
        return data.to_numpy(dtype=float, na_value=np.nan)

    scale = 1.0 if kind == "cpu" else float(MIB_PER_GIB)
    usable = values("cpu_usable" if kind == "cpu" else "mem_usable_mib") / scale
    commit = values("cpu_commit" if kind == "cpu" else "mem_commit_mib") / scale
    rate = values(f"{kind}_commit_rate")
    limit = values(f"{kind}_commit_bound")
    bound = limit * usable
    over = table[f"{kind}_over_committed"].to_numpy(dtype=bool)
    y = np.arange(len(table))
    axis.barh(y, np.nan_to_num(usable), height=0.8, color=OTHER_COLOR, alpha=0.55)
    colors = [_OVER_COLOR if o else PALETTE[0] for o in over]  # the one rule: rate > bound
    bars = axis.barh(y, np.nan_to_num(commit), height=0.4, color=colors)
    labels = [rate_text(r, b) for r, b in zip(rate, limit, strict=True)]
    axis.bar_label(
        bars,
        labels=labels,
        padding=3,
        fontsize=8,
        zorder=4,  # above the bound tick it may cross
        bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none"},
    )
    known = ~np.isnan(bound)
    axis.scatter(
        bound[known], y[known], marker="|", s=180, linewidths=1.5, color=_BOUND_COLOR, zorder=3
    )
    axis.set_yticks(y, [_short(str(h), 28) for h in table["host"]])
    if not axis.yaxis_inverted():
        axis.invert_yaxis()
    top = float(np.nanmax(np.concatenate([usable, commit, bound, [0.0]]))) or 1.0
    axis.set_xlim(0, top * 1.2)
    axis.grid(axis="x", alpha=0.3)
    axis.set_axisbelow(True)
    if kind == "mem":
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = [
            Patch(color=OTHER_COLOR, alpha=0.55, label="usable: CPUs, memory less reserved"),
            Patch(color=PALETTE[0], label="committed to running servers"),
            Patch(color=_OVER_COLOR, label="committed, over the bound"),
            Line2D(
                [],
                [],
                color=_BOUND_COLOR,
                marker="|",
                linestyle="",
                markersize=12,
                label="commit bound (usable × bound)",
            ),
            Patch(color="none", label="1.50× at a bar: commit rate"),
        ]
        axis.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            frameon=False,
        )
