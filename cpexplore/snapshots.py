"""Snapshots of the inventory over time, and what changed between two of them.

:func:`snapshot` stores resources as Parquet under a timestamped id, :func:`snapshots` lists
a store, :func:`load_snapshot` reads one resource back typed (from the column kinds of the
manifest), :func:`history` queries every snapshot at once with DuckDB (old gzip CSV
snapshots too), and :func:`diff` / :func:`diff_snapshots` say what was added, removed and
changed. Files are written with :mod:`cpexplore.files`, as the reports are.

Example:
    >>> old = pd.DataFrame({"id": ["a", "b"], "status": ["running", "ready"]})
    >>> new = pd.DataFrame({"id": ["b", "c"], "status": ["running", "ready"]})
    >>> diff(old, new)
    Diff(key='id', added=1, removed=1, changed=1 rows / 1 cells)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ConfigError, CpExploreError, ExportError
from .files import (
    atomic_write,
    column_kind,
    export_error,
    is_missing,
    iso_utc,
    json_dumps,
    make_dir,
    restore_kinds,
    session_meta,
    to_csv,
)
from .summaries import require_columns

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

__all__ = [
    "snapshot",
    "store_snapshot",
    "snapshots",
    "load_snapshot",
    "history",
    "attach_history",
    "diff",
    "diff_snapshots",
    "Diff",
]

_MANIFEST = "manifest.json"
_FORMATS = ("csv", "parquet")


# --------------------------------------------------------------------------- storing


def _storable(df: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """The frame with JSON columns as text and mixed object columns as strings (for Parquet)."""
    out = {}
    for c in df.columns:
        k, s = kinds[c], df[c]
        if k in ("json", "string"):
            text = json_dumps if k == "json" else str
            out[c] = s.map(lambda v, text=text: None if is_missing(v) else text(v))
        elif k == "datetime" and s.dtype == object:
            out[c] = pd.to_datetime(s, utc=True)
        else:
            out[c] = s
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _new_snapshot_id(store: Path, when: datetime | None = None) -> str:
    now = (when or datetime.now(UTC)).astimezone(UTC)
    for _ in range(1000):
        sid = now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}Z"
        if not (store / sid).exists():
            return sid
        now = now.fromtimestamp(now.timestamp() + 0.001, UTC)
    raise ExportError(f"could not find a free snapshot id in {store}", hint="try again")


def snapshot(
    session: Session,
    store_dir: str | os.PathLike[str],
    resources: Sequence[str] = ("servers", "hosts"),
    *,
    scope: str | None = "max",
    region: str | None = None,
    format: str | None = None,
    progress: bool | None = None,
) -> Path:
    """Store the current ``resources`` under a new timestamped id in ``store_dir``.

    Each resource is a ``NAME.parquet`` (``format="csv"``: gzip CSV, as older stores have);
    ``manifest.json`` records when, where (cloud, region, project — never a credential) and
    each column's type. The snapshot folder appears atomically; its name is the id.

    >>> snapshot(s, "snapshots").name                          # doctest: +SKIP
    '20261127T101500.123Z'
    """
    fmt = _check_format(format)
    meta = {**session_meta(session, region), "scope": scope}
    kw = {"scope": scope, "region": region, "refresh": True, "progress": progress}
    frames = {name: session.list(name, **kw) for name in resources}
    return store_snapshot(store_dir, frames, meta=meta, format=fmt)


def _check_format(format: str | None) -> str:
    fmt = format or "parquet"
    if fmt not in _FORMATS:
        raise ConfigError(
            f"unknown snapshot format {format!r}",
            hint="use format='csv' or format='parquet', or leave it out for the default",
        )
    return fmt


def store_snapshot(
    store_dir: str | os.PathLike[str],
    frames: Mapping[str, pd.DataFrame],
    *,
    taken_at: datetime | None = None,
    meta: Mapping[str, Any] | None = None,
    format: str | None = None,
) -> Path:
    """Store ``frames`` (resource → DataFrame) as one snapshot, taken ``taken_at`` (now by
    default); :func:`snapshot` does it for a live session. Returns the snapshot's folder.

    >>> store_snapshot("snaps", {"servers": df}, taken_at=datetime(2026, 1, 1, tzinfo=UTC))  # doctest: +SKIP
    """
    fmt = _check_format(format)
    store = make_dir(store_dir)
    sid = _new_snapshot_id(store, taken_at)
    tmp = store / f".tmp-{sid}-{secrets.token_hex(3)}"
    try:
        tmp.mkdir()
        taken = iso_utc(datetime.strptime(sid, "%Y%m%dT%H%M%S.%fZ"))
        manifest = {"id": sid, "taken_at": taken, "format": fmt, **(meta or {}), "resources": {}}
        for name, frame in frames.items():
            kinds = {str(c): column_kind(frame[c]) for c in frame.columns}
            frame = frame.rename(columns=str)
            fname = f"{name}.parquet" if fmt == "parquet" else f"{name}.csv.gz"
            if fmt == "parquet":
                stored = _storable(frame, kinds)
                atomic_write(tmp / fname, lambda fh, df=stored: df.to_parquet(fh, index=False))
            else:
                to_csv(frame, tmp / fname, escape_formulas=False, index=False)
            manifest["resources"][name] = {"file": fname, "rows": len(frame), "columns": kinds}
        text = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        atomic_write(tmp / _MANIFEST, lambda fh: fh.write(text))
        os.rename(tmp, store / sid)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, CpExploreError):
            raise export_error(e, store / sid) from e
        raise
    return store / sid


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def snapshots(store_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """What ``store_dir`` holds: one row per snapshot, oldest first.

    Columns: ``id``, ``taken_at`` (UTC), ``format``, ``cloud``, ``region``, ``project``,
    ``resources`` (names), ``rows`` (name → row count), ``path``. A missing store is
    empty, not an error.

    >>> snapshots("snapshots")[["id", "taken_at", "rows"]]      # doctest: +SKIP
    """
    store = Path(store_dir).expanduser()
    rows = []
    for folder in sorted(store.iterdir()) if store.is_dir() else []:
        m = _read_manifest(folder) if folder.is_dir() and not folder.name.startswith(".") else None
        if m is None:
            continue
        res = m.get("resources") or {}
        rows.append(
            {
                "id": folder.name,
                "taken_at": pd.Timestamp(m.get("taken_at")),
                **{k: m.get(k) for k in ("format", "cloud", "region", "project")},
                "resources": list(res),
                "rows": {k: v.get("rows") for k, v in res.items()},
                "path": folder,
            }
        )
    cols = ["id", "taken_at", "format", "cloud", "region", "project", "resources", "rows", "path"]
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df["taken_at"] = pd.to_datetime(df["taken_at"], utc=True)
        df = df.sort_values(["taken_at", "id"], kind="stable", ignore_index=True)
    return df


def _resolve_snapshot(store: Path, ref: str | None, known: pd.DataFrame, *, default: int) -> str:
    ids = list(known["id"])
    if not ids:
        raise CpExploreError(
            f"no snapshots in {store}",
            hint=f"take one with: cpexplore snapshot --store {store}",
        )
    if ref is None:
        if len(ids) < abs(default):
            raise CpExploreError(
                f"a diff needs two snapshots and {store} has {len(ids)} ({', '.join(ids)})",
                hint=f"take another with: cpexplore snapshot --store {store}",
            )
        return ids[default]
    if ref in ids:
        return ref
    matches = [i for i in ids if i.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    what = "is ambiguous" if matches else "does not exist"
    raise CpExploreError(
        f"snapshot {ref!r} {what} in {store}",
        hint=f"give a full id or a unique prefix; the latest are {', '.join(ids[-5:])}",
    )


def load_snapshot(
    store_dir: str | os.PathLike[str], snapshot_id: str | None = None, resource: str = "servers"
) -> pd.DataFrame:
    """One resource of a stored snapshot as a typed DataFrame (the latest snapshot by default).

    ``snapshot_id`` may be a unique prefix. ``df.attrs`` holds the manifest facts.

    >>> load_snapshot("snapshots", resource="hosts").shape      # doctest: +SKIP
    """
    store = Path(store_dir).expanduser()
    sid = _resolve_snapshot(store, snapshot_id, snapshots(store), default=-1)
    m = _read_manifest(store / sid) or {}
    held = m.get("resources") or {}
    res = held.get(resource)
    if res is None:
        raise CpExploreError(
            f"snapshot {sid} has no {resource!r}; it holds {', '.join(held) or 'nothing'}",
            hint="take a snapshot with that resource, e.g. resources=('servers', 'hosts')",
        )
    path = store / sid / res["file"]
    if path.suffix == ".parquet":
        raw = pd.read_parquet(path)
    else:
        raw = pd.read_csv(path, dtype=object, keep_default_na=False, na_values=[""])
    df = restore_kinds(raw, res.get("columns") or {})
    df.attrs.update(
        {k: v for k, v in m.items() if k != "resources"}, resource=resource, snapshot=sid
    )
    return df


# --------------------------------------------------------------------------- diff


def _canon(value: Any) -> Any:
    """A comparable form of a cell: equal for the same data read back from CSV or Parquet."""
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return int(f) if f.is_integer() else f
    if isinstance(value, pd.Timestamp | datetime):
        return iso_utc(value)
    if isinstance(value, dict | list | tuple | np.ndarray):
        return json_dumps(value, sort_keys=True)
    return str(value)


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise "unchanged" for two aligned columns, missing == missing."""
    if a.dtype == b.dtype and not isinstance(a.dtype, pd.CategoricalDtype) and a.dtype != object:
        try:
            eq = (a.to_numpy() == b.to_numpy()) | (a.isna().to_numpy() & b.isna().to_numpy())
            return np.asarray(eq, dtype=bool)
        except (TypeError, ValueError):
            pass
    canon = ([_canon(v) for v in s.to_numpy(dtype=object)] for s in (a, b))
    return np.array([x == y for x, y in zip(*canon, strict=True)], dtype=bool)


