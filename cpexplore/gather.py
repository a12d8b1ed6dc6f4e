"""List one resource from many clouds (profiles, Sessions, or regions of one cloud) at once.

:func:`gather` lists concurrently, concatenates the frames with provenance columns
``source`` and ``region`` in front, and reports failures per source in a table next to
the frame instead of failing all-or-nothing.

Example:
    >>> import cpexplore                                              # doctest: +SKIP
    >>> got = cpexplore.gather(["prod", "staging"], "servers", scope="system")  # doctest: +SKIP
    >>> got.frame.groupby(["source", "region"]).size()      # doctest: +SKIP
    >>> got.errors                  # source, region, error, message: one row per failure  # doctest: +SKIP
    >>> servers, errors = got       # or unpack it like a tuple  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from .errors import ConfigError, CpExploreError, one_line
from .listing import ListInfo, combined_info, list_info, with_info
from .query import check_filter, check_scope
from .resources import LIST_ARGUMENTS, resource_spec
from .session import Session

__all__ = ["gather", "Gathered", "PROVENANCE", "listing_regions"]

#: The provenance columns :func:`gather` puts in front of every row.
PROVENANCE = ("source", "region")
_ERROR_COLUMNS = ["source", "region", "error", "message"]
_SOURCE_COLUMNS = ["source", "region", "rows", "seconds", "ok", "error"]

SourceLike = Session | str


@dataclass(frozen=True)
class Gathered:
    """What :func:`gather` returns: the rows, and what went wrong where.

    Attributes:
        frame: every row from every source that answered, with ``source`` and ``region``
            first. A record's own ``source``/``region`` fields (servers have both) are
            kept as ``<keyword>.source``/``<keyword>.region``, e.g. ``server.region``.
        errors: one row per failed (source, region): ``source``, ``region``, ``error``
            (the exception class) and ``message`` (one line, with a hint). Empty if all
            sources answered.
        sources: one row per (source, region) asked: ``rows``, ``seconds``, ``ok``, ``error``.
        infos: the :class:`~cpexplore.listing.ListInfo` of each list that answered
            (``frame`` carries their combination: ``list_info(got.frame)``).
        failures: the exceptions behind ``errors``, in the same order.

    It unpacks like a tuple: ``frame, errors = gather(...)``.

    Example:
        >>> frame, errors = gather(["prod", "lab"], "hosts")          # doctest: +SKIP
    """

    frame: pd.DataFrame
    errors: pd.DataFrame
    sources: pd.DataFrame
    infos: tuple[ListInfo, ...] = ()
    failures: tuple[Exception, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every source answered."""
        return self.errors.empty

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.frame, self.errors))

    def __repr__(self) -> str:
        n_src = len(self.sources)
        return (
            f"Gathered({len(self.frame)} rows from {n_src - len(self.errors)} of {n_src} "
            f"sources; {len(self.errors)} failed)"
        )


