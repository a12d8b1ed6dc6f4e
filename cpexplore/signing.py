"""AK/SK signing and login bodies for the Cloudpods keystone: pure functions, no HTTP.

Byte for byte what Cloudpods' Go client (``mcclient``) builds to log in, checked against
its vectors. :func:`aksk_auth_body` is the JSON text ``AuthenticateByAccessKey`` POSTs to
``<auth_url>/auth/tokens``: it signs a throwaway request AWS-SigV4 style (:func:`signv4`,
region ``cn-beijing``, service ``s3``) and sends the string-to-sign, the signature and the
signing parameters inside the body; no signing header goes on the wire. The body is a
bearer credential, valid as long as the key is: don't log it.
:func:`verify_access_key_secret` is keystone's side, for the sandbox.

Example:
    >>> import json
    >>> from datetime import datetime, timezone
    >>> secret = "OGVmTXNKQWpBWHpUejZTWDNKcndSdXlHQUNFeXhLVWI="
    >>> body = aksk_auth_body(
    ...     "https://10.211.55.9:30500/v3",
    ...     "ba92f912922044268d4ad1dc70aafe57",
    ...     secret,
    ...     now=datetime(2022, 2, 20, 17, 29, 31, tzinfo=timezone.utc),
    ... )
    >>> blob = decode_access_key_secret(json.loads(body)["auth"]["identity"]["access_key_secret"])
    >>> blob["signature"]
    '4c92b91266168fc650fec9303a9dc3309f12d0fe66c5b0a605082e0260c70ce2'
    >>> verify_access_key_secret(blob, secret)
    True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlsplit

__all__ = [
    "AKSK_SIGNED_HEADERS",
    "ALGORITHM",
    "DEFAULT_LOCATION",
    "access_key_secret_blob",
    "aksk_auth_body",
    "aksk_auth_details",
    "canonical_request",
    "decode_access_key_secret",
    "join_url",
    "jsonutils_dumps",
    "password_auth_body",
    "sign",
    "signing_key",
    "signv4",
    "string_to_sign",
    "token_auth_body",
    "verify_access_key_secret",
]

ALGORITHM = "AWS4-HMAC-SHA256"
"""The only signing algorithm implemented (keystone also knows V2 ``AWS``; mcclient never uses it)."""

DEFAULT_LOCATION = "cn-beijing"
"""The region that ``AuthenticateByAccessKey`` hard-codes into every AK/SK signature."""

AKSK_SIGNED_HEADERS = ("date", "host", "x-amz-content-sha256", "x-amz-date")
"""The signed header list of every AK/SK login (the throwaway request has no headers of its own)."""

_SERVICE = "s3"
_TERMINATOR = "aws4_request"
_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_IGNORED_HEADERS = frozenset({"authorization", "content-type", "content-length", "user-agent"})
_SET_BY_SIGNER = frozenset({"authorization", "date", "x-amz-date", "x-amz-content-sha256"})
_VERSION_SEGMENT = re.compile(r"v[0-9]+\.?[0-9]*")
_UNRESERVED_PATH_CHARS = frozenset(string.ascii_letters + string.digits + "-_.~/")
# Go's unicode.IsSpace, which strings.Fields uses (Python's str.split() also splits on \x1c-\x1f).
_GO_SPACES = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HEADER_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SIGN_DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


# --------------------------------------------------------------------------- JSON and URLs


def jsonutils_dumps(obj: Any) -> str:
    """Serialise like Cloudpods' jsonutils: sorted keys, no whitespace, ``/`` and non-ASCII raw.

    >>> jsonutils_dumps({"b": "a/é", "a": [1, "x\\ny"]})
    '{"a":[1,"x\\\\ny"],"b":"a/é"}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def join_url(base: str, path: str) -> str:
    """Join a service base URL and a request path as mcclient's ``joinUrl`` does.

    A last segment of ``base`` (trailing ``/`` ignored) that is a version (``v3``, ``v1.0``;
    never ``latest``, as Go's ``SplitVersionedURL``) is dropped when ``path`` starts with
    ``/<that version>/``. Otherwise it is ``base + path``: a trailing slash gives ``//``.

    >>> join_url("https://h:30292/v1", "/v1/images")
    'https://h:30292/v1/images'
    >>> join_url("https://h:30500/v3", "/auth/tokens")
    'https://h:30500/v3/auth/tokens'
    >>> join_url("https://h:30500/v3/", "/auth/tokens")
    'https://h:30500/v3//auth/tokens'
    """
    head, slash, segment = base.rstrip("/").rpartition("/")
    if slash and _VERSION_SEGMENT.match(segment) and path.startswith(f"/{segment}/"):
        return head + path
    return base + path