@dataclass(frozen=True)
class Diff:
    """What changed between two frames of the same resource (see :func:`diff`).

    ``added``/``removed``: the rows only in the new / old frame; ``changed``: one row per
    changed cell (the key, ``name`` when the frames have one, ``column``, ``old``, ``new``).
    """

    key: str
    added: pd.DataFrame
    removed: pd.DataFrame
    changed: pd.DataFrame
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    old_id: str | None = None
    new_id: str | None = None

    @property
    def changed_keys(self) -> list[Any]:
        """Keys of the rows with at least one changed cell, in the new frame's order."""
        return list(dict.fromkeys(self.changed[self.key].tolist()))

    @property
    def empty(self) -> bool:
        return not (len(self.added) or len(self.removed) or len(self.changed))

    def __bool__(self) -> bool:
        return not self.empty

    def summary(self) -> pd.DataFrame:
        """Counts: rows added, removed and changed, and cells changed."""
        return pd.DataFrame(
            {
                "change": ["added", "removed", "changed"],
                "rows": [len(self.added), len(self.removed), len(self.changed_keys)],
                "cells": [None, None, len(self.changed)],
            }
        ).astype({"cells": "Int64"})

    def to_frame(self, columns: Sequence[str] = ("name",)) -> pd.DataFrame:
        """One long table: ``change``, key, ``name``, ``column``, ``old``, ``new``; a row for
        each added or removed row (``column`` empty) and each changed cell."""
        extra = [c for c in columns if c != self.key]
        parts = []
        for change, rows in (("added", self.added), ("removed", self.removed)):
            if len(rows):
                part = pd.DataFrame({"change": change, self.key: rows[self.key].to_numpy()})
                for c in extra:
                    part[c] = rows[c].to_numpy() if c in rows.columns else None
                parts.append(part)
        if len(self.changed):
            parts.append(self.changed.assign(change="changed"))
        cols = ["change", self.key, *extra, "column", "old", "new"]
        if not parts:
            return pd.DataFrame(columns=cols)
        return pd.concat(parts, ignore_index=True).reindex(columns=cols)

    def __repr__(self) -> str:
        return (
            f"Diff(key={self.key!r}, added={len(self.added)}, removed={len(self.removed)}, "
            f"changed={len(self.changed_keys)} rows / {len(self.changed)} cells)"
        )


