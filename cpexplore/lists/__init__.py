"""The list pipeline: a checked request, run on an endpoint, into a typed DataFrame.

    request.py  every keyword of ``Session.list``, checked once (also the cache key)
    plan.py     what the server is asked, what cpexplore does itself
    pages.py    offset and marker paging, concurrent pages, drift, progress
    decode.py   page bytes → Arrow columns or dicts → one frame
    dtypes.py   the dtype rules, in one place
    lean.py     ``details="lean"``: joined columns rebuilt from small lists
    filters.py  the filter grammar, values, and the server's matching rules on rows
    info.py     ``ListInfo``: what a list was
    cache.py    a session's cache of lists
    run.py      the executor

Nothing here imports ``session`` or ``http``: the executor needs only an endpoint that can
``get(path, params) -> bytes``.
"""

from .info import ListInfo, list_info

__all__ = ["ListInfo", "list_info"]