# --------------------------------------------------------------------------- SigV4 pieces


def canonical_request(
    method: str,
    url: str,
    headers: Mapping[str, str | Sequence[str]] | None = None,
    signed_headers: Sequence[str] | None = None,
) -> str:
    """Build the SigV4 canonical request of a request, as Cloudpods' ``s3auth`` does.

    A header value may be a list; the payload hash is ``X-Amz-Content-Sha256`` (else
    ``UNSIGNED-PAYLOAD``); ``signed_headers`` defaults to every header but Authorization,
    Content-Type, Content-Length and User-Agent, plus host and x-amz-content-sha256, sorted.
    The host comes from the URL (a ``Host`` header is a ``ValueError``).

    >>> print(canonical_request("GET", "https://h:8443/a b?z=1&a=%2F", {"X-Amz-Date": "x"}))
    GET
    /a%20b
    a=%2F&z=1
    host:h:8443
    x-amz-content-sha256:
    x-amz-date:x
    <BLANKLINE>
    host;x-amz-content-sha256;x-amz-date
    UNSIGNED-PAYLOAD
    """
    items = _header_items(headers)
    names = list(signed_headers) if signed_headers is not None else _signed_header_names(items)
    parts = urlsplit(url)
    host = _host_of(parts.netloc)
    lines = []
    for name in names:
        values = [_trim_all(v) for v in items.get(_canonical_header_key(name), [])]
        lines.append(f"{name}:{host if name == 'host' else ''}{','.join(values)}\n")
    payload_hash = next(iter(items.get("X-Amz-Content-Sha256", [])), "") or _UNSIGNED_PAYLOAD
    path, query = _encode_path(_path_bytes(parts.path)), _canonical_query(parts.query)
    return "\n".join([method, path, query, "".join(lines), ";".join(names), payload_hash])


def string_to_sign(canonical: str, now: datetime, location: str = DEFAULT_LOCATION) -> str:
    """Build the SigV4 string-to-sign of a canonical request signed at ``now``.

    >>> print(string_to_sign("", datetime(2024, 1, 2, 3, 4, 5)))
    AWS4-HMAC-SHA256
    20240102T030405Z
    20240102/cn-beijing/s3/aws4_request
    e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    """
    t = _utc_seconds(now)
    return "\n".join([ALGORITHM, _amz_date(t), _scope(t, location), _sha256_hex(canonical)])


def signing_key(secret: str, ymd: str, location: str = DEFAULT_LOCATION) -> bytes:
    """Derive the SigV4 signing key for a ``YYYYMMDD`` date and a region from the secret as
    given (its UTF-8 bytes, never base64-decoded).

    >>> signing_key("realtimesk", "20261126").hex()
    '0dd36a068d0c08c889799b17972d6c639b6382df1776d13a07e8a505554f2205'
    """
    key = _hmac(("AWS4" + secret).encode("utf-8"), ymd.encode("utf-8"))
    for part in (location, _SERVICE, _TERMINATOR):
        key = _hmac(key, part.encode("utf-8"))
    return key


