"""cpexplore.signing against the vectors that Cloudpods' own Go code produced.

The vectors live in ``shared/vectors/aksk_vectors.json`` beside the repository (found
from this file's location, never from a fixed path). Each AK/SK vector gives every
intermediate value of mcclient's login and keystone's verdict on the body and on
tampered copies of it.
"""

from __future__ import annotations

import doctest
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cpexplore import signing
from cpexplore.signing import (
    AKSK_SIGNED_HEADERS,
    access_key_secret_blob,
    aksk_auth_body,
    aksk_auth_details,
    canonical_request,
    decode_access_key_secret,
    join_url,
    jsonutils_dumps,
    password_auth_body,
    sign,
    signing_key,
    signv4,
    string_to_sign,
    token_auth_body,
    verify_access_key_secret,
)

SHARED = Path(__file__).resolve().parent / "data"
VECTORS = json.loads((SHARED / "vectors" / "aksk_vectors.json").read_text(encoding="utf-8"))
AKSK = VECTORS["authenticate_by_access_key"]
BODIES = VECTORS["password_token_bodies"]
GENERIC = VECTORS["generic_signv4"]

# Every field of an authenticate_by_access_key vector that aksk_auth_details reproduces.
DETAIL_FIELDS = [
    "request_url",
    "host_for_signing",
    "location",
    "sign_time_utc",
    "seed_access_key_secret",
    "seed_body_hashed_not_sent",
    "signed_request_headers_not_sent",
    "signed_headers",
    "canonical_request",
    "canonical_request_sha256",
    "string_to_sign",
    "signature",
    "access_key_secret",
    "final_post_body",
    "final_post_body_sha256",
]


def _name(vector: dict) -> str:
    return vector["name"]