def _keys(df: pd.DataFrame, key: str, which: str) -> pd.Index:
    require_columns(df, [key], f"diff ({which} frame)", hint="choose a key column both frames have")
    keys = pd.Index([_canon(v) for v in df[key].to_numpy(dtype=object)], dtype=object)
    if keys.hasnans:
        raise CpExploreError(
            f"the {which} frame has rows without a {key!r}", hint="drop them or choose another key"
        )
    if not keys.is_unique:
        dupes = keys[keys.duplicated()].unique()[:3].tolist()
        raise CpExploreError(
            f"{key!r} is not unique in the {which} frame (e.g. {', '.join(map(str, dupes))})",
            hint="choose a unique key column, e.g. key='id'",
        )
    return keys


def diff(
    old: pd.DataFrame,
    new: pd.DataFrame,
    key: str = "id",
    *,
    ignore: Iterable[str] = (),
    columns: Iterable[str] | None = None,
) -> Diff:
    """Rows added, removed and changed from ``old`` to ``new``, matched on ``key``.

    For changed rows, :attr:`Diff.changed` says which columns changed from what to what.
    Values are compared as data, not as dtypes: ``int8`` 3 equals ``Int64`` 3, a list
    equals its JSON read back, a timestamp equals its ISO text. Only columns present in
    both frames are compared (``columns=`` narrows them, ``ignore=`` drops some).

    >>> d = diff(pd.DataFrame({"id": ["a", "b"], "status": ["running", "ready"]}),
    ...          pd.DataFrame({"id": ["b", "c"], "status": ["running", "ready"]}))
    >>> d.changed
      id  column    old      new
    0  b  status  ready  running
    """
    ko, kn = _keys(old, key, "old"), _keys(new, key, "new")
    in_old, in_new = kn.isin(ko), ko.isin(kn)
    skip = set(ignore) | {key}
    common = [c for c in new.columns if c in set(old.columns) and c not in skip]
    if columns is not None:
        wanted = list(columns)
        common = [c for c in common if c in wanted]
    ni = np.flatnonzero(in_old)
    oi = ko.get_indexer(kn[ni])
    heads = [new[key].to_numpy(dtype=object)[ni]]  # per changed row: its key (and name)
    if "name" in new.columns and key != "name":
        heads.append(new["name"].to_numpy(dtype=object)[ni])
    records = []  # (row, column index, key, [name,] column, old, new)
    for ci, c in enumerate(common):
        a = old[c].iloc[oi].reset_index(drop=True)
        b = new[c].iloc[ni].reset_index(drop=True)
        if a.dtype == b.dtype and a.equals(b):
            continue
        av, bv = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
        for j in np.flatnonzero(~_same(a, b)):
            cells = (None if is_missing(v) else v for v in (av[j], bv[j]))
            records.append((j, ci, *(h[j] for h in heads), c, *cells))
    records.sort(key=lambda r: r[:2])
    names = [key, "name"][: len(heads)]
    return Diff(
        key=key,
        added=new.loc[~in_old].reset_index(drop=True),
        removed=old.loc[~in_new].reset_index(drop=True),
        changed=pd.DataFrame(
            [r[2:] for r in records], columns=[*names, "column", "old", "new"], dtype=object
        ),
        columns_added=[str(c) for c in new.columns if c not in set(old.columns)],
        columns_removed=[str(c) for c in old.columns if c not in set(new.columns)],
    )