def sign(key: bytes, string_to_sign: str) -> str:
    """Sign a string-to-sign with a signing key: lower-case hex HMAC-SHA256.

    >>> key = signing_key("realtimesk", "20261126")
    >>> sign(key, "AWS4-HMAC-SHA256\\n20261126T234436Z\\n20261126/cn-beijing/s3/aws4_request"
    ...      "\\nf7c7c6183f53fbca1b8b566b54078cc494d919c04cedf610db6b7cbd95f66070")
    '66ea8b116c29d71741f2750610639620dbb03fbf28f53b5b454f56c0f9c766dc'
    """
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def signv4(
    method: str,
    url: str,
    headers: Mapping[str, str | Sequence[str]] | None,
    body: str | bytes | None,
    access_key: str,
    secret: str,
    *,
    now: datetime,
    location: str = DEFAULT_LOCATION,
) -> dict[str, Any]:
    """Sign a request as Cloudpods' ``s3auth.SignV4`` does and return every piece.

    It sets ``X-Amz-Content-Sha256`` (of ``body``), ``X-Amz-Date``, ``Date`` (RFC 1123, zone
    ``UTC``) and ``Authorization``, replacing given values; values of one header are joined
    with ``,``. An empty access key or secret is a ``ValueError`` (Go silently skips signing).

    >>> r = signv4("GET", "https://h/x", {}, b"", "ak", "sk", now=datetime(2019, 8, 24))
    >>> r["signed_headers"]
    ['date', 'host', 'x-amz-content-sha256', 'x-amz-date']
    >>> r["signed_request_headers"]["Date"]
    'Sat, 24 Aug 2019 00:00:00 UTC'
    """
    if not access_key or not secret:
        raise ValueError("signv4 needs a non-empty access key and secret")
    t = _utc_seconds(now)
    payload = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    payload_hash = hashlib.sha256(payload).hexdigest()
    items = {k: v for k, v in _header_items(headers).items() if k.lower() not in _SET_BY_SIGNER}
    items["X-Amz-Content-Sha256"] = [payload_hash]
    items["X-Amz-Date"] = [_amz_date(t)]
    items["Date"] = [_rfc1123(t)]
    names = _signed_header_names(items)
    canonical = canonical_request(method, url, items, names)
    to_sign = string_to_sign(canonical, t, location)
    signature = sign(signing_key(secret, _ymd(t), location), to_sign)
    scope = _scope(t, location)
    authorization = (
        f"{ALGORITHM} Credential={access_key}/{scope},"
        f"SignedHeaders={';'.join(names)},Signature={signature}"
    )
    items["Authorization"] = [authorization]
    return {
        "host": _host_of(urlsplit(url).netloc),
        "payload_hash": payload_hash,
        "amz_date": _amz_date(t),
        "date": _rfc1123(t),
        "sign_date": _sign_date(t),
        "scope": scope,
        "signed_headers": names,
        "canonical_request": canonical,
        "canonical_request_sha256": _sha256_hex(canonical),
        "string_to_sign": to_sign,
        "signature": signature,
        "authorization": authorization,
        "signed_request_headers": {
            k: (v[0] if len(v) == 1 else list(v)) for k, v in sorted(items.items())
        },
    }


# --------------------------------------------------------------------------- client bodies


def aksk_auth_details(
    auth_url: str, access_key: str, secret: str, *, source: str = "cli", now: datetime | None = None
) -> dict[str, Any]:
    """Run mcclient's AK/SK login steps and return every intermediate value.

    Keys as in the test vectors; only ``final_post_body`` is sent. Every value derived from
    the secret is a credential.

    >>> d = aksk_auth_details("https://h:30500/v3", "ak", "sk", now=datetime(2024, 1, 2))
    >>> d["request_url"], d["signed_headers"][1]
    ('https://h:30500/v3/auth/tokens', 'host')
    """
    return _aksk_flow(join_url(auth_url, "/auth/tokens"), access_key, secret, source, now)


def access_key_secret_blob(
    access_key: str, secret: str, *, url: str, source: str = "cli", now: datetime | None = None
) -> str:
    """Return the ``access_key_secret`` JSON text of an AK/SK login to ``url`` (the
    ``/auth/tokens`` URL).

    >>> blob = access_key_secret_blob(
    ...     "ak", "sk", url="https://h/v3/auth/tokens", now=datetime(2024, 1, 2)
    ... )
    >>> blob[:60]
    '{"access_key":"ak","algorithm":"AWS4-HMAC-SHA256","location"'
    """
    return _aksk_flow(url, access_key, secret, source, now)["access_key_secret"]