def _time(text: str) -> datetime:
    """'2024-01-02T03:04:05Z' -> aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _details(vector: dict) -> dict:
    return aksk_auth_details(
        vector["auth_url"],
        vector["access_key"],
        vector["secret"],
        source=vector["source"],
        now=_time(vector["sign_time_utc"]),
    )


# --------------------------------------------------------------------------- the vector file


def test_vector_file_holds_the_documented_cases():
    assert len(AKSK) == 6
    assert len(BODIES) == 5
    assert len(GENERIC) == 2
    assert all(len(v["server_side_verification"]) == 13 for v in AKSK)


# --------------------------------------------------------------------------- AK/SK client side


@pytest.mark.parametrize(
    ("vector", "field"),
    [pytest.param(v, f, id=f"{v['name']}-{f}") for v in AKSK for f in DETAIL_FIELDS],
)
def test_aksk_login_reproduces_every_intermediate_field(vector, field):
    assert _details(vector)[field] == vector[field]


@pytest.mark.parametrize("vector", AKSK, ids=_name)
def test_aksk_body_is_the_final_post_body_byte_for_byte(vector):
    body = aksk_auth_body(
        vector["auth_url"],
        vector["access_key"],
        vector["secret"],
        source=vector["source"],
        now=_time(vector["sign_time_utc"]),
    )
    assert body.encode("utf-8") == vector["final_post_body"].encode("utf-8")
    assert hashlib.sha256(body.encode("utf-8")).hexdigest() == vector["final_post_body_sha256"]


@pytest.mark.parametrize("vector", AKSK, ids=_name)
def test_aksk_pieces_rebuild_the_signature_step_by_step(vector):
    t = _time(vector["sign_time_utc"])
    headers = vector["signed_request_headers_not_sent"]

    # Step 3: the signed URL is join_url(auth_url, "/auth/tokens").
    assert join_url(vector["auth_url"], "/auth/tokens") == vector["request_url"]
    # Step 4: the payload hash is the SHA-256 of the seed body, which is never sent.
    seed_hash = hashlib.sha256(vector["seed_body_hashed_not_sent"].encode("utf-8")).hexdigest()
    assert headers["X-Amz-Content-Sha256"] == seed_hash
    # Step 7: canonical request, from the headers with or without the signed-header list.
    assert tuple(vector["signed_headers"]) == AKSK_SIGNED_HEADERS
    assert (
        canonical_request("POST", vector["request_url"], headers, vector["signed_headers"])
        == vector["canonical_request"]
    )
    assert canonical_request("POST", vector["request_url"], headers) == vector["canonical_request"]
    assert (
        hashlib.sha256(vector["canonical_request"].encode("utf-8")).hexdigest()
        == vector["canonical_request_sha256"]
    )
    # Steps 8-11: string to sign, signing key, signature.
    assert string_to_sign(vector["canonical_request"], t) == vector["string_to_sign"]
    key = signing_key(vector["secret"], t.strftime("%Y%m%d"), vector["location"])
    assert key.hex() == vector["signing_key_hex"]
    assert sign(key, vector["string_to_sign"]) == vector["signature"]
    # Step 12: the throwaway request's headers, Authorization included.
    signed = signv4(
        "POST",
        vector["request_url"],
        {},
        vector["seed_body_hashed_not_sent"],
        vector["access_key"],
        vector["secret"],
        now=t,
    )
    assert signed["signed_request_headers"] == headers
    # Step 13: the access_key_secret blob.
    blob = access_key_secret_blob(
        vector["access_key"],
        vector["secret"],
        url=vector["request_url"],
        source=vector["source"],
        now=t,
    )
    assert blob == vector["access_key_secret"]


@pytest.mark.parametrize("vector", AKSK, ids=_name)
def test_aksk_body_holds_the_blob_as_a_json_string(vector):
    body = json.loads(vector["final_post_body"])
    assert body["auth"]["identity"] == {
        "access_key_secret": vector["access_key_secret"],
        "methods": ["aksk"],
    }
    assert "scope" not in body["auth"]
    if vector["source"]:
        assert body["auth"]["context"] == {"source": vector["source"]}
    else:
        assert "context" not in body["auth"]


def test_the_secret_is_used_as_given_not_base64_decoded():
    apigateway = next(v for v in AKSK if v["name"] == "apigateway-path")
    ymd = apigateway["sign_time_utc"][:10].replace("-", "")
    assert signing_key(apigateway["secret"], ymd).hex() == apigateway["signing_key_hex"]


# --------------------------------------------------------------------------- the 2022 climc capture

DOC_ACCESS_KEY = "ba92f912922044268d4ad1dc70aafe57"
DOC_SECRET = "OGVmTXNKQWpBWHpUejZTWDNKcndSdXlHQUNFeXhLVWI="
DOC_TIME = datetime(2022, 2, 20, 17, 29, 31, tzinfo=UTC)
DOC_AUTH_URL = "https://10.211.55.9:30500/v3"
DOC_SIGNATURE = "4c92b91266168fc650fec9303a9dc3309f12d0fe66c5b0a605082e0260c70ce2"
DOC_BODY = (
    '{"auth":{"context":{"source":"cli"},"identity":{"access_key_secret":"{\\"access_key\\":'
    '\\"ba92f912922044268d4ad1dc70aafe57\\",\\"algorithm\\":\\"AWS4-HMAC-SHA256\\",'
    '\\"location\\":\\"cn-beijing\\",\\"request\\":\\"AWS4-HMAC-SHA256\\\\n20220220T172931Z'
    "\\\\n20220220/cn-beijing/s3/aws4_request"
    '\\\\n5ff6dad4605ea24e0f0be6c6885eddbbe1a5619c89f682b21d719aa50dcb9264\\",\\"sign_date\\":'
    '\\"2022-02-20T17:29:31.000000Z\\",\\"signature\\":'
    '\\"4c92b91266168fc650fec9303a9dc3309f12d0fe66c5b0a605082e0260c70ce2\\",'
    '\\"signed_headers\\":[\\"date\\",\\"host\\",\\"x-amz-content-sha256\\",\\"x-amz-date\\"]}",'
    '"methods":["aksk"]}}}'
)


def test_the_documented_climc_login_is_reproduced():
    details = aksk_auth_details(DOC_AUTH_URL, DOC_ACCESS_KEY, DOC_SECRET, now=DOC_TIME)
    assert details["signature"] == DOC_SIGNATURE
    assert details["final_post_body"] == DOC_BODY
    assert len(DOC_BODY.encode("utf-8")) == 573  # the capture's Content-Length


def test_the_documented_body_is_the_one_in_api_call_process_md():
    capture = (SHARED / "reference" / "api-call-process.md").read_text(encoding="utf-8")
    sent = re.search(r"CURL: curl -X 'POST' -d '([^']*)'", capture)
    assert sent is not None
    assert sent.group(1) == DOC_BODY
    assert aksk_auth_body(DOC_AUTH_URL, DOC_ACCESS_KEY, DOC_SECRET, now=DOC_TIME) == sent.group(1)
    assert verify_access_key_secret(
        decode_access_key_secret(json.loads(DOC_BODY)["auth"]["identity"]["access_key_secret"]),
        DOC_SECRET,
    )


# --------------------------------------------------------------------------- clock handling


def test_naive_times_are_utc_and_sub_seconds_are_dropped():
    aware = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    naive_with_micros = datetime(2024, 1, 2, 3, 4, 5, 999999)
    same_instant_elsewhere = datetime(2024, 1, 2, 11, 4, 5, tzinfo=timezone(timedelta(hours=8)))
    expected = aksk_auth_body("https://h/v3", "ak", "sk", now=aware)
    assert aksk_auth_body("https://h/v3", "ak", "sk", now=naive_with_micros) == expected
    assert aksk_auth_body("https://h/v3", "ak", "sk", now=same_instant_elsewhere) == expected


def test_default_clock_is_now_in_utc():
    before = datetime.now(UTC).replace(microsecond=0)
    blob = decode_access_key_secret(
        json.loads(aksk_auth_body("https://h/v3", "ak", "sk"))["auth"]["identity"][
            "access_key_secret"
        ]
    )
    after = datetime.now(UTC)
    signed_at = datetime.strptime(blob["sign_date"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert blob["sign_date"].endswith(".000000Z")
    assert before <= signed_at <= after


def test_an_empty_access_key_or_secret_is_refused():
    with pytest.raises(ValueError):
        aksk_auth_body("https://h/v3", "", "sk")
    with pytest.raises(ValueError):
        aksk_auth_body("https://h/v3", "ak", "")


@pytest.mark.parametrize("access_key", ["a/b", "a,b"])
def test_an_access_key_that_mcclient_cannot_parse_back_is_refused(access_key):
    with pytest.raises(ValueError):
        aksk_auth_body("https://h/v3", access_key, "sk")


# --------------------------------------------------------------------------- keystone side


def _blob_of(body: dict) -> dict:
    return decode_access_key_secret(body["auth"]["identity"]["access_key_secret"])


def _edit_blob(edit: Callable[[dict], None]) -> Callable[[dict, str], str]:
    """A tamper that edits the inner access_key_secret blob and keeps the secret."""

    def tamper(body: dict, secret: str) -> str:
        blob = _blob_of(body)
        edit(blob)
        body["auth"]["identity"]["access_key_secret"] = jsonutils_dumps(blob)
        return secret

    return tamper


def _flip_last_hex_digit(text: str) -> str:
    return text[:-1] + ("1" if text[-1] == "0" else "0")


def _sign_date_plus_one_day(blob: dict) -> None:
    t = datetime.strptime(blob["sign_date"], "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(days=1)
    blob["sign_date"] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _set_context_source(body: dict, secret: str) -> str:
    body["auth"]["context"] = {"source": "web"}
    return secret


# Every tampered variant listed in the vectors' server_side_verification, by its `what`.
# Each takes the parsed final_post_body (editing it in place) and the secret, and returns
# the secret that the server then checks with.
TAMPERS: dict[str, Callable[[dict, str], str]] = {
    "as sent, correct secret": lambda body, secret: secret,
    "as sent, wrong secret (secret+'x')": lambda body, secret: secret + "x",
    "signature last hex digit changed": _edit_blob(
        lambda b: b.update(signature=_flip_last_hex_digit(b["signature"]))
    ),
    "request (string-to-sign) altered": _edit_blob(
        lambda b: b.update(request=_flip_last_hex_digit(b["request"]))
    ),
    "sign_date moved one day later": _edit_blob(_sign_date_plus_one_day),
    "sign_date changed to 12:34:56 on the same UTC date": _edit_blob(
        lambda b: b.update(sign_date=b["sign_date"][:10] + "T12:34:56.000000Z")
    ),
    "sign_date as RFC3339 without fraction, same instant": _edit_blob(
        lambda b: b.update(sign_date=b["sign_date"][:19] + "Z")
    ),
    "sign_date key removed": _edit_blob(lambda b: b.pop("sign_date")),
    "signed_headers key removed": _edit_blob(lambda b: b.pop("signed_headers")),
    "access_key changed to another id (same secret)": _edit_blob(
        lambda b: b.update(access_key="0123456789abcdef0123456789abcdef")
    ),
    "location changed to us-east-1": _edit_blob(lambda b: b.update(location="us-east-1")),
    "signed_headers changed": _edit_blob(lambda b: b.update(signed_headers=["host"])),
    "context.source changed in outer body": _set_context_source,
}


def _server_accepts(body_text: str, secret: str) -> bool:
    """What keystone's authUserByAccessKeyV3 does: parse body, s3auth.Decode, Verify."""
    blob = decode_access_key_secret(json.loads(body_text)["auth"]["identity"]["access_key_secret"])
    return verify_access_key_secret(blob, secret)


