"""cpexplore: explore a Cloudpods cloud as pandas DataFrames.

>>> import cpexplore                       # doctest: +SKIP
>>> s = cpexplore.connect()                # OS_* variables, like climc  # doctest: +SKIP
>>> s.list("servers", scope="system")                       # doctest: +SKIP
"""

from ._version import __version__
from .errors import (
    AmbiguousName,
    ApiError,
    AuthError,
    CachedResultWarning,
    ConfigError,
    ConnectError,
    CpExploreError,
    EndpointNotFound,
    ExportError,
    Forbidden,
    IgnoredSettingWarning,
    MissingColumns,
    NotFound,
    PagingDriftWarning,
    PartialResultWarning,
    ProtocolError,
    ServiceNotOffered,
    SqlError,
    TransportError,
    UnknownField,
    UnknownResource,
)
from .gather import Gathered, gather
from .lists.info import ListInfo, list_info
from .resources import custom_resource
from .session import Session, connect

__all__ = [
    "Session",
    "connect",
    "gather",
    "Gathered",
    "ListInfo",
    "custom_resource",
    "list_info",
    "CachedResultWarning",
    "PartialResultWarning",
    "PagingDriftWarning",
    "IgnoredSettingWarning",
    "CpExploreError",
    "ConfigError",
    "AuthError",
    "EndpointNotFound",
    "ServiceNotOffered",
    "UnknownResource",
    "UnknownField",
    "AmbiguousName",
    "ApiError",
    "Forbidden",
    "NotFound",
    "ProtocolError",
    "TransportError",
    "ConnectError",
    "ExportError",
    "SqlError",
    "MissingColumns",
    "__version__",
]
