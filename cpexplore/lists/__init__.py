"""The list pipeline: a checked request, run on an endpoint, into a typed DataFrame (its
modules: docs/architecture.md). Nothing here imports ``session`` or ``http``: the executor
needs only an endpoint that can ``get(path, params) -> bytes``.
"""

from .info import ListInfo, list_info

__all__ = ["ListInfo", "list_info"]
