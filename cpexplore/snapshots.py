"""Snapshots of the inventory over time, and what changed between two of them.

* :func:`snapshot` stores servers and hosts as Parquet (one folder per snapshot, under a
  timestamped id); :func:`snapshots` lists a store, and :func:`load_snapshot` reads one
  resource back as a typed DataFrame.
* :func:`history` reads every snapshot of a store at once with DuckDB, without loading
  them into pandas: ``history(store).sql("SELECT snapshot_at::date AS day, status,
  count(*) FROM history.servers GROUP BY ALL")``. Old gzip CSV snapshots are read too,
  typed from their manifests.
* :func:`diff` says what was added, removed and changed between two frames of one
  resource; :func:`diff_snapshots` does it for two stored snapshots.

Files are written with :mod:`cpexplore.files`, as the reports are (atomically, UTF-8,
ISO-8601 ``Z`` timestamps), and read back with the same typing as
:func:`cpexplore.files.read_csv`, from the column kinds the manifest records. These names
are also importable from :mod:`cpexplore.reports`.

Example:
    >>> old = pd.DataFrame({"id": ["a", "b"], "status": ["running", "ready"]})
    >>> new = pd.DataFrame({"id": ["b", "c"], "status": ["running", "ready"]})
    >>> diff(old, new)
    Diff(key='id', added=1, removed=1, changed=1 rows / 1 cells)
"""

from __future__ import annotations

import io
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
        k = kinds[c]
        s = df[c]
        if k == "json":
            out[c] = s.map(lambda v: None if is_missing(v) else json_dumps(v))
        elif k == "string":
            out[c] = s.map(
                lambda v: None if is_missing(v) else (v if isinstance(v, str) else str(v))
            )
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

    Each resource is a ``NAME.parquet`` (``format="csv"`` writes gzip CSV, as stores made
    before Parquet have). ``manifest.json`` records when, where (cloud, region, project —
    never a credential) and each column's type, so :func:`load_snapshot` gives back typed
    frames and :func:`history` reads every snapshot at once. The snapshot folder appears
    atomically. Returns its path; its name (e.g. ``20261127T101500.123Z``) is the id.

    >>> snapshot(s, "snapshots").name                          # doctest: +SKIP
    '20261127T101500.123Z'
    """
    fmt = _check_format(format)
    meta = {**session_meta(session, region), "scope": scope}
    frames = {}
    for name in resources:
        kw = {"scope": scope, "region": region, "refresh": True, "progress": progress}
        frames[name] = session.list(name, **kw)
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
    except OSError as e:
        raise export_error(e, store / sid) from e
    try:
        manifest: dict[str, Any] = {
            "id": sid,
            "taken_at": iso_utc(
                pd.Timestamp(datetime.strptime(sid, "%Y%m%dT%H%M%S.%fZ"), tz="UTC")
            ),
            "format": fmt,
            **(meta or {}),
            "resources": {},
        }
        for name, frame in frames.items():
            kinds = {str(c): column_kind(frame[c]) for c in frame.columns}
            frame = frame.rename(columns=str)
            if fmt == "parquet":
                fname = f"{name}.parquet"
                stored = _storable(frame, kinds)
                buf = io.BytesIO()
                stored.to_parquet(buf, index=False)
                data = buf.getvalue()
                atomic_write(tmp / fname, lambda fh, d=data: fh.write(d))
            else:
                fname = f"{name}.csv.gz"
                to_csv(frame, tmp / fname, escape_formulas=False, index=False)
            manifest["resources"][name] = {"file": fname, "rows": len(frame), "columns": kinds}
        text = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        atomic_write(tmp / _MANIFEST, lambda fh: fh.write(text))
        final = store / sid
        os.rename(tmp, final)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, CpExploreError):
            raise export_error(e, store / sid) from e
        raise
    return final


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
    cols = ["id", "taken_at", "format", "cloud", "region", "project", "resources", "rows", "path"]
    rows = []
    if store.is_dir():
        for folder in sorted(store.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            m = _read_manifest(folder)
            if m is None:
                continue
            res = m.get("resources") or {}
            rows.append(
                {
                    "id": folder.name,
                    "taken_at": pd.Timestamp(m.get("taken_at")),
                    "format": m.get("format"),
                    "cloud": m.get("cloud"),
                    "region": m.get("region"),
                    "project": m.get("project"),
                    "resources": list(res),
                    "rows": {k: v.get("rows") for k, v in res.items()},
                    "path": folder,
                }
            )
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df["taken_at"] = pd.to_datetime(df["taken_at"], utc=True)
        df = df.sort_values(["taken_at", "id"], kind="stable").reset_index(drop=True)
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
    shown = ", ".join(ids[-5:])
    what = "is ambiguous" if matches else "does not exist"
    raise CpExploreError(
        f"snapshot {ref!r} {what} in {store}",
        hint=f"give a full id or a unique prefix; the latest are {shown}",
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
    folder = store / sid
    m = _read_manifest(folder) or {}
    res = (m.get("resources") or {}).get(resource)
    if res is None:
        have = ", ".join(m.get("resources") or {}) or "nothing"
        raise CpExploreError(
            f"snapshot {sid} has no {resource!r}; it holds {have}",
            hint="take a snapshot with that resource, e.g. resources=('servers', 'hosts')",
        )
    kinds = res.get("columns") or {}
    path = folder / res["file"]
    if res["file"].endswith(".parquet"):
        raw = pd.read_parquet(path)
    else:
        raw = pd.read_csv(
            path, dtype=object, keep_default_na=False, na_values=[""], encoding="utf-8"
        )
    df = restore_kinds(raw, kinds)
    df.attrs.update(
        {k: v for k, v in m.items() if k not in ("resources",)}, resource=resource, snapshot=sid
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
    return value if isinstance(value, str) else str(value)


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise "unchanged" for two aligned columns, missing == missing."""
    if a.dtype == b.dtype and not isinstance(a.dtype, pd.CategoricalDtype) and a.dtype != object:
        try:
            eq = (a.to_numpy() == b.to_numpy()) | (a.isna().to_numpy() & b.isna().to_numpy())
            return np.asarray(eq, dtype=bool)
        except (TypeError, ValueError):
            pass
    ca = [_canon(v) for v in a.to_numpy(dtype=object)]
    cb = [_canon(v) for v in b.to_numpy(dtype=object)]
    return np.fromiter((x == y for x, y in zip(ca, cb, strict=True)), dtype=bool, count=len(ca))


