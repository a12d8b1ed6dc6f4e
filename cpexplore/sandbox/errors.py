"""Error answers exactly as Cloudpods services write them.

The body is flat, ``{"class","code","details","time"}``, with ``time`` in the service's
local zone (Asia/Shanghai by default, cloudpods-api.md §8.2 D7). Errors raised deep in the list code
wrap a second JSON error inside ``details`` (D6); :func:`wrapped` builds that text.

>>> Fault(404, "ResourceNotFoundError", "server x not found").status
404
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

SERVER_TZ = timezone(timedelta(hours=8))  # --time-zone Asia/Shanghai, the service default
PRIVILEGE_FMT = "not enough privilege to do %s:%s:%s (require:%s,allow:%s,query:%s)"


class Fault(Exception):
    """An HTTP error answer: status, Cloudpods error class and details."""

    def __init__(self, status: int, error_class: str, details: str) -> None:
        super().__init__(details)
        self.status = status
        self.error_class = error_class
        self.details = details

    def body(self) -> bytes:
        time = datetime.now(SERVER_TZ).replace(microsecond=0).isoformat()
        obj = {
            "class": self.error_class,
            "code": self.status,
            "details": self.details,
            "time": time,
        }
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def wrapped(prefix: str, status: int, error_class: str, fmt: str, fields: list[str]) -> str:
    """``details`` text that wraps a JSON error, as the real list and fetch code sends it."""
    inner = {
        "error": {
            "class": error_class,
            "code": status,
            "data": {"fields": fields, "id": fmt},
            "details": fmt % tuple(fields),
        }
    }
    return (
        f"{prefix} {json.dumps(inner, sort_keys=True, separators=(',', ':'), ensure_ascii=False)}"
    )


def wrapped_fault(prefix: str, status: int, error_class: str, fmt: str, fields: list[str]) -> Fault:
    """The error answer whose ``details`` wrap the same error (see :func:`wrapped`)."""
    return Fault(status, error_class, wrapped(prefix, status, error_class, fmt, fields))


def forbidden(
    prefix: str, service: str, plural: str, action: str, require: str, allow: str, query: str
) -> Fault:
    """403 ForbiddenError for an RBAC refusal; ``allow:none`` marks a missing or bad token."""
    fields = [service, plural, action, require, allow, query]
    return Fault(
        403, "ForbiddenError", wrapped(prefix, 403, "ForbiddenError", PRIVILEGE_FMT, fields)
    )
