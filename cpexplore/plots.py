"""Inventory plots: a DataFrame in, a matplotlib chart out.

Two kinds of function, as in seaborn:

* **axes-level** — :func:`plot_endpoints`, :func:`plot_inventory` and :func:`plot_timeline`
  draw on one ``ax`` (a new pyplot figure sized to the data when ``ax=None``) and return
  the Axes;
* **figure-level** — :func:`plot_capacity` and :func:`plot_capacity_table` own their
  figure (two panels, a title and a caption) and return the Figure (``pyplot=False``: a
  figure pyplot does not track, for PNGs drawn outside a notebook cell).

Arguments after the data are keyword-only; a column colouring the bars is ``hue=``. Every
figure is sized by :func:`new_figure`, the one height rule. Nothing here talks HTTP, and
input frames are never modified. Charts are horizontal bars with value labels in the
Okabe-Ito colour-blind-safe palette; a missing column raises
:class:`~cpexplore.errors.MissingColumns`. The numbers drawn come from
:mod:`cpexplore.summaries`, like the report's tables: group-bys name servers without a
host ``(unscheduled)``, and the capacity chart draws
:func:`~cpexplore.summaries.capacity_table` row by row.

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
from .lists.info import info_or_none
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
    from matplotlib.figure import Figure

__all__ = [
    "PALETTE",
    "OTHER_COLOR",
    "new_figure",
    "plot_endpoints",
    "plot_inventory",
    "inventory_counts",
    "plot_timeline",
    "plot_capacity",
    "plot_capacity_table",
    "capacity_caption",
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


def new_figure(lines: int | None = None, *, width: float = 7.0, pyplot: bool = True) -> Figure:
    """A new figure sized by the one height rule: room for ``lines`` bar labels.

    ``lines=None`` is a chart without a line per bar (a timeline): 3.2 inches high.
    ``pyplot=False`` makes a figure pyplot does not track (for PNGs in widgets and reports).

    Example:
        >>> [float(new_figure(n, pyplot=False).get_size_inches()[1]) for n in (0, 10, 40, None)]
        [2.4, 4.3, 11.0, 3.2]
    """
    from matplotlib.figure import Figure

    height = 3.2 if lines is None else round(min(11.0, max(2.4, 1.3 + 0.3 * lines)), 2)
    if not pyplot:
        return Figure(figsize=(width, height), layout="constrained")
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height), layout="constrained")


def plot_endpoints(
    catalog: pd.DataFrame,
    *,
    by: str = "service_type",
    hue: str | None = "interface",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw how many catalog endpoints each ``by`` value has, coloured by ``hue`` (axes-level).

    One horizontal bar per ``by`` value (most endpoints on top), split by ``hue`` (``None``
    for plain bars), with the total at the end of each bar.

    Example:
        >>> ax = plot_endpoints(session.catalog, by="region_id", hue=None)  # doctest: +SKIP
    """
    require_columns(catalog, [by] + ([hue] if hue else []), "plot_endpoints")
    head = "Catalog endpoints"
    return _draw_counts(
        _count_table(catalog, by, hue), len(catalog), head, "endpoints", by, hue, ax, title
    )


def inventory_counts(
    servers: pd.DataFrame, *, by: str = "status", hue: str | None = None, top: int = 20
) -> pd.DataFrame:
    """Rows per ``by`` value (a column per ``hue`` value), the tail folded into "other".

    What :func:`plot_inventory` draws: one row per bar, largest first (a single ``count``
    column without ``hue``). Beyond ``top`` bars the rest are summed into one last row
    ``other (K hosts)`` (a lone remainder is kept as itself); missing values are ``(none)``.

    Example:
        >>> df = pd.DataFrame({"status": ["running", "running", "ready", "stopped", "init"]})
        >>> inventory_counts(df, top=1)["count"].to_dict()
        {'running': 2, 'other (3 statuses)': 3}
        >>> inventory_counts(df, top=3)["count"].to_dict()
        {'running': 2, 'init': 1, 'ready': 1, 'stopped': 1}
    """
    require_columns(servers, [by] + ([hue] if hue else []), "inventory_counts")
    _check_top(top)
    return _fold(_count_table(servers, by, hue), top, by)


