"""One record by id or name (``Session.get``), typed like a row of its list.

>>> from cpexplore.errors import ApiError
>>> e = ApiError(409, "Duplicate entry", "x", url="u")
>>> type(get_error(e, "servers", "server", "web")).__name__
'AmbiguousName'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pandas as pd

from ..errors import AmbiguousName, ApiError, Forbidden, NotFound, ProtocolError
from ..resources import ResourceSpec
from .decode import records_to_frame
from .dtypes import with_schema
from .request import check_scope, encode_query


def get_record(
    spec: ResourceSpec,
    endpoint: Any,
    id_or_name: str,
    *,
    scope: str | None = None,
    params: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
) -> pd.Series:
    """``GET <path>/<id_or_name>`` on ``endpoint`` as a Series named by the record's id.

    Query keywords are checked against what the resource takes before anything is sent;
    ``params`` go unchecked. A refusal becomes the error a person needs (see :func:`get_error`).
    """
    sent: dict[str, Any] = {"scope": check_scope(scope)} if scope else {}
    sent.update(encode_query(spec, query, params))
    try:
        body = endpoint.get_json(f"{spec.path}/{quote(str(id_or_name), safe='')}", sent or None)
    except ApiError as e:
        error = get_error(e, spec.name, spec.keyword, str(id_or_name))
        if error is e:
            raise
        raise error from e
    rec = body.get(spec.keyword) if isinstance(body, dict) else None
    if not isinstance(rec, dict):
        raise ProtocolError(
            f"the answer for {spec.keyword} {id_or_name!r} has no {spec.keyword!r} object",
            hint="check the resource name and the service URL",
        )
    row = with_schema(records_to_frame([rec]), spec.schema_fields(True)).iloc[0]
    return row.astype(object).rename(rec.get("id", id_or_name))


def get_error(e: ApiError, plural: str, keyword: str, id_or_name: str) -> ApiError:
    """A refused get as the error a person needs (what exists, which scope, the id)."""
    if isinstance(e, NotFound):
        hint = f"list them with session.list({plural!r}) to see what exists"
        return NotFound(e.status, e.error_class, e.details, url=e.url, hint=hint)
    if isinstance(e, Forbidden):
        m = re.search(r"require:(\w+),allow:(\w+)", e.details or "")
        hint = (
            f"the {keyword} belongs to a project your token cannot read ({m.group(2)} rights, "
            f"{m.group(1)} needed); log in to its project, or as a user with {m.group(1)} rights"
            if m and m.group(2) != "none"
            else "your token is not allowed to read it; log in again or ask an admin for a role"
        )
        return Forbidden(e.status, e.error_class, e.details, url=e.url, hint=hint)
    if e.error_class.lower() != "duplicate entry":
        return e
    return AmbiguousName(
        e.status,
        e.error_class,
        f"several {plural} are named {id_or_name!r}",
        url=e.url,
        hint=f"use the id: session.list({plural!r}, scope='max', "
        f"filters=\"name.equals('{id_or_name}')\") lists the ones you may see",
    )