def test_every_listed_tampered_variant_is_reproduced():
    listed = {check["what"] for v in AKSK for check in v["server_side_verification"]}
    assert listed == set(TAMPERS)


@pytest.mark.parametrize(
    ("vector", "check"),
    [
        pytest.param(v, c, id=f"{v['name']}: {c['what']}")
        for v in AKSK
        for c in v["server_side_verification"]
    ],
)
def test_server_side_verification_matches_keystone(vector, check):
    body = json.loads(vector["final_post_body"])
    secret = TAMPERS[check["what"]](body, vector["secret"])
    assert _server_accepts(jsonutils_dumps(body), secret) is check["accepted"]


@pytest.mark.parametrize("vector", AKSK, ids=_name)
def test_only_the_utc_date_of_sign_date_matters_even_with_an_offset(vector):
    blob = decode_access_key_secret(vector["access_key_secret"])
    instant = _time(vector["sign_time_utc"])
    for hours in (8, -5):
        local = instant.astimezone(timezone(timedelta(hours=hours)))
        blob["sign_date"] = local.isoformat()
        assert verify_access_key_secret(blob, vector["secret"])


@pytest.mark.parametrize(
    "sign_date", [None, "", "yesterday", "2024-13-01T00:00:00Z", 20240102, "2024-01-02"]
)
def test_an_unparsable_sign_date_fails_verification_without_raising(sign_date):
    blob = decode_access_key_secret(AKSK[0]["access_key_secret"])
    blob["sign_date"] = sign_date
    assert verify_access_key_secret(blob, AKSK[0]["secret"]) is False