def plot_inventory(
    servers: pd.DataFrame,
    *,
    by: str = "status",
    hue: str | None = None,
    top: int = 20,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw how many servers (or any rows) fall in each ``by`` group (axes-level).

    One horizontal bar per group, largest on top, labelled with its count. Groups beyond
    the ``top`` largest are summed on a last line below a dashed rule, ``other (K hosts)``,
    written rather than drawn so the tail never dwarfs the bars. ``hue`` splits each bar
    into coloured segments by a second column (its seven largest values get colours, the
    rest ``other``). Statuses say what they mean (``ready (stopped)``).

    Example:
        >>> ax = plot_inventory(servers, by="hypervisor", hue="status")  # doctest: +SKIP
    """
    counts = inventory_counts(servers, by=by, hue=hue, top=top)
    if hue and counts.shape[1] > len(PALETTE):
        counts = _fold_columns(counts, len(PALETTE))
    return _draw_counts(counts, len(servers), "Servers", "servers", by, hue, ax, title)


def plot_timeline(
    servers: pd.DataFrame,
    *,
    freq: str = "M",
    column: str = "created_at",
    until: Any = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw how many servers were created per period, ``freq`` D, W, M, Q or Y (axes-level).

    Empty periods are zero-height bars up to the period of ``until``: when the data ends,
    by default the time the list was fetched (``list_info(servers)``), else the last
    timestamp. A first or last period the data covers only in part is drawn lighter and
    hatched, and the legend says so. Day and week ticks are short dates (``Nov 07``, a
    week by its Monday), with the year where it changes; at most a dozen tick labels.
    Timestamps are read in UTC.

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
    axis = ax if ax is not None else new_figure(width=8.0).add_subplot()
    axis.set_title(title or f"Servers created per {noun} ({len(stamps):,})")
    axis.set_ylabel(f"servers created (per {noun})")
    axis.set_xlabel(f"{noun} created (UTC)")
    if stamps.empty:
        _empty(axis, "no creation times to plot")
        return axis
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    first, last = naive.min(), max(naive.max(), _data_end(servers, until, naive.max()))
    counts = naive.dt.to_period(period).value_counts().sort_index()
    full = pd.period_range(counts.index.min(), pd.Period(last, freq=period), freq=period)
    counts = counts.reindex(full, fill_value=0)
    partial = np.zeros(len(counts), dtype=bool)
    partial[0] = first.normalize() > full[0].start_time
    partial[-1] |= last.normalize() + pd.Timedelta(days=1) <= full[-1].end_time.normalize()
    x, heights = np.arange(len(counts)), counts.to_numpy()
    axis.bar(x[~partial], heights[~partial], width=0.85, color=PALETTE[0])
    if partial.any():
        _draw_partial(
            axis,
            x[partial],
            heights[partial],
            f"partial {noun}: the data runs from {first:%b %d %Y} to {last:%b %d %Y}",
        )
    step = max(1, int(np.ceil(len(counts) / 12)))
    labels = _period_labels(list(counts.index[::step]), noun)
    axis.set_xticks(x[::step], labels)
    if max(len(line) for text in labels for line in text.split("\n")) > 7:
        for tick in axis.get_xticklabels():
            tick.set_rotation(35)
            tick.set_horizontalalignment("right")
    axis.set_xlim(-0.6, len(x) - 0.4)
    axis.set_ylim(0, max(1.0, float(heights.max())) * (1.25 if partial.any() else 1.05))
    axis.yaxis.get_major_locator().set_params(integer=True)
    _grid(axis, "y")
    return axis


def plot_capacity(
    hosts: pd.DataFrame,
    servers: pd.DataFrame | None = None,
    *,
    top: int = 20,
    source: str = "auto",
    title: str | None = None,
    pyplot: bool = True,
) -> Figure:
    """Draw per host what the region commits against what it has (figure-level).

    Two panels share the host axis, vCPUs and memory (GiB). The grey bar is the host's
    usable capacity (less ``cpu_reserved`` / ``mem_reserved``), the narrow bar on it what
    its *running* servers commit, the black tick its commit bound (usable × bound). A bar
    is vermillion when the host is over its bound, blue otherwise; its label is the commit
    rate as the table writes it (:func:`~cpexplore.summaries.rate_text`). The rows are
    :func:`~cpexplore.summaries.capacity_table`'s (``source`` as there), in its order:
    over-committed first; the ``top`` first are drawn, and the caption says what the
    ratio is. Returns the Figure; its ``axes`` are the vCPU and memory panels.

    Example:
        >>> cpu_ax, mem_ax = plot_capacity(hosts, servers).axes       # doctest: +SKIP
    """
    _check_top(top)
    table = capacity_table(hosts, servers, source=source)
    return plot_capacity_table(table, top=top, title=title, pyplot=pyplot)


def plot_capacity_table(
    table: pd.DataFrame, *, top: int = 20, title: str | None = None, pyplot: bool = True
) -> Figure:
    """Draw a :func:`~cpexplore.summaries.capacity_table` as :func:`plot_capacity` does.

    For views showing the table next to its chart (the report, the capacity explorer):
    both are then the same rows in the same order.

    Example:
        >>> fig = plot_capacity_table(capacity_table(hosts), top=10)  # doctest: +SKIP
    """
    _check_top(top)
    require_columns(
        table,
        ["host", "cpu_commit_rate", "mem_commit_rate", "over_committed"],
        "plot_capacity_table",
        hint="pass the frame capacity_table(hosts, servers) returns",
    )
    shown = table.head(top)
    figure = new_figure(len(shown) + 2, width=9.5, pyplot=pyplot)
    cpu_ax, mem_ax = figure.subplots(1, 2, sharey=True)
    _draw_capacity_panel(cpu_ax, shown, "cpu")
    _draw_capacity_panel(mem_ax, shown, "mem")
    if len(shown):
        cpu_ax.set_ylabel("host")
    over = int(table["over_committed"].sum())
    n = len(table)
    more = f"top {len(shown)} of {n} hosts" if n > len(shown) else f"{n} host{'s' * (n != 1)}"
    head = title or "Host capacity of running servers"
    figure.suptitle(f"{head} ({more}; {over} over-committed)")
    figure.supxlabel(capacity_caption(table), fontsize=8, color="0.3")
    return figure


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


# --------------------------------------------------------------------------- helpers


def _data_end(frame: pd.DataFrame, until: Any, latest: pd.Timestamp) -> pd.Timestamp:
    """When the data of ``frame`` ends, as a naive UTC time: ``until``, else the fetch time
    of its list (``df.attrs``), else ``latest``."""
    if until is None:
        until = getattr(info_or_none(frame), "fetched_at", None)
    if until is None:
        return latest
    stamp = pd.Timestamp(until)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.tz_localize(None)


def _draw_partial(axis: Axes, x: np.ndarray, heights: np.ndarray, note: str) -> None:
    """Timeline bars of periods the data covers in part: shaded, lighter, hatched, explained."""
    from matplotlib.patches import Patch

    style = {"color": PALETTE[0], "alpha": 0.4, "hatch": "///", "edgecolor": PALETTE[0]}
    for at in x:  # a shaded column, visible even where nothing was created
        axis.fill_between(
            [at - 0.5, at + 0.5],
            0,
            1,
            transform=axis.get_xaxis_transform(),
            color="0.93",
            zorder=0,
            linewidth=0,
        )
    axis.bar(x, heights, width=0.85, linewidth=0.0, **style)
    patch = Patch(facecolor=PALETTE[0], alpha=0.4, hatch="///", edgecolor=PALETTE[0], label=note)
    axis.legend(handles=[patch], loc="upper left", fontsize=8, frameon=False)


def _period_labels(periods: Sequence[pd.Period], noun: str) -> list[str]:
    """Tick labels: days and weeks as ``Nov 07`` (a week by its Monday), the year under the
    first and wherever it changes; other periods as pandas writes them (``2024Q1``).

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
    out = pd.concat([head, tail.sum().to_frame(other_label(by, len(tail))).T])
    out.index.name = counts.index.name
    return out.astype("int64")


def _fold_columns(counts: pd.DataFrame, keep: int) -> pd.DataFrame:
    """Keep the ``keep - 1`` largest segment columns; sum the rest into ``other``.

    Example:
        >>> _fold_columns(pd.DataFrame({"a": [3], "b": [2], "c": [1]}), 2).columns.tolist()
        ['a', 'other']
    """
    head = counts.iloc[:, : keep - 1].copy()
    head["other"] = counts.iloc[:, keep - 1 :].sum(axis=1)
    return head


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


def _grid(axis: Axes, which: str) -> None:
    axis.grid(axis=which, alpha=0.3)
    axis.set_axisbelow(True)


def _legend(axis: Axes, **kw: Any) -> None:
    """A small legend outside the Axes, on its right."""
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, **kw)