def aksk_auth_body(
    auth_url: str, access_key: str, secret: str, *, source: str = "cli", now: datetime | None = None
) -> str:
    """Return the exact JSON text mcclient POSTs to ``<auth_url>/auth/tokens`` for AK/SK.

    ``now`` fixes the clock (naive means UTC; sub-seconds are dropped); ``context`` is left
    out when ``source`` is empty.

    >>> body = aksk_auth_body("https://h/v3", "ak", "sk", now=datetime(2024, 1, 2))
    >>> body[:60]
    '{"auth":{"context":{"source":"cli"},"identity":{"access_key_'
    """
    details = aksk_auth_details(auth_url, access_key, secret, source=source, now=now)
    return details["final_post_body"]


def password_auth_body(
    username: str,
    password: str,
    *,
    domain: str | None = None,
    domain_id: str | None = None,
    project: str | None = None,
    project_domain: str | None = None,
    project_domain_id: str | None = None,
    project_id: str | None = None,
    source: str = "cli",
) -> str:
    """Return the exact JSON text of a keystone v3 password login (mcclient ``_authV3``).

    The scope is ``project_id`` (it wins), else ``project`` (with ``project_domain`` or
    ``project_domain_id``), else none. Empty strings count as not given.

    >>> password_auth_body("bob", "pw")
    '{"auth":{"context":{"source":"cli"},"identity":{"methods":["password"],"password":{"user":{"name":"bob","password":"pw"}}}}}'
    """
    if not username or not password:
        raise ValueError("a password login needs a user name and a password")
    user: dict[str, Any] = {"name": username, "password": password}
    if domain or domain_id:
        user["domain"] = _named(domain, domain_id)
    identity = {"methods": ["password"], "password": {"user": user}}
    return _v3_body(identity, source, project, project_domain, project_id, project_domain_id)


def token_auth_body(
    token: str,
    *,
    project: str | None = None,
    project_domain: str | None = None,
    project_domain_id: str | None = None,
    project_id: str | None = None,
    source: str = "cli",
) -> str:
    """Return the exact JSON text of a keystone v3 token login, to (re-)scope a token; the
    scope rules are those of :func:`password_auth_body`.

    >>> token_auth_body("tok", project_id="p1")
    '{"auth":{"context":{"source":"cli"},"identity":{"methods":["token"],"token":{"id":"tok"}},"scope":{"project":{"id":"p1"}}}}'
    """
    if not token:
        raise ValueError("a token login needs a token")
    identity = {"methods": ["token"], "token": {"id": token}}
    return _v3_body(identity, source, project, project_domain, project_id, project_domain_id)


# --------------------------------------------------------------------------- keystone side


def decode_access_key_secret(text: str) -> dict[str, Any]:
    """Parse an ``access_key_secret`` string as keystone's ``s3auth.Decode`` does.

    Not a JSON object, or an ``algorithm`` but ``AWS4-HMAC-SHA256``: a ``ValueError``.

    >>> decode_access_key_secret('{"algorithm":"AWS4-HMAC-SHA256","access_key":"ak"}')
    {'algorithm': 'AWS4-HMAC-SHA256', 'access_key': 'ak'}
    >>> decode_access_key_secret('{"algorithm":"HMAC"}')
    Traceback (most recent call last):
    ...
    ValueError: s3auth.Decode: unsupported sign algorithm 'HMAC'
    """
    try:
        obj = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"s3auth.Decode: invalid access_key_secret JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise ValueError("s3auth.Decode: access_key_secret is not a JSON object")
    algorithm = obj.get("algorithm")
    if algorithm != ALGORITHM:
        note = " (signature V2 is not implemented)" if algorithm == "AWS" else ""
        raise ValueError(f"s3auth.Decode: unsupported sign algorithm {algorithm!r}{note}")
    return obj