def test_the_signature_is_compared_case_sensitively():
    blob = decode_access_key_secret(AKSK[0]["access_key_secret"])
    blob["signature"] = blob["signature"].upper()
    assert verify_access_key_secret(blob, AKSK[0]["secret"]) is False


@pytest.mark.parametrize("field", ["signature", "request", "location"])
def test_a_missing_or_non_string_field_fails_verification(field):
    blob = decode_access_key_secret(AKSK[0]["access_key_secret"])
    del blob[field]
    assert verify_access_key_secret(blob, AKSK[0]["secret"]) is False
    blob[field] = 7
    assert verify_access_key_secret(blob, AKSK[0]["secret"]) is False


def test_an_old_blob_stays_valid_there_is_no_time_window():
    old = aksk_auth_body("https://h/v3", "ak", "sk", now=datetime(2001, 1, 1))
    assert _server_accepts(old, "sk")


def test_decode_returns_the_blob_fields():
    blob = decode_access_key_secret(AKSK[0]["access_key_secret"])
    assert blob == json.loads(AKSK[0]["access_key_secret"])
    assert set(blob) == {
        "access_key",
        "algorithm",
        "location",
        "request",
        "sign_date",
        "signature",
        "signed_headers",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid access_key_secret JSON"),
        ("", "invalid access_key_secret JSON"),
        (None, "invalid access_key_secret JSON"),
        ('["AWS4-HMAC-SHA256"]', "not a JSON object"),
        ('{"access_key":"ak"}', "unsupported sign algorithm"),
        ('{"algorithm":"HMAC-SHA1"}', "unsupported sign algorithm"),
        ('{"algorithm":"AWS"}', "signature V2 is not implemented"),
    ],
)
def test_decode_rejects_what_keystone_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        decode_access_key_secret(text)