def _segment_colors(columns: Sequence[str]) -> list[str]:
    """Palette colours for hue segments, grey for ``other``.

    Example:
        >>> _segment_colors(["a", "other"])
        ['#0072B2', '#999999']
    """
    out, i = [], 0
    for name in columns:
        if name == "other" or name.startswith(OTHER_PREFIX):
            out.append(OTHER_COLOR)
        else:
            out.append(PALETTE[i % len(PALETTE)])
            i += 1
    return out


def _draw_counts(
    counts: pd.DataFrame,
    rows: int,
    head: str,
    noun: str,
    by: str,
    hue: str | None,
    ax: Axes | None,
    title: str | None,
) -> Axes:
    """Draw ``counts`` as horizontal bars (stacked by ``hue``) with totals at the bar ends.

    A last row labelled ``other (…)`` (see :func:`_fold`) is not drawn as a bar: it gets
    its own line below a dashed rule, with its total written out. Statuses are labelled
    with what they mean.
    """
    default = f"{head} by {column_label(by)}" + (f" and {column_label(hue)}" if hue else "")
    axis = ax if ax is not None else new_figure(len(counts)).add_subplot()
    axis.set_title(title or f"{default} ({rows:,})")
    axis.set_xlabel(f"{noun} (count)")
    axis.set_ylabel(column_label(by))
    if counts.empty or int(counts.to_numpy().sum()) == 0:
        _empty(axis, f"no {noun} match")
        return axis
    has_other = str(counts.index[-1]).startswith(OTHER_PREFIX)
    drawn = counts.iloc[:-1] if has_other else counts
    y = np.arange(len(drawn), dtype=float)
    left = np.zeros(len(drawn))
    colors = _segment_colors(list(counts.columns)) if hue else [PALETTE[0]]
    segment: Callable[[Any], str] = status_label if hue == "status" else str
    for column, color in zip(drawn.columns, colors, strict=True):
        values = drawn[column].to_numpy(dtype=float)
        label = (column if column == "other" else segment(column)) if hue else None
        bars = axis.barh(y, values, left=left, height=0.7, color=color, label=label)
        left = left + values
    totals = drawn.sum(axis=1).to_numpy()
    axis.bar_label(bars, labels=[f"{int(t):,}" for t in totals], padding=3, fontsize=9)
    labels = [_short((status_label if by == "status" else str)(k)) for k in drawn.index]
    if has_other:
        _draw_other(axis, counts, noun)
        axis.set_yticks([*y, len(drawn) + 0.35], [*labels, str(counts.index[-1])])
        axis.get_yticklabels()[-1].set_color("0.3")
        axis.get_yticklabels()[-1].set_fontstyle("italic")
        axis.set_ylim(len(drawn) + 0.95, -0.6)  # inverted: largest on top, "other" below
    else:
        axis.set_yticks(y, labels)
        axis.invert_yaxis()  # largest on top
    axis.set_xlim(0, float(totals.max()) * 1.15 if len(totals) else 1.0)
    axis.xaxis.get_major_locator().set_params(integer=True)
    _grid(axis, "x")
    if hue:
        _legend(axis, title=column_label(hue), title_fontsize=8)
    return axis