def _label(session: Session) -> str:
    """A readable name for a Session: its profile, else ``host:port`` of its auth URL."""
    if session.settings.profile:
        return session.settings.profile
    parts = urlsplit(session.settings.auth_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _session_like(value: Any) -> bool:
    """A Session, or anything that lists like one (the widgets' test doubles)."""
    return isinstance(value, Session) or callable(getattr(value, "list", None))


def _normalise(sources: Any) -> list[tuple[str | None, SourceLike]]:
    """(label or None, Session or profile name) pairs, in the order given."""
    if isinstance(sources, str) or _session_like(sources):
        return [(None, sources)]
    if isinstance(sources, Mapping):
        items = [(str(k), v) for k, v in sources.items()]
    elif isinstance(sources, Iterable):
        items = [(None, v) for v in sources]
    else:
        raise TypeError(
            "sources must be a Session, a profile name, or a list or dict of them, "
            f"not {type(sources).__name__}"
        )
    for _, v in items:
        if not (isinstance(v, str) or _session_like(v)):
            raise TypeError(
                f"each source must be a Session or a profile name, not {type(v).__name__}"
            )
    if not items:
        raise ValueError("gather needs at least one source (a Session or a profile name)")
    return items


def _provenance(frame: pd.DataFrame, source: str, region: str | None, keyword: str) -> pd.DataFrame:
    clash = {c: f"{keyword}.{c}" for c in PROVENANCE if c in frame.columns}
    out = frame.rename(columns=clash) if clash else frame.copy()
    out.insert(0, "region", region)
    out.insert(0, "source", source)
    return out


def _concat(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate the sources' frames, each column typed by the parts that have values in it.

    A column a source lacks, or has no value in, takes the type of the others (integers
    become nullable ``Int64``, never floats); ``category`` stays a category.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(PROVENANCE))
    names = list(dict.fromkeys(c for p in parts for c in p.columns))
    data = {}
    for name in names:
        pieces = [p[name] if name in p.columns and p[name].notna().any() else None for p in parts]
        present = [x for x in pieces if x is not None]
        if not present:
            data[name] = pd.Series(pd.Categorical([None] * sum(map(len, parts)), categories=[]))
            continue
        dtype = present[0].dtype
        if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
            dtype = pd.Int64Dtype()
        elif pd.api.types.is_bool_dtype(dtype):
            dtype = pd.BooleanDtype()
        categorical = all(isinstance(x.dtype, pd.CategoricalDtype) for x in present)
        filled = [
            (x.astype(object) if categorical else x.astype(dtype) if x.dtype != dtype else x)
            if x is not None
            else pd.Series([None] * len(p), dtype=object if categorical else dtype)
            for x, p in zip(pieces, parts, strict=True)
        ]
        joined = pd.concat(filled, ignore_index=True)
        data[name] = joined.astype("category") if categorical else joined
    out = pd.DataFrame(data)
    for c in PROVENANCE:
        if c in out.columns:
            out[c] = out[c].astype("category")
    return out


def gather(
    sources: SourceLike | Iterable[SourceLike] | Mapping[str, SourceLike],
    resource: str,
    *,
    regions: str | Sequence[str] | None = None,
    max_workers: int = 8,
    session_options: Mapping[str, Any] | None = None,
    **params: Any,
) -> Gathered:
    """List ``resource`` from several sources concurrently and stack the rows.

    Args:
        sources: Sessions and/or profile names (a list), or a dict ``{label: Session or
            profile}`` to choose the ``source`` labels. Profiles are logged in here, in
            parallel, with ``session_options`` (e.g. ``env=...``), and closed afterwards.
        resource: what to list, as for :meth:`Session.list`.
        regions: ``None`` lists each source's own region; a region name or a list lists
            each source in each of them; ``"all"`` lists every catalog region of each
            source that has its own endpoint for the resource (a ``region-zone`` entry
            pointing at the same URL as its region is not listed twice).
        max_workers: how many lists run at once (each list also fetches pages in parallel).
        **params: passed to :meth:`Session.list` (``scope``, ``filters``, ``limit``, ...).

    Returns:
        A :class:`Gathered`: ``.frame`` (rows with ``source`` and ``region`` first),
        ``.errors`` (one row per failed source and region) and ``.sources``.
        A source that fails (login refused, unreachable, 403, no endpoint in a region)
        becomes a row of ``.errors``; the others still count. An unknown ``resource`` or a
        malformed filter raises at once, since every source would fail the same way.

    Example:
        >>> got = gather({"prod": s1, "lab": "lab"}, "servers", scope="system")  # doctest: +SKIP
        >>> got.frame["source"].value_counts()                                   # doctest: +SKIP
    """
    spec = resource_spec(resource)
    if params.get("filters") is not None:
        flt = params["filters"]
        for f in [flt] if isinstance(flt, str) else list(flt):
            check_filter(f)
    for name in params:  # a typo fails at once, not once per source
        if name == "region":
            raise ConfigError("gather takes regions=, not region=", hint="e.g. regions='all'")
        if name not in LIST_ARGUMENTS:
            spec.check_param(name)
    if params.get("scope") is not None:
        check_scope(params["scope"])
    items = _normalise(sources)
    params = {"progress": False, **params}
    opts = {"progress": False, **(session_options or {})}
    workers = max(1, int(max_workers))

    # 1. sessions: profiles log in concurrently; a failed login is that source's error
    def connect(item: tuple[str | None, SourceLike]) -> _Source:
        label, src = item
        t0 = time.monotonic()
        if not isinstance(src, str):
            return _Source(label or _label(src), src)
        try:
            return _Source(
                label or src, Session(profile=src, **opts), None, time.monotonic() - t0, True
            )
        except (CpExploreError, OSError) as e:  # one source's failure is a row of .errors
            return _Source(label or src, None, e, time.monotonic() - t0)

    with ThreadPoolExecutor(
        max_workers=min(workers, len(items)), thread_name_prefix="cpexplore-gather"
    ) as pool:
        connected = list(pool.map(connect, items))
    for source, label in zip(connected, _unique([c.label for c in connected]), strict=True):
        source.label = label

    # 2. one task per (source, region)
    tasks: list[tuple[_Source, str | None]] = []
    outcomes: list[_Outcome] = []
    asked = regions if isinstance(regions, str) and regions != "all" else None
    for source in connected:
        if source.session is None:
            outcomes.append(_Outcome(source.label, asked, None, source.error, source.seconds))
            continue
        for reg in _regions_for(source.session, regions, spec.service_type):
            tasks.append((source, reg))

    def run(task: tuple[_Source, str | None]) -> _Outcome:
        source, reg = task
        sess = source.session
        assert sess is not None
        region = reg or sess.region
        t0 = time.monotonic()
        try:
            df = sess.list(spec.name, region=reg, **params)
        except (CpExploreError, OSError) as e:  # one source's failure is a row of .errors
            return _Outcome(source.label, region, None, e, time.monotonic() - t0)
        region = list_info(df).region or region
        return _Outcome(source.label, region, df, None, time.monotonic() - t0)

    try:
        if tasks:
            with ThreadPoolExecutor(
                max_workers=min(workers, len(tasks)), thread_name_prefix="cpexplore-gather"
            ) as pool:
                listed = list(pool.map(run, tasks))
        else:
            listed = []
    finally:
        for source in connected:
            if source.owned and source.session is not None:
                source.session.close()

    # in the order the sources were given, each source's regions in task order
    order = {source.label: i for i, source in enumerate(connected)}
    outcomes = sorted(outcomes + listed, key=lambda o: order[o.label])

    frames, infos = [], []
    for o in outcomes:
        if o.frame is not None:
            infos.append(replace(list_info(o.frame), source=o.label))
            frames.append(_provenance(o.frame, o.label, o.region, spec.keyword))
    frame = _concat(frames)
    if infos:
        with_info(frame, combined_info(infos, len(frame)))
    failed = [o for o in outcomes if o.error is not None]
    return Gathered(
        frame=frame,
        errors=pd.DataFrame(
            [
                {
                    "source": o.label,
                    "region": o.region,
                    "error": type(o.error).__name__,
                    "message": one_line(o.error),
                }
                for o in failed
            ],
            columns=_ERROR_COLUMNS,
        ),
        sources=pd.DataFrame(
            [
                {
                    "source": o.label,
                    "region": o.region,
                    "rows": len(o.frame) if o.frame is not None else 0,
                    "seconds": round(o.seconds, 3),
                    "ok": o.error is None,
                    "error": None if o.error is None else type(o.error).__name__,
                }
                for o in outcomes
            ],
            columns=_SOURCE_COLUMNS,
        ),
        infos=tuple(infos),
        failures=tuple(o.error for o in failed if o.error is not None),
    )


@dataclass
class _Source:
    """One source of a gather: its label and session, or why it could not log in."""

    label: str
    session: Session | None
    error: Exception | None = None
    seconds: float = 0.0
    owned: bool = False  # logged in here from a profile, so closed here


@dataclass(frozen=True)
class _Outcome:
    """One (source, region) list: its rows, or its error."""

    label: str
    region: str | None
    frame: pd.DataFrame | None
    error: Exception | None
    seconds: float


def _unique(labels: Sequence[str]) -> list[str]:
    """Make labels unique by suffixing ``#2``, ``#3``... to repeats."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        n = seen.get(label, 0) + 1
        seen[label] = n
        out.append(label if n == 1 else f"{label}#{n}")
    return out


def listing_regions(
    session: Session, service_type: str, *, interface: str | None = None
) -> list[str]:
    """The catalog regions to list ``service_type`` in so that every endpoint is asked once.

    Every catalog region with its own ``interface`` endpoint for the service, in the
    order of ``session.regions``; a region whose endpoint URL an earlier one already has
    (a ``region-zone`` entry pointing at its region's URL, usually) is skipped, since it
    would only return the same rows again. This is the one rule for "list across
    regions": :func:`gather` with ``regions="all"`` and the inventory explorer's "all"
    both use it.

    Example:
        >>> listing_regions(session, "compute_v2")                    # doctest: +SKIP
        ['region0', 'region1']
    """
    out: list[str] = []
    seen_urls: set[str] = set()
    for reg in session.regions:
        try:
            url = session.url_for(service_type, region=reg, interface=interface)
        except CpExploreError:
            continue
        if url not in seen_urls:
            seen_urls.add(url)
            out.append(reg)
    return out


def _regions_for(
    session: Session, regions: str | Sequence[str] | None, service_type: str
) -> list[str | None]:
    if regions is None:
        return [None]
    if isinstance(regions, str) and regions != "all":
        return [regions]
    if regions != "all":
        return list(dict.fromkeys(regions))
    found: list[str | None] = list(listing_regions(session, service_type))
    return found or [None]