@dataclass(frozen=True)
class Diff:
    """What changed between two frames of the same resource (see :func:`diff`).

    ``added`` and ``removed`` are the rows only in the new / old frame; ``changed`` has
    one row per changed cell: the key, ``name`` (when the frames have one), ``column``,
    ``old`` and ``new``. ``columns_added``/``columns_removed`` list schema changes.
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
        """One long table: ``change``, key, ``name``, ``column``, ``old``, ``new``.

        Added and removed rows appear once each (``column`` empty); changed cells once each.
        """
        extra = [c for c in columns if c != self.key]
        parts = []
        for change, rows in (("added", self.added), ("removed", self.removed)):
            if len(rows):
                part = pd.DataFrame({"change": change, self.key: rows[self.key].to_numpy()})
                for c in extra:
                    part[c] = rows[c].to_numpy() if c in rows.columns else None
                parts.append(part)
        if len(self.changed):
            part = self.changed.copy()
            part.insert(0, "change", "changed")
            parts.append(part)
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

    >>> old = pd.DataFrame({"id": ["a", "b"], "status": ["running", "ready"]})
    >>> new = pd.DataFrame({"id": ["b", "c"], "status": ["running", "ready"]})
    >>> d = diff(old, new)
    >>> d
    Diff(key='id', added=1, removed=1, changed=1 rows / 1 cells)
    >>> d.changed
      id  column    old      new
    0  b  status  ready  running
    """
    ko, kn = _keys(old, key, "old"), _keys(new, key, "new")
    in_old = kn.isin(ko)
    in_new = ko.isin(kn)
    added = new.loc[~in_old].reset_index(drop=True)
    removed = old.loc[~in_new].reset_index(drop=True)
    skip = set(ignore) | {key}
    common_cols = [c for c in new.columns if c in set(old.columns) and c not in skip]
    if columns is not None:
        wanted = list(columns)
        common_cols = [c for c in common_cols if c in wanted]
    ni = np.flatnonzero(in_old)
    oi = ko.get_indexer(kn[ni])
    keys_common = new[key].to_numpy(dtype=object)[ni]
    names = (
        new["name"].to_numpy(dtype=object)[ni] if "name" in new.columns and key != "name" else None
    )
    rec_key, rec_name, rec_col, rec_old, rec_new, rec_pos = [], [], [], [], [], []
    for ci, c in enumerate(common_cols):
        a = old[c].iloc[oi].reset_index(drop=True)
        b = new[c].iloc[ni].reset_index(drop=True)
        if a.dtype == b.dtype and a.equals(b):
            continue
        changed = np.flatnonzero(~_same(a, b))
        if not len(changed):
            continue
        av, bv = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
        for j in changed:
            rec_key.append(keys_common[j])
            if names is not None:
                rec_name.append(names[j])
            rec_col.append(c)
            rec_old.append(None if is_missing(av[j]) else av[j])
            rec_new.append(None if is_missing(bv[j]) else bv[j])
            rec_pos.append((j, ci))
    order = sorted(range(len(rec_pos)), key=lambda i: rec_pos[i])
    data: dict[str, list[Any]] = {key: [rec_key[i] for i in order]}
    if names is not None:
        data["name"] = [rec_name[i] for i in order]
    data["column"] = [rec_col[i] for i in order]
    data["old"] = [rec_old[i] for i in order]
    data["new"] = [rec_new[i] for i in order]
    changed_df = pd.DataFrame(data, dtype=object)
    return Diff(
        key=key,
        added=added,
        removed=removed,
        changed=changed_df,
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
    if new is None and old is not None:
        new_id = _resolve_snapshot(store, None, known, default=-1)
        old_id = _resolve_snapshot(store, old, known, default=-1)
    else:
        new_id = _resolve_snapshot(store, new, known, default=-1)
        old_id = _resolve_snapshot(store, old, known, default=-2)
    row_old = known.loc[known["id"] == old_id].iloc[0]
    row_new = known.loc[known["id"] == new_id].iloc[0]
    names = [r for r in row_new["resources"] if r in set(row_old["resources"])]
    if resources is not None:
        wanted = list(resources)
        names = [r for r in wanted if r in names]
        if not names:
            raise CpExploreError(
                f"snapshots {old_id} and {new_id} do not both hold {', '.join(wanted)}",
                hint=f"they share: {', '.join(r for r in row_new['resources'] if r in set(row_old['resources'])) or 'nothing'}",
            )
    out = {}
    for name in names:
        a = load_snapshot(store, old_id, name)
        b = load_snapshot(store, new_id, name)
        out[name] = replace(diff(a, b, key=key, ignore=ignore), old_id=old_id, new_id=new_id)
    return out


# --------------------------------------------------------------------------- history

# how a column kind of the manifest is typed when a CSV snapshot is read by DuckDB
_DUCK_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "datetime": "TIMESTAMPTZ",
}