# --------------------------------------------------------------------------- password and token


def _none_if_empty(text: str) -> str | None:
    return text or None


@pytest.mark.parametrize("vector", BODIES, ids=_name)
def test_password_and_token_bodies_match_mcclient(vector):
    scope = {
        "project": _none_if_empty(vector["os_project_name"]),
        "project_domain": _none_if_empty(vector["os_project_domain"]),
        "project_id": _none_if_empty(vector["project_id"]),
        "source": vector["source"],
    }
    if vector["os_auth_token"]:
        body = token_auth_body(vector["os_auth_token"], **scope)
    else:
        body = password_auth_body(
            vector["os_username"],
            vector["os_password"],
            domain=_none_if_empty(vector["os_domain_name"]),
            **scope,
        )
    assert body == vector["post_body"]


def test_a_project_id_wins_over_a_project_name():
    body = json.loads(
        password_auth_body(
            "u", "p", project="name", project_domain="Default", project_id="0e4416c8"
        )
    )
    assert body["auth"]["scope"] == {"project": {"id": "0e4416c8"}}


def test_an_empty_source_leaves_out_the_context():
    assert "context" not in json.loads(token_auth_body("tok", source=""))["auth"]
    assert "context" not in json.loads(password_auth_body("u", "p", source=""))["auth"]


def test_a_project_domain_without_a_project_name_is_ignored():
    assert "scope" not in json.loads(token_auth_body("tok", project_domain="Default"))["auth"]


@pytest.mark.parametrize(("username", "password"), [("", "p"), ("u", "")])
def test_a_password_login_needs_both_name_and_password(username, password):
    with pytest.raises(ValueError):
        password_auth_body(username, password)


def test_a_token_login_needs_a_token():
    with pytest.raises(ValueError):
        token_auth_body("")


# --------------------------------------------------------------------------- generic SigV4


def _generic_signed(vector: dict) -> dict:
    return signv4(
        vector["method"],
        vector["url"],
        vector["extra_request_headers_before_signing"],
        vector["body"],
        vector["access_key"],
        vector["secret"],
        now=_time(vector["sign_time_utc"]),
        location=vector["location"],
    )


@pytest.mark.parametrize(
    ("vector", "field"),
    [
        pytest.param(v, f, id=f"{v['name']}-{f}")
        for v in GENERIC
        for f in (
            "signed_request_headers",
            "signed_headers",
            "canonical_request",
            "string_to_sign",
            "signature",
        )
    ],
)
def test_generic_signv4_reproduces_every_field(vector, field):
    assert _generic_signed(vector)[field] == vector[field]


@pytest.mark.parametrize("vector", GENERIC, ids=_name)
def test_generic_canonical_request_from_the_signed_headers(vector):
    assert (
        canonical_request(vector["method"], vector["url"], vector["signed_request_headers"])
        == vector["canonical_request"]
    )