def diff_snapshots(
    store_dir: str | os.PathLike[str],
    old: str | None = None,
    new: str | None = None,
    *,
    resources: Iterable[str] | None = None,
    key: str = "id",
    ignore: Iterable[str] = (),
) -> dict[str, Diff]:
    """Diff two stored snapshots, resource by resource (the latest two by default).

    ``old``/``new`` are ids or unique prefixes; with only ``old`` the new one is the latest.

    >>> for name, d in diff_snapshots("snapshots").items():     # doctest: +SKIP
    ...     print(name, d)
    """
    store = Path(store_dir).expanduser()
    known = snapshots(store)
    new_id = _resolve_snapshot(store, new, known, default=-1)
    old_id = _resolve_snapshot(store, old, known, default=-2)  # given an old, -2 is not used
    held = known.set_index("id")["resources"]
    shared = [r for r in held[new_id] if r in set(held[old_id])]
    names = shared
    if resources is not None:
        wanted = list(resources)
        names = [r for r in wanted if r in shared]
        if not names:
            raise CpExploreError(
                f"snapshots {old_id} and {new_id} do not both hold {', '.join(wanted)}",
                hint=f"they share: {', '.join(shared) or 'nothing'}",
            )
    out = {}
    for name in names:
        a = load_snapshot(store, old_id, name)
        b = load_snapshot(store, new_id, name)
        out[name] = replace(diff(a, b, key=key, ignore=ignore), old_id=old_id, new_id=new_id)
    return out