def _draw_other(axis: Axes, counts: pd.DataFrame, noun: str) -> None:
    """The "other" line under the bars: a dashed rule and the tail's total in words."""
    below = len(counts) - 1
    rest, everything = int(counts.iloc[-1].sum()), int(counts.to_numpy().sum())
    share = 100.0 * rest / everything if everything else 0.0
    axis.axhline(below - 0.35, color="0.55", linewidth=0.8, linestyle=(0, (4, 3)))
    axis.text(
        0,
        below + 0.35,
        f"  {rest:,} {noun} ({share:.1f}% of {everything:,}), not drawn as a bar",
        va="center",
        ha="left",
        fontsize=9,
        style="italic",
        color="0.3",
    )


def _draw_capacity_panel(axis: Axes, table: pd.DataFrame, kind: str) -> None:
    """One panel of :func:`plot_capacity`: usable (grey), committed and the bound per host."""
    axis.set_title("vCPUs" if kind == "cpu" else "Memory (GiB)", fontsize=10)
    axis.set_xlabel("vCPUs" if kind == "cpu" else "GiB")
    if table.empty:
        _empty(axis, "no hosts")
        return

    def values(column: str) -> np.ndarray:
        data = pd.to_numeric(table[column].astype(object), errors="coerce")
        return data.to_numpy(dtype=float, na_value=np.nan)

    scale = 1.0 if kind == "cpu" else float(MIB_PER_GIB)
    usable = values("cpu_usable" if kind == "cpu" else "mem_usable_mib") / scale
    commit = values("cpu_commit" if kind == "cpu" else "mem_commit_mib") / scale
    rate, limit = values(f"{kind}_commit_rate"), values(f"{kind}_commit_bound")
    bound = limit * usable
    over = table[f"{kind}_over_committed"].to_numpy(dtype=bool)
    y = np.arange(len(table))
    axis.barh(y, np.nan_to_num(usable), height=0.8, color=OTHER_COLOR, alpha=0.55)
    colors = [_OVER_COLOR if o else PALETTE[0] for o in over]  # the one rule: rate > bound
    bars = axis.barh(y, np.nan_to_num(commit), height=0.4, color=colors)
    axis.bar_label(
        bars,
        labels=[rate_text(r, b) for r, b in zip(rate, limit, strict=True)],
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
    _grid(axis, "x")
    if kind == "mem":
        _legend(axis, handles=_capacity_handles())


def _capacity_handles() -> list[Any]:
    """The capacity legend: each swatch names itself (no title above the first)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tick = {"marker": "|", "linestyle": "", "markersize": 12}
    return [
        Patch(color=OTHER_COLOR, alpha=0.55, label="usable: CPUs, memory less reserved"),
        Patch(color=PALETTE[0], label="committed to running servers"),
        Patch(color=_OVER_COLOR, label="committed, over the bound"),
        Line2D([], [], color=_BOUND_COLOR, label="commit bound (usable × bound)", **tick),
        Patch(color="none", label="1.50× at a bar: commit rate"),
    ]