@pytest.mark.parametrize("vector", GENERIC, ids=_name)
def test_generic_signature_verifies_with_the_secret(vector):
    signed = _generic_signed(vector)
    blob = {
        "location": vector["location"],
        "request": signed["string_to_sign"],
        "sign_date": signed["sign_date"],
        "signature": signed["signature"],
    }
    assert verify_access_key_secret(blob, vector["secret"]) is vector["verify_with_secret_ok"]


def test_query_canonicalisation_sorts_keys_and_escapes_like_go():
    # '+' in the raw query is a space (-> %20); repeated keys keep their order; '/' and
    # '~' in values: '/' is escaped, '~' is not; a malformed escape drops its pair.
    text = canonical_request("GET", "https://h/p?b=2&a=x+y&a=%2F~&c=%zz&d=", {})
    assert text.split("\n")[2] == "a=x%20y&a=%2F~&b=2&d="


def test_path_canonicalisation_encodes_non_ascii_and_keeps_plain_paths():
    assert canonical_request("GET", "https://h/v3//auth/tokens", {}).split("\n")[1] == (
        "/v3//auth/tokens"
    )
    assert canonical_request("GET", "https://h/a%20b/%E6%B5%8B", {}).split("\n")[1] == (
        "/a%20b/%E6%B5%8B"
    )
    assert canonical_request("GET", "https://h/测", {}).split("\n")[1] == "/%E6%B5%8B"
    assert canonical_request("GET", "https://h/a:b", {}).split("\n")[1] == "/a%3Ab"


def test_repeated_headers_are_joined_and_whitespace_collapsed():
    text = canonical_request("GET", "https://h/", {"x-a": ["  1 \t 2 ", "3"], "X-B": ""})
    assert "\nx-a:1 2,3\nx-amz-content-sha256:\nx-b:\n\n" in text
    assert text.split("\n")[-2] == "host;x-a;x-amz-content-sha256;x-b"


def test_a_host_header_is_refused():
    with pytest.raises(ValueError):
        canonical_request("GET", "https://h/", {"Host": "other"})


# --------------------------------------------------------------------------- URLs and JSON


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        # cloudpods-api.md §2.6 examples
        ("https://h:30292/v1", "/v1/images", "https://h:30292/v1/images"),
        ("https://h:30500/v3", "/v3/projects", "https://h:30500/v3/projects"),
        ("https://h:30888", "/servers", "https://h:30888/servers"),
        # the version is dropped only when the path repeats it
        ("https://h:30500/v3", "/auth/tokens", "https://h:30500/v3/auth/tokens"),
        ("https://h/api/s/identity/v3", "/auth/tokens", "https://h/api/s/identity/v3/auth/tokens"),
        # no slash normalisation: a trailing slash is kept (vector trailing-slash-auth-url)...
        ("https://h:30500/v3/", "/auth/tokens", "https://h:30500/v3//auth/tokens"),
        # ...unless the versioned segment is dropped, which takes its trailing slashes along
        ("https://h:30500/v3/", "/v3/projects", "https://h:30500/v3/projects"),
        ("https://h/v1.0", "/v1.0/x", "https://h/v1.0/x"),
        ("https://h/v2", "/v3/x", "https://h/v2/v3/x"),
        # mcclient returns an empty version for 'latest', so it is never dropped
        ("https://h/latest", "/latest/x", "https://h/latest/latest/x"),
    ],
)
def test_join_url_follows_mcclient(base, path, expected):
    assert join_url(base, path) == expected


def test_jsonutils_dumps_sorts_keys_and_escapes_little():
    assert jsonutils_dumps({"b": 1, "a": {"d": [], "c": None}}) == '{"a":{"c":null,"d":[]},"b":1}'
    assert jsonutils_dumps('a/b é 測 "q" \\ \n\t\x01') == '"a/b é 測 \\"q\\" \\\\ \\n\\t\\u0001"'
    assert jsonutils_dumps(["<&>"]) == '["<&>"]'


# --------------------------------------------------------------------------- docstrings


def test_docstring_examples_run():
    result = doctest.testmod(signing, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
