"""cpexplore: explore a Cloudpods cloud as pandas DataFrames.

>>> import cpexplore                       # doctest: +SKIP
>>> s = cpexplore.connect()                # OS_* variables, like climc  # doctest: +SKIP
>>> s.list("servers", scope="system")                       # doctest: +SKIP
"""

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    ApiError,
    AuthError,
    ConfigError,
    CpExploreError,
    EndpointNotFound,
    ExportError,
    Forbidden,
    MissingColumns,
    NotFound,
    ProtocolError,
    TransportError,
    UnknownResource,
)
from .gather import Gathered, gather  # noqa: E402
from .session import Session, connect  # noqa: E402

__all__ = [
    "Session",
    "connect",
    "gather",
    "Gathered",
    "CpExploreError",
    "ConfigError",
    "AuthError",
    "EndpointNotFound",
    "UnknownResource",
    "ApiError",
    "Forbidden",
    "NotFound",
    "ProtocolError",
    "TransportError",
    "ExportError",
    "MissingColumns",
    "__version__",
]