def verify_access_key_secret(blob: Mapping[str, Any], secret: str) -> bool:
    """Check a decoded ``access_key_secret`` against a secret, exactly as keystone does.

    ``signature`` must equal (case-sensitively) the HMAC of ``request`` under the key of
    ``location`` and the UTC date of ``sign_date``. Nothing else is checked: no time window;
    host, path, body hash, ``signed_headers`` and ``access_key`` play no part. A missing or
    unparsable ``sign_date`` or a non-string field gives ``False``.

    >>> key = signing_key("sk", "20240102")
    >>> blob = {"location": "cn-beijing", "request": "r", "signature": sign(key, "r"),
    ...         "sign_date": "2024-01-02T23:00:00Z"}
    >>> verify_access_key_secret(blob, "sk"), verify_access_key_secret(blob, "other")
    (True, False)
    """
    sign_day = _parse_sign_date(blob.get("sign_date"))
    location = blob.get("location", "")
    request = blob.get("request", "")
    signature = blob.get("signature", "")
    if sign_day is None or not all(isinstance(v, str) for v in (location, request, signature)):
        return False
    key = signing_key(secret, _ymd(sign_day), location)
    expected = hmac.new(key, request.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- private helpers


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _utc_seconds(now: datetime | None) -> datetime:
    """Return ``now`` (default: the current time) in UTC, whole seconds; naive means UTC."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        now = now.replace(tzinfo=UTC)
    else:
        now = now.astimezone(UTC)
    return now.replace(microsecond=0)


def _ymd(t: datetime) -> str:
    return f"{t.year:04d}{t.month:02d}{t.day:02d}"


def _amz_date(t: datetime) -> str:
    return f"{_ymd(t)}T{t.hour:02d}{t.minute:02d}{t.second:02d}Z"


def _rfc1123(t: datetime) -> str:
    """Go's ``time.RFC1123`` of a UTC time: English names, zone written ``UTC``."""
    return format_datetime(t, usegmt=True).removesuffix("GMT") + "UTC"


def _sign_date(t: datetime) -> str:
    """jsonutils' time format: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T"
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}Z"
    )


def _scope(t: datetime, location: str) -> str:
    return f"{_ymd(t)}/{location}/{_SERVICE}/{_TERMINATOR}"


def _parse_sign_date(value: Any) -> datetime | None:
    """Parse a ``sign_date`` into an aware UTC datetime, or ``None`` when it can't be."""
    m = _SIGN_DATE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    zone = m.group(7)
    try:
        tz = UTC
        if zone and zone != "Z":
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            tz = timezone(-offset if zone[0] == "-" else offset)
        parsed = datetime(*(int(g) for g in m.groups()[:6]), tzinfo=tz)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _canonical_header_key(name: str) -> str:
    """Go's ``http.CanonicalHeaderKey``: ``x-amz-date`` -> ``X-Amz-Date``."""
    if not _HEADER_TOKEN.fullmatch(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _header_items(headers: Mapping[str, str | Sequence[str]] | None) -> dict[str, list[str]]:
    """Group headers by Go's canonical key, each with its list of values."""
    items: dict[str, list[str]] = {}
    for name, value in (headers or {}).items():
        key = _canonical_header_key(name)
        if key.lower() == "host":
            raise ValueError("the host is taken from the URL; don't pass a Host header")
        items.setdefault(key, []).extend([value] if isinstance(value, str) else list(value))
    return items


def _signed_header_names(items: Mapping[str, Any]) -> list[str]:
    """Go ``getSignedHeaders``: lower-case names minus the ignored ones, plus host and hash."""
    names = [k.lower() for k in items if k.lower() not in _IGNORED_HEADERS]
    for required in ("host", "x-amz-content-sha256"):
        if required not in names:
            names.append(required)
    return sorted(names)


def _trim_all(value: str) -> str:
    """Go ``signV4TrimAll``: trim and collapse whitespace runs to one space."""
    return " ".join(part for part in _GO_SPACES.split(value) if part)


def _host_of(netloc: str) -> str:
    """The URL authority as Go's ``http.NewRequest`` keeps it: no userinfo, no empty port."""
    host = netloc.rpartition("@")[2]
    if host.endswith(":") and host.rfind(":") > host.rfind("]"):
        host = host[:-1]
    return host


def _path_bytes(path: str) -> bytes:
    """The decoded path (Go ``URL.Path``); a malformed ``%`` escape is an error, as in Go."""
    if _BAD_PERCENT.search(path):
        raise ValueError(f"invalid URL escape in path {path!r}")
    return unquote_to_bytes(path)


def _go_runes(data: bytes) -> str:
    """Decode UTF-8 as Go's ``range`` over a string: each invalid byte becomes U+FFFD."""
    out, i = [], 0
    while i < len(data):
        for size in (1, 2, 3, 4):
            try:
                out.append(data[i : i + size].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            i += size
            break
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


def _encode_path(path: bytes) -> str:
    """Go ``encodePath``: keep ``A-Za-z0-9-_.~/``, percent-encode every other UTF-8 byte."""
    return "".join(
        ch if ch in _UNRESERVED_PATH_CHARS else "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        for ch in _go_runes(path)
    )


def _canonical_query(raw_query: str) -> str:
    """Go ``url.ParseQuery`` then ``Values.Encode`` with ``+`` turned into ``%20``."""
    values: dict[bytes, list[bytes]] = {}
    for piece in raw_query.split("&"):
        if not piece or ";" in piece or _BAD_PERCENT.search(piece):
            continue  # Go skips empty pieces, rejects ';' and drops malformed escapes
        key, _, value = (unquote_to_bytes(t) for t in piece.replace("+", " ").partition("="))
        values.setdefault(key, []).append(value)
    return "&".join(
        f"{quote_from_bytes(key, safe='')}={quote_from_bytes(value, safe='')}"
        for key in sorted(values)
        for value in values[key]
    )


def _aksk_flow(
    url: str, access_key: str, secret: str, source: str, now: datetime | None
) -> dict[str, Any]:
    """mcclient ``AuthenticateByAccessKey`` from the signed URL on; see :func:`aksk_auth_details`."""
    if "/" in access_key or "," in access_key:
        # mcclient parses its own Authorization header back; '/' or ',' breaks that parse.
        raise ValueError("an access key must not contain '/' or ','")
    t = _utc_seconds(now)
    seed = {"access_key": access_key, "algorithm": ALGORITHM, "location": DEFAULT_LOCATION}
    seed_blob = jsonutils_dumps(seed)
    seed_body = _v3_body({"access_key_secret": seed_blob, "methods": ["aksk"]}, source)
    signed = signv4("POST", url, {}, seed_body, access_key, secret, now=t)
    blob = jsonutils_dumps(
        {
            **seed,
            "request": signed["string_to_sign"],
            "sign_date": signed["sign_date"],
            "signature": signed["signature"],
            "signed_headers": signed["signed_headers"],
        }
    )
    final_body = _v3_body({"access_key_secret": blob, "methods": ["aksk"]}, source)
    return {
        "request_url": url,
        "host_for_signing": signed["host"],
        "location": DEFAULT_LOCATION,
        "sign_time_utc": f"{_sign_date(t)[:19]}Z",
        "seed_access_key_secret": seed_blob,
        "seed_body_hashed_not_sent": seed_body,
        "signed_request_headers_not_sent": signed["signed_request_headers"],
        "signed_headers": signed["signed_headers"],
        "canonical_request": signed["canonical_request"],
        "canonical_request_sha256": signed["canonical_request_sha256"],
        "string_to_sign": signed["string_to_sign"],
        "signature": signed["signature"],
        "access_key_secret": blob,
        "final_post_body": final_body,
        "final_post_body_sha256": _sha256_hex(final_body),
    }


def _v3_body(
    identity: dict[str, Any],
    source: str,
    project: str | None = None,
    project_domain: str | None = None,
    project_id: str | None = None,
    project_domain_id: str | None = None,
) -> str:
    """The ``{"auth": ...}`` body of a login; mcclient's AK/SK login is never scoped."""
    auth: dict[str, Any] = {"identity": identity}
    if source:
        auth["context"] = {"source": source}
    if project_id:
        auth["scope"] = {"project": {"id": project_id}}
    elif project:
        scope: dict[str, Any] = {"name": project}
        if project_domain or project_domain_id:
            scope["domain"] = _named(project_domain, project_domain_id)
        auth["scope"] = {"project": scope}
    return jsonutils_dumps({"auth": auth})


def _named(name: str | None, id_: str | None) -> dict[str, str]:
    """A keystone ``{"id": …}`` / ``{"name": …}`` reference (both when both are given)."""
    return {k: v for k, v in (("id", id_), ("name", name)) if v}
