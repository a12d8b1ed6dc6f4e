"""Inventory plots: a DataFrame in, a matplotlib chart out, numbers from :mod:`.summaries`.

Axes-level functions (:func:`plot_endpoints`, :func:`plot_inventory`, :func:`plot_timeline`)
draw on ``ax`` (default: a new pyplot figure) and return it; figure-level ones
(:func:`plot_capacity`, :func:`plot_capacity_table`) return their Figure. Arguments after
the data are keyword-only; a column colouring the bars is ``hue=``. Okabe-Ito palette.

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

# plot_timeline's freq aliases: (``Series.dt.to_period`` period, noun)
_PERIODS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"D": ("D", "day"), "W": ("W", "week")}
    | dict.fromkeys(("M", "ME", "MS"), ("M", "month"))
    | dict.fromkeys(("Q", "QE", "QS"), ("Q", "quarter"))
    | dict.fromkeys(("Y", "YE", "YS", "A"), ("Y", "year"))
)


def new_figure(lines: int | None = None, *, width: float = 7.0, pyplot: bool = True) -> Figure:
    """A new figure sized by the one height rule: room for ``lines`` bar labels.

    ``lines=None``: 3.2 inches high. ``pyplot=False``: a figure pyplot does not track.

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
    """Draw how many catalog endpoints each ``by`` value has, split by ``hue`` (``None``: plain).

    Example:
        >>> ax = plot_endpoints(session.catalog, by="region_id", hue=None)  # doctest: +SKIP
    """
    require_columns(catalog, [by] + ([hue] if hue else []), "plot_endpoints")
    counts = _count_table(catalog, by, hue)
    return _draw_counts(counts, "Catalog endpoints", by=by, hue=hue, ax=ax, title=title)


def inventory_counts(
    servers: pd.DataFrame, *, by: str = "status", hue: str | None = None, top: int = 20
) -> pd.DataFrame:
    """What :func:`plot_inventory` draws: rows per ``by`` group, largest first.

    One ``count`` column, or one per ``hue`` value; groups past
    :func:`~cpexplore.summaries.shown_groups` are summed into a last ``other (K ...)`` row.

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
    """Draw how many servers fall in each ``by`` group, largest on top (axes-level).

    Groups past the ``top`` largest are written, not drawn, on a last ``other`` line.
    ``hue`` splits the bars by a second column (seven colours, then ``other``).

    Example:
        >>> ax = plot_inventory(servers, by="hypervisor", hue="status")  # doctest: +SKIP
    """
    counts = inventory_counts(servers, by=by, hue=hue, top=top)
    if hue and counts.shape[1] > len(PALETTE):
        counts = _fold_columns(counts, len(PALETTE))
    return _draw_counts(counts, "Servers", by=by, hue=hue, ax=ax, title=title)


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

    Periods run up to ``until`` (default: when the list was fetched, else the last
    timestamp), in UTC; a first or last period the data covers in part is hatched.

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
    """Draw the ``top`` first rows of :func:`~cpexplore.summaries.capacity_table` (figure-level).

    vCPU and memory panels: usable (grey), committed to running servers (vermillion when
    over-committed) labelled with its rate, and the commit bound (black tick).

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
    """The caption under a capacity chart: what the ratio is and what was not counted.

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


def _data_end(frame: pd.DataFrame, until: Any, latest: pd.Timestamp) -> pd.Timestamp:
    """Naive UTC: ``until``, else when the list of ``frame`` was fetched, else ``latest``."""
    if until is None:
        until = getattr(info_or_none(frame), "fetched_at", None)
    if until is None:
        return latest
    stamp = pd.Timestamp(until)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.tz_localize(None)


def _draw_partial(axis: Axes, x: np.ndarray, heights: np.ndarray, note: str) -> None:
    """Timeline bars of periods the data covers in part: shaded, hatched, explained."""
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
    """Days and weeks as ``Nov 07``, the year under the first and where it changes."""
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

    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ConfigError(
            f"top must be a whole number of at least 1, not {top!r}", hint="e.g. top=20"
        )


def _count_table(frame: pd.DataFrame, by: str, hue: str | None) -> pd.DataFrame:
    """Rows per ``by`` value (and ``hue`` column), largest total first."""
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
    """Keep the groups :func:`~cpexplore.summaries.shown_groups` keeps; sum the rest."""
    keep = shown_groups(len(counts), top)
    if keep >= len(counts):
        return counts
    head, tail = counts.iloc[:keep], counts.iloc[keep:]
    out = pd.concat([head, tail.sum().to_frame(other_label(by, len(tail))).T])
    out.index.name = counts.index.name
    return out.astype("int64")


def _fold_columns(counts: pd.DataFrame, keep: int) -> pd.DataFrame:
    """Keep the ``keep - 1`` largest segment columns; sum the rest into ``other``."""
    head = counts.iloc[:, : keep - 1].copy()
    head["other"] = counts.iloc[:, keep - 1 :].sum(axis=1)
    return head


def _short(label: str, limit: int = _LABEL_CHARS) -> str:
    """Shorten a tick label to ``limit`` characters, keeping both ends."""
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
    """Palette colours for hue segments, grey for ``other``."""
    out, i = [], 0
    for name in columns:
        if name == "other" or name.startswith(OTHER_PREFIX):
            out.append(OTHER_COLOR)
        else:
            out.append(PALETTE[i % len(PALETTE)])
            i += 1
    return out


def _draw_counts(
    counts: pd.DataFrame, head: str, *, by: str, hue: str | None, ax: Axes | None, title: str | None
) -> Axes:
    """Draw ``counts`` of ``head`` (``Servers``) as stacked bars; an ``other (…)`` row in words."""
    noun, rows = head.split()[-1].lower(), int(counts.to_numpy().sum())
    default = f"{head} by {column_label(by)}" + (f" and {column_label(hue)}" if hue else "")
    axis = ax if ax is not None else new_figure(len(counts)).add_subplot()
    axis.set_title(title or f"{default} ({rows:,})")
    axis.set_xlabel(f"{noun} (count)")
    axis.set_ylabel(column_label(by))
    if not rows:
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
    share = 100.0 * rest / everything
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