# --------------------------------------------------------------------------- history

# how a column kind of the manifest is typed when a CSV snapshot is read by DuckDB
_DUCK_TYPES = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "datetime": "TIMESTAMPTZ"}


def history(store_dir: str | os.PathLike[str]) -> Any:
    """A DuckDB connection whose ``history`` schema holds, for each resource, every row of
    every snapshot in the store, with ``snapshot_id`` and ``snapshot_at`` columns.

    Nothing is loaded into memory: DuckDB reads the files as a query needs them (as Spark or
    Polars can: ``<store>/*/servers.parquet``).

    >>> con = history("snapshots")                                            # doctest: +SKIP
    >>> con.sql("SELECT snapshot_at::date AS day, status, count(*) AS n "
    ...         "FROM history.servers GROUP BY ALL ORDER BY ALL").df()        # doctest: +SKIP
    """
    import duckdb

    con = duckdb.connect()
    try:
        attach_history(con, store_dir)
    except BaseException:
        con.close()
        raise
    return con


def attach_history(con: Any, store_dir: str | os.PathLike[str]) -> None:
    """Create the ``history.<resource>`` views of ``store_dir`` on a DuckDB connection."""
    store = Path(store_dir).expanduser()
    known = snapshots(store)
    if known.empty:
        raise CpExploreError(
            f"no snapshots in {store}",
            hint=f"take some with: cpexplore snapshot --store {store}",
        )
    parquet: dict[str, list[tuple[str, str, str]]] = {}  # resource → (file, id, time) as SQL
    csv: dict[str, list[str]] = {}  # resource → one SELECT per gzip CSV file
    for sid, taken, folder in zip(known["id"], known["taken_at"], known["path"], strict=True):
        at, sid_text = _sql_text(iso_utc(taken)), _sql_text(sid)
        for name, res in ((_read_manifest(folder) or {}).get("resources") or {}).items():
            path = folder / res["file"]
            parquet.setdefault(name, [])
            csv.setdefault(name, [])
            if path.suffix == ".parquet":
                parquet[name].append((_sql_text(str(path)), sid_text, at))
                continue
            columns = ", ".join(
                f"TRY_CAST({_sql_ident(c)} AS {_DUCK_TYPES.get(k, 'VARCHAR')}) AS {_sql_ident(c)}"
                for c, k in (res.get("columns") or {}).items()
            )
            csv[name].append(
                f"SELECT {sid_text} AS snapshot_id, {at}::TIMESTAMPTZ AS snapshot_at, {columns} "
                f"FROM read_csv({_sql_text(str(path))}, header = true, all_varchar = true, "
                "compression = 'gzip')"
            )
    con.execute("CREATE SCHEMA IF NOT EXISTS history")
    for name, selects in csv.items():
        if parquet[name]:
            files = ", ".join(file for file, _, _ in parquet[name])
            rows = ", ".join(f"({', '.join(item)})" for item in parquet[name])
            selects.insert(
                0,
                "SELECT s.snapshot_id, s.snapshot_at::TIMESTAMPTZ AS snapshot_at, "
                "p.* EXCLUDE (filename) "
                f"FROM read_parquet([{files}], union_by_name = true, filename = true) p "
                f"JOIN (VALUES {rows}) s(file, snapshot_id, snapshot_at) ON p.filename = s.file",
            )
        view = " UNION ALL BY NAME ".join(selects)
        con.execute(f"CREATE OR REPLACE VIEW history.{_sql_ident(name)} AS {view}")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'