def history(store_dir: str | os.PathLike[str]) -> Any:
    """A DuckDB connection whose ``history`` schema holds, for each resource, every row of
    every snapshot in the store, with ``snapshot_id`` and ``snapshot_at`` columns.

    Nothing is loaded into memory: DuckDB reads the Parquet files (and old gzip CSV ones)
    as a query needs them. Spark, Polars or DuckDB elsewhere can read the same folders:
    ``<store>/*/servers.parquet``.

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
    parts: dict[str, list[tuple[str, str, Path, dict[str, str]]]] = {}
    for sid, taken, folder in zip(known["id"], known["taken_at"], known["path"], strict=True):
        m = _read_manifest(Path(folder)) or {}
        for name, res in (m.get("resources") or {}).items():
            parts.setdefault(name, []).append(
                (sid, iso_utc(taken), Path(folder) / res["file"], res.get("columns") or {})
            )
    con.execute("CREATE SCHEMA IF NOT EXISTS history")
    for name, items in parts.items():
        selects = []
        parquet = [i for i in items if i[2].suffix == ".parquet"]
        if parquet:
            rows = ", ".join(
                f"({_sql_text(str(p))}, {_sql_text(sid)}, {_sql_text(at)})"
                for sid, at, p, _ in parquet
            )
            files = ", ".join(_sql_text(str(p)) for *_, p, _ in parquet)
            selects.append(
                "SELECT s.snapshot_id, s.snapshot_at::TIMESTAMPTZ AS snapshot_at, "
                "p.* EXCLUDE (filename) "
                f"FROM read_parquet([{files}], union_by_name = true, filename = true) p "
                f"JOIN (VALUES {rows}) s(file, snapshot_id, snapshot_at) ON p.filename = s.file"
            )
        for sid, at, path, kinds in items:
            if path.suffix == ".parquet":
                continue
            columns = ", ".join(
                f"TRY_CAST({_sql_ident(c)} AS {_DUCK_TYPES.get(k, 'VARCHAR')}) AS {_sql_ident(c)}"
                for c, k in kinds.items()
            )
            selects.append(
                f"SELECT {_sql_text(sid)} AS snapshot_id, {_sql_text(at)}::TIMESTAMPTZ AS "
                f"snapshot_at, {columns} FROM read_csv({_sql_text(str(path))}, header = true, "
                "all_varchar = true, compression = 'gzip')"
            )
        view = " UNION ALL BY NAME ".join(selects)
        con.execute(f"CREATE OR REPLACE VIEW history.{_sql_ident(name)} AS {view}")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'
