"""List one resource from many clouds (profiles, Sessions, or regions of one cloud) at once:
the rows stacked with ``source`` and ``region`` in front, failures in a table next to them.

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
from .lists.dtypes import concat_frames
from .lists.filters import as_list, parse_filter
from .lists.info import ListInfo, combined_info, list_info, with_info
from .lists.request import check_scope
from .resources import LIST_ARGUMENTS, ResourceSpec, resource_spec
from .session import Session

__all__ = ["gather", "Gathered", "PROVENANCE", "listing_regions"]

#: The provenance columns :func:`gather` puts in front of every row.
PROVENANCE = ("source", "region")
_ERROR_COLUMNS = ["source", "region", "error", "message"]
_SOURCE_COLUMNS = ["source", "region", "rows", "seconds", "ok", "error"]

SourceLike = Session | str


@dataclass(frozen=True)
class Gathered:
    """What :func:`gather` returns; it unpacks like a tuple: ``frame, errors = gather(...)``.

    ``frame``: the rows of every source that answered, ``source`` and ``region`` first (a
    record's own become ``<keyword>.source``/``.region``, e.g. ``server.region``).
    ``errors``: one row per failed (source, region) (``error``: the class, ``message``: one
    line). ``sources``: one row per (source, region) asked. ``infos``: each answer's
    ``ListInfo`` (``list_info(got.frame)`` combines them). ``failures``: behind ``errors``.
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


def _normalise(sources: Any) -> list[tuple[str | None, SourceLike]]:
    """(label or None, Session or profile name) pairs, in the order given."""
    if isinstance(sources, str | Session):
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
        if not isinstance(v, str | Session):
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

    ``sources``: Sessions and/or profile names, or ``{label: Session or profile}`` to choose
    the labels; profiles log in here, in parallel, with ``session_options`` (e.g.
    ``env=...``), and are closed afterwards. ``regions``: ``None`` lists each source's own
    region, a name or a list those, ``"all"`` each region with its own endpoint
    (:func:`listing_regions`). ``max_workers`` lists run at once; ``**params`` go to
    :meth:`Session.list`. A failing source (login refused, unreachable, 403, no endpoint)
    is a row of ``.errors``; an unknown resource or a malformed filter raises at once.

    >>> got = gather({"prod": s1, "lab": "lab"}, "servers", scope="system")  # doctest: +SKIP
    >>> got.frame["source"].value_counts()                                   # doctest: +SKIP
    """
    spec = resource_spec(resource)
    _check_params(spec, params)
    items = _normalise(sources)
    params = {"progress": False, **params}
    opts = {"progress": False, **(session_options or {})}
    workers = max(1, int(max_workers))
    connected = _connect(items, opts, workers)
    try:
        outcomes = _list_all(connected, spec, regions, params, workers)
    finally:
        for source in connected:
            if source.owned and source.session is not None:
                source.session.close()
    return _gathered(outcomes, spec.keyword)


def _check_params(spec: ResourceSpec, params: Mapping[str, Any]) -> None:
    """A typo or a malformed filter fails at once, not once per source."""
    for f in as_list(params.get("filters")):
        parse_filter(f)
    for name in params:
        if name == "region":
            raise ConfigError("gather takes regions=, not region=", hint="e.g. regions='all'")
        if name not in LIST_ARGUMENTS:
            spec.check_param(name)
    if params.get("scope") is not None:
        check_scope(params["scope"])


def _connect(
    items: list[tuple[str | None, SourceLike]], opts: Mapping[str, Any], workers: int
) -> list[_Source]:
    """The sources' sessions, uniquely labelled; profiles log in concurrently."""

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
    return connected


def _list_all(
    connected: list[_Source],
    spec: ResourceSpec,
    regions: str | Sequence[str] | None,
    params: Mapping[str, Any],
    workers: int,
) -> list[_Outcome]:
    """One list per (source, region), concurrently, in the order given."""
    tasks: list[tuple[_Source, str | None]] = []
    outcomes: list[_Outcome] = []
    asked = regions if isinstance(regions, str) and regions != "all" else None
    for source in connected:
        if source.session is None:
            outcomes.append(_Outcome(source.label, asked, None, source.error, source.seconds))
            continue
        tasks += [(source, reg) for reg in _regions_for(source.session, regions, spec.service_type)]

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

    if tasks:
        with ThreadPoolExecutor(
            max_workers=min(workers, len(tasks)), thread_name_prefix="cpexplore-gather"
        ) as pool:
            outcomes += pool.map(run, tasks)
    order = {source.label: i for i, source in enumerate(connected)}
    return sorted(outcomes, key=lambda o: order[o.label])


def _gathered(outcomes: list[_Outcome], keyword: str) -> Gathered:
    """The outcomes as one frame with provenance first, an errors table and a sources table."""
    frames, infos = [], []
    for o in outcomes:
        if o.frame is not None and len(o.frame):
            frames.append(_provenance(o.frame, o.label, o.region, keyword))
        if o.frame is not None:
            infos.append(replace(list_info(o.frame), source=o.label))
    frame = concat_frames(frames) if frames else pd.DataFrame(columns=list(PROVENANCE))
    for c in PROVENANCE:
        if c in frame.columns:
            frame[c] = frame[c].astype("category")
    if infos:
        with_info(frame, combined_info(infos, len(frame)))
    failed = [o for o in outcomes if o.error is not None]
    errors = [
        {"source": o.label, "region": o.region, "error": type(o.error).__name__,
         "message": one_line(o.error)}
        for o in failed
    ]  # fmt: skip
    asked = [
        {"source": o.label, "region": o.region, "rows": 0 if o.frame is None else len(o.frame),
         "seconds": round(o.seconds, 3), "ok": o.error is None,
         "error": None if o.error is None else type(o.error).__name__}
        for o in outcomes
    ]  # fmt: skip
    return Gathered(
        frame=frame,
        errors=pd.DataFrame(errors, columns=_ERROR_COLUMNS),
        sources=pd.DataFrame(asked, columns=_SOURCE_COLUMNS),
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
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return out


def listing_regions(
    session: Session, service_type: str, *, interface: str | None = None
) -> list[str]:
    """The catalog regions to list ``service_type`` in so that every endpoint is asked once:
    those with an ``interface`` endpoint, in ``session.regions`` order, less any whose URL
    an earlier one has (usually a ``region-zone`` entry). The one rule for "list across
    regions" (:func:`gather`, the inventory explorer).

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
    if regions == "all":
        return [*listing_regions(session, service_type)] or [None]
    return [regions] if isinstance(regions, str) else list(dict.fromkeys(regions))
