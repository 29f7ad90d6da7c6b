"""The CloudFront Function in components/edge/simple_index.js, run in real JavaScript engines.

V8 through mini-racer runs every case; Node, when present, runs them all again in one
subprocess and must agree. Both evaluate the file in strict mode, as CloudFront does
(tests/edge_runtime.py). Events have the shape of CloudFront's viewer-request events
(lowercase header names, `{value, multiValue}` entries) and carry the Accept headers that
real clients send. A private stack's copy runs with a KeyValueStore stand-in.
"""

import base64
import hashlib
import random
import re
import shutil

import pytest
from pypi_simple import (
    ACCEPT_ANY,
    ACCEPT_HTML_ONLY,
    ACCEPT_HTML_PREFERRED,
    ACCEPT_JSON_ONLY,
    ACCEPT_JSON_PREFERRED,
)

from components.cdn import viewer_request_code
from components.readers import token_digest
from tests.edge_runtime import IMPORTS, SOURCE, EdgeFunction, run_in_node

# pip: pypa/pip, src/pip/_internal/index/collector.py, _get_simple_response() (pip >= 22.2,
# where PEP 691 support landed); pip's own tests/unit/test_collector.py (commit b9fcd554)
# asserts the same string as ACCEPT. Seen on the wire from pip 23.2.1 as well.
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
# uv: astral-sh/uv, crates/uv-client/src/registry_client.rs, MediaType::pypi() (commit
# 000c19ff), sent to every index that is not pyx. Seen on the wire from uv 0.13.9 as well.
UV_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
# uv to pyx indexes: MediaType::all() in the same file.
UV_PYX_ACCEPT = (
    "application/vnd.pyx.simple.v1+msgpack, application/vnd.pyx.simple.v1+json;q=0.9, "
    "application/vnd.pypi.simple.v1+json;q=0.8, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
# Browsers' navigation headers, and java.net.HttpURLConnection's default (bare `*`, `q=.2`).
FIREFOX_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CHROME_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
JAVA_ACCEPT = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"

JSON = "application/vnd.pypi.simple.v1+json"


def make_event(uri, accept=None, querystring=None, authorization=None):
    headers = {"host": {"value": "pypi.example.com"}, "user-agent": {"value": "pytest"}}
    if accept is not None:
        headers["accept"] = {"value": accept}
    if authorization is not None:
        headers["authorization"] = {"value": authorization}
    return {
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionId": "EDFDVBD6EXAMPLE"},
        "viewer": {"ip": "198.51.100.7"},
        "request": {
            "method": "GET",
            "uri": uri,
            "querystring": querystring or {},
            "headers": headers,
            "cookies": {},
        },
    }


def served(result):
    """What the viewer ends up with: '301 <location>' or the URI that goes to the cache."""
    if "statusCode" in result:
        return f"{result['statusCode']} {result['headers']['location']['value']}"
    return result["uri"]


@pytest.fixture(scope="module")
def v8():
    function = EdgeFunction(private=False)
    yield function
    function.close()


def run(v8, event):
    return v8(event)


def edge(v8, uri, accept=None, querystring=None):
    return served(run(v8, make_event(uri, accept, querystring)))


# --- Routing: redirects, rewrites, pass-through ------------------------------------------

PASS = None  # the request goes to the origin unchanged

ROUTES = [
    # Root and trailing slashes.
    ("/simple", "301 /simple/"),
    ("/simple/", "/simple/index.html"),
    ("/simple/foo", "301 /simple/foo/"),
    ("/simple/foo/", "/simple/foo/index.html"),
    ("/simple/a/", "/simple/a/index.html"),
    ("/simple/1/", "/simple/1/index.html"),
    ("/simple/foo-bar-2/", "/simple/foo-bar-2/index.html"),
    # PEP 503 normalization: one redirect fixes both the name and the missing slash.
    ("/simple/Foo_Bar/", "301 /simple/foo-bar/"),
    ("/simple/foo.bar", "301 /simple/foo-bar/"),
    ("/simple/Foo.Bar_baz/", "301 /simple/foo-bar-baz/"),
    ("/simple/Foo.Bar_baz", "301 /simple/foo-bar-baz/"),
    ("/simple/a--b/", "301 /simple/a-b/"),
    ("/simple/a-_.-b", "301 /simple/a-b/"),
    ("/simple/FOO/", "301 /simple/foo/"),
    ("/simple/zope.interface/", "301 /simple/zope-interface/"),
    # Percent-encoding is decoded before the name is judged, never after.
    ("/simple/foo%2Dbar/", "301 /simple/foo-bar/"),
    ("/simple/%46oo/", "301 /simple/foo/"),
    ("/simple/foo%2ebar", "301 /simple/foo-bar/"),
    ("/simple/foo%2Fbar/", PASS),
    ("/simple/%2E%2E/", PASS),
    ("/simple/%C3%A9t%C3%A9/", PASS),
    ("/simple/%E0%A4%A/", PASS),
    ("/simple/foo%20bar/", PASS),
    # Not project names: unicode, dot segments, leading/trailing separators, empty segments.
    ("/simple/été/", PASS),
    ("/simple/../", PASS),
    ("/simple/..", PASS),
    ("/simple/./", PASS),
    ("/simple/-foo/", PASS),
    ("/simple/foo_/", PASS),
    ("/simple/_/", PASS),
    ("/simple//", PASS),
    ("/simple//foo/", PASS),
    ("/simple/foo//", PASS),
    ("/simple/foo bar/", PASS),
    ("/simple/foo+bar/", PASS),
    # Indexes asked for by name, files and PEP 658 sidecars: never touched, never normalized.
    ("/simple/index.html", PASS),
    ("/simple/index.json", PASS),
    ("/simple/foo/index.html", PASS),
    ("/simple/foo/index.json", PASS),
    ("/simple/foo/foo-1.0-py3-none-any.whl", PASS),
    ("/simple/foo/foo-1.0-py3-none-any.whl.metadata", PASS),
    ("/simple/foo/foo-1.0.tar.gz", PASS),
    ("/simple/Foo_Bar/Foo_Bar-1.0.tar.gz", PASS),
    ("/simple/foo/sub/dir/", PASS),
    # Outside /simple/ (paths are case-sensitive, like S3 keys).
    ("/", PASS),
    ("/index.html", PASS),
    ("/simplex", PASS),
    ("/simplex/foo/", PASS),
    ("/SIMPLE/", PASS),
    ("/Simple/foo/", PASS),
    ("/packages/foo-1.0.tar.gz", PASS),
]


@pytest.mark.parametrize(("uri", "expected"), ROUTES)
def test_routes_for_html_clients(v8, uri, expected):
    assert edge(v8, uri, FIREFOX_ACCEPT) == (uri if expected is PASS else expected)


@pytest.mark.parametrize(("uri", "expected"), ROUTES)
def test_routes_for_json_clients_differ_only_in_the_index_chosen(v8, uri, expected):
    # A 301 or a pass-through never depends on Accept; only the index object does.
    want = uri if expected is PASS else expected
    if want.endswith("/index.html") and not uri.endswith("/index.html"):
        want = want.removesuffix("index.html") + "index.json"
    assert edge(v8, uri, PIP_ACCEPT) == want


def test_pass_through_returns_the_request_untouched(v8):
    event = make_event("/simple/foo/foo-1.0-py3-none-any.whl", PIP_ACCEPT, {"x": {"value": "1"}})
    assert run(v8, event) == event["request"]


def test_rewrite_changes_only_the_uri(v8):
    event = make_event("/simple/foo/", UV_ACCEPT, {"x": {"value": "1"}})
    expected = dict(event["request"], uri="/simple/foo/index.json")
    assert run(v8, event) == expected


def test_redirect_is_a_complete_cloudfront_response(v8):
    assert run(v8, make_event("/simple/Foo")) == {
        "statusCode": 301,
        "statusDescription": "Moved Permanently",
        "headers": {"location": {"value": "/simple/foo/"}},
    }


@pytest.mark.parametrize(
    ("uri", "querystring", "expected"),
    [
        ("/simple", {"a": {"value": "1"}}, "301 /simple/?a=1"),
        ("/simple/Foo_Bar", {"q": {"value": "a%20b"}}, "301 /simple/foo-bar/?q=a%20b"),
        (
            "/simple/foo",
            {
                "x": {"value": "1", "multiValue": [{"value": "1"}, {"value": "2"}]},
                "flag": {"value": ""},
            },
            "301 /simple/foo/?x=1&x=2&flag=",
        ),
        ("/simple/foo", {}, "301 /simple/foo/"),
    ],
)
def test_redirects_keep_the_query_string(v8, uri, querystring, expected):
    assert edge(v8, uri, None, querystring) == expected


def test_redirects_land_on_a_page_without_another_redirect(v8):
    for _, expected in ROUTES:
        if expected is not PASS and expected.startswith("301 "):
            assert edge(v8, expected.removeprefix("301 "), PIP_ACCEPT).endswith("/index.json")


def test_very_long_names_are_handled_quickly(v8):
    # CloudFront limits compute per request; the regular expressions must stay linear.
    name = "A" + "._-" * 3000 + "Z"
    assert edge(v8, f"/simple/{name}/") == "301 /simple/a-z/"
    long_name = "a" * 5000
    assert edge(v8, f"/simple/{long_name}/") == f"/simple/{long_name}/index.html"
    hostile = "a" + "-" * 20000 + "."
    assert edge(v8, f"/simple/{hostile}/") == f"/simple/{hostile}/"


# --- Content negotiation -------------------------------------------------------------------

NEGOTIATION = [
    # Real clients.
    pytest.param(PIP_ACCEPT, "json", id="pip"),
    pytest.param(UV_ACCEPT, "json", id="uv"),
    pytest.param(UV_PYX_ACCEPT, "json", id="uv-to-pyx"),
    pytest.param(ACCEPT_JSON_ONLY, "json", id="pypi-simple-json-only"),
    pytest.param(ACCEPT_JSON_PREFERRED, "json", id="pypi-simple-json-preferred"),
    pytest.param(ACCEPT_ANY, "json", id="pypi-simple-any-tie-named-json"),
    pytest.param(ACCEPT_HTML_ONLY, "html", id="pypi-simple-html-only"),
    pytest.param(ACCEPT_HTML_PREFERRED, "html", id="pypi-simple-html-preferred"),
    pytest.param(FIREFOX_ACCEPT, "html", id="firefox"),
    pytest.param(CHROME_ACCEPT, "html", id="chrome"),
    pytest.param(JAVA_ACCEPT, "html", id="java-bare-star"),
    pytest.param("*/*", "html", id="curl-requests-wildcard-tie"),
    pytest.param(None, "html", id="no-accept-header"),
    pytest.param("", "html", id="empty"),
    # Each PEP 691 type alone.
    pytest.param(JSON, "json", id="v1-json"),
    pytest.param("application/vnd.pypi.simple.latest+json", "json", id="latest-json"),
    pytest.param("application/vnd.pypi.simple.v1+html", "html", id="v1-html"),
    pytest.param("application/vnd.pypi.simple.latest+html", "html", id="latest-html"),
    pytest.param("text/html", "html", id="text-html"),
    # Quality values decide; equal q goes to JSON only when JSON was named.
    pytest.param(f"{JSON};q=0.5, text/html;q=0.9", "html", id="html-higher-q"),
    pytest.param(f"{JSON};q=0.9, text/html;q=0.5", "json", id="json-higher-q"),
    pytest.param(f"text/html;q=0.5, {JSON};q=0.5", "json", id="tie-json-named"),
    pytest.param(f"{JSON}, application/vnd.pypi.simple.v1+html", "json", id="tie-both-named"),
    pytest.param("application/*", "html", id="tie-wildcards-only"),
    pytest.param(f"*/*;q=0.1, {JSON}", "json", id="json-over-wildcard"),
    pytest.param(f"text/*;q=0.3, {JSON};q=0.2", "html", id="text-wildcard-higher"),
    # The most specific range decides, so q=0 refuses JSON even under */*.
    pytest.param(f"*/*, {JSON};q=0", "html", id="json-refused-under-wildcard"),
    pytest.param(f"{JSON};q=0", "html", id="nothing-acceptable-json-refused"),
    pytest.param(f"{JSON};q=0, text/html;q=0", "html", id="nothing-acceptable-both-refused"),
    pytest.param(
        f"text/html;q=0.1, text/html;q=0.9, {JSON};q=0.5", "html", id="repeated-range-best-q"
    ),
    # Neither format acceptable: HTML rather than 406.
    pytest.param("image/png", "html", id="image-only"),
    pytest.param("application/json", "html", id="plain-json-is-not-pep691"),
    pytest.param("garbage", "html", id="garbage"),
    pytest.param(f"image/png, {JSON};q=0.5", "json", id="unrelated-types-ignored"),
    # Spelling: case, whitespace, parameters, odd q values, stray commas.
    pytest.param(JSON.upper(), "json", id="uppercase"),
    pytest.param(
        "Application/Vnd.Pypi.Simple.V1+Json; Q=0.9, Text/HTML; Q=0.8", "json", id="mixed-case"
    ),
    pytest.param(f"  {JSON} ;  q=0.9 ,\ttext/html ; q = 0.8 ", "json", id="whitespace"),
    pytest.param(f"{JSON};q=0.9,text/html;q=1", "html", id="no-spaces"),
    pytest.param(f"{JSON};charset=utf-8;q=0.4, text/html;q=0.3", "json", id="param-before-q"),
    pytest.param(f"{JSON};q=high, text/html;q=0.1", "html", id="unreadable-q-drops-range"),
    pytest.param(f"{JSON};q=1.5, text/html", "json", id="q-above-one-clamped"),
    pytest.param(f"{JSON};q=.5, text/html;q=.4", "json", id="q-leading-dot"),
    pytest.param(f",,{JSON},,", "json", id="stray-commas"),
]


@pytest.mark.parametrize(("accept", "expected"), NEGOTIATION)
@pytest.mark.parametrize("uri", ["/simple/", "/simple/foo/"])
def test_negotiation(v8, uri, accept, expected):
    assert edge(v8, uri, accept) == f"{uri}index.{expected}"


def test_pip_and_uv_get_json_and_browsers_get_html(v8):
    for accept in (PIP_ACCEPT, UV_ACCEPT):
        assert edge(v8, "/simple/requests/", accept) == "/simple/requests/index.json"
    for accept in (FIREFOX_ACCEPT, CHROME_ACCEPT, None):
        assert edge(v8, "/simple/requests/", accept) == "/simple/requests/index.html"


def test_repeated_accept_headers_count_as_one_list(v8):
    # CloudFront puts repeated headers in multiValue; `value` holds only the first.
    event = make_event("/simple/foo/")
    event["request"]["headers"]["accept"] = {
        "value": "text/html;q=0.1",
        "multiValue": [{"value": "text/html;q=0.1"}, {"value": JSON}],
    }
    assert served(run(v8, event)) == "/simple/foo/index.json"


def test_the_cache_key_alone_determines_the_representation(v8):
    # Every client lands on one of exactly two keys, and each key means one format.
    keys = {}
    for param in NEGOTIATION:
        accept, expected = param.values
        keys.setdefault(edge(v8, "/simple/foo/", accept), set()).add(expected)
    assert keys == {"/simple/foo/index.json": {"json"}, "/simple/foo/index.html": {"html"}}


# --- Nothing odd escapes /simple/ ----------------------------------------------------------

INDEX_KEY = re.compile(r"/simple/(?:[a-z0-9]+(?:-[a-z0-9]+)*/)?index\.(?:html|json)")
REDIRECT = re.compile(r"/simple/(?:[a-z0-9]+(?:-[a-z0-9]+)*/)?(?:\?.*)?")


def odd_uris(count=400, seed=691):
    pieces = [*"aZ09._-/%+ ~", "%2F", "%2E", "%41", "%C3%A9", "é", "..", "//", "\\", ";", "index"]
    prefixes = ["/simple/", "/simple", "/simple//", "/", "/simplex/"]
    rng = random.Random(seed)
    for _ in range(count):
        tail = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        yield rng.choice(prefixes) + tail


def test_odd_paths_never_leave_simple(v8):
    for uri in odd_uris():
        for accept in (PIP_ACCEPT, FIREFOX_ACCEPT):
            event = make_event(uri, accept, {"a": {"value": "1"}})
            result = run(v8, event)
            if "statusCode" in result:
                assert REDIRECT.fullmatch(result["headers"]["location"]["value"]), uri
            elif result["uri"] != uri:
                assert INDEX_KEY.fullmatch(result["uri"]), uri
                assert result == dict(event["request"], uri=result["uri"]), uri


# --- The file itself, and a second engine --------------------------------------------------


# CloudFront Functions allow 10 KB of code per function; the deployed copies keep a margin.
DEPLOYED_BUDGET = 9_500


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_the_deployed_code_stays_within_its_budget(private):
    assert len(viewer_request_code(private=private).encode("utf-8")) < DEPLOYED_BUDGET


def test_only_whole_line_comments_are_left_out_of_the_deployed_code():
    deployed = viewer_request_code(private=False).splitlines()
    kept = [line for line in SOURCE.splitlines() if not line.lstrip().startswith("//")]

    assert deployed == kept
    # A line that is only a comment could be code inside a template literal or a block
    # comment; the code has neither (its only '/*' are in media ranges like '*/*').
    assert not any("`" in line or line.lstrip().startswith("/*") for line in deployed)


def test_the_file_uses_only_what_cloudfront_functions_offer():
    # Of modules only the runtime's own; a handler CloudFront finds by name.
    assert re.search(r"^async function handler\(event\)", SOURCE, re.MULTILINE)
    for forbidden in ("require(", "module.exports", "process.", "setTimeout", "eval("):
        assert forbidden not in SOURCE, forbidden
    imports = re.findall(r"^\s*(?:import|export)\b.*$", SOURCE, re.MULTILINE)
    assert "".join(line + "\n" for line in imports) == IMPORTS


def all_events():
    for uri, _ in ROUTES:
        for accept in (None, PIP_ACCEPT, FIREFOX_ACCEPT):
            yield make_event(uri, accept, {"a": {"value": "1"}})
    for param in NEGOTIATION:
        yield make_event("/simple/foo/", param.values[0])
    for uri in odd_uris(count=100):
        yield make_event(uri, UV_ACCEPT)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_agrees_with_v8(v8):
    events = list(all_events())
    assert run_in_node(private=False, store={}, events=events) == [run(v8, e) for e in events]


# --- Private reads: a reader's Basic credentials, checked against the KeyValueStore -------

READER = "ci"
TOKEN = "Q7hYx2bTmV9kLp3RzW8nJc4sFd6GaE1u"  # 32 alphanumerics, as readers.py makes them
OTHER_READER, OTHER_TOKEN = "laptop", "a" * 32
STORE = {READER: token_digest(TOKEN), OTHER_READER: token_digest(OTHER_TOKEN)}


def basic(user_pass: str | bytes) -> str:
    raw = user_pass.encode() if isinstance(user_pass, str) else user_pass
    return "Basic " + base64.b64encode(raw).decode()


GOOD = basic(f"{READER}:{TOKEN}")
REFUSED = [
    pytest.param(None, id="missing"),
    pytest.param(basic(f"{READER}:{TOKEN[:-1]}x"), id="wrong-last-character"),
    pytest.param(basic(f"{READER}:{OTHER_TOKEN}"), id="another-readers-token"),
    pytest.param(basic(f"nobody:{TOKEN}"), id="unknown-reader"),
    pytest.param(basic(f"{READER}:"), id="empty-token"),
    pytest.param(basic(f"{READER.upper()}:{TOKEN}"), id="name-case-matters"),
    pytest.param(basic(f":{TOKEN}"), id="empty-name"),
    pytest.param(basic(TOKEN), id="no-colon"),
    pytest.param(basic(f"{READER}:{TOKEN}\n"), id="trailing-newline-in-token"),
    pytest.param(basic(b"c\xffi:" + TOKEN.encode()), id="not-utf8"),
    pytest.param("", id="empty-header"),
    pytest.param("Basic", id="scheme-only"),
    pytest.param("Basic !!!notbase64!!!", id="malformed-base64"),
    pytest.param(f"Bearer {TOKEN}", id="other-scheme"),
    pytest.param(f"{READER}:{TOKEN}", id="unencoded"),
    pytest.param(GOOD.replace("Basic ", "Basic  ") + "A" * 200, id="oversized"),
    pytest.param(basic(f"{READER}:{TOKEN}" + "x" * 300), id="oversized-token"),
    pytest.param(basic(f"{'r' * 600}:{TOKEN}"), id="name-over-the-kvs-key-limit"),
]


@pytest.fixture(scope="module")
def private_v8():
    function = EdgeFunction(private=True, store=STORE)
    yield function
    function.close()


def is_refusal(result):
    return result == {
        "statusCode": 401,
        "statusDescription": "Unauthorized",
        "headers": {"www-authenticate": {"value": 'Basic realm="private-pypi", charset="UTF-8"'}},
    }


@pytest.mark.parametrize("authorization", REFUSED)
@pytest.mark.parametrize(
    "uri", ["/simple/", "/simple/foo/", "/simple/Foo", "/simple/foo/foo-1.0.tar.gz", "/x"]
)
def test_without_a_readers_credential_every_path_is_refused(private_v8, uri, authorization):
    assert is_refusal(private_v8(make_event(uri, PIP_ACCEPT, authorization=authorization)))


@pytest.mark.parametrize(("uri", "expected"), ROUTES)
def test_a_reader_gets_exactly_what_a_public_index_serves(v8, private_v8, uri, expected):
    # Pages, files, redirects and negotiation are the public function's, to the byte.
    for accept in (PIP_ACCEPT, FIREFOX_ACCEPT):
        event = make_event(uri, accept, {"a": {"value": "1"}})
        public = run(v8, event)
        event["request"]["headers"]["authorization"] = {"value": GOOD}
        assert private_v8(event) == public


@pytest.mark.parametrize(
    "authorization",
    [GOOD, GOOD.replace("Basic ", "basic "), GOOD.replace("Basic ", "BASIC  ") + "  "],
    ids=["canonical", "lowercase-scheme", "spaced"],
)
def test_the_scheme_is_case_insensitive_and_spaces_are_tolerated(private_v8, authorization):
    # RFC 7617: the scheme name is case-insensitive.
    result = private_v8(make_event("/simple/foo/", PIP_ACCEPT, authorization=authorization))
    assert result["uri"] == "/simple/foo/index.json"


def test_every_reader_in_the_store_is_let_in_and_no_one_else(private_v8):
    for reader, token in ((READER, TOKEN), (OTHER_READER, OTHER_TOKEN)):
        event = make_event("/simple/", None, authorization=basic(f"{reader}:{token}"))
        assert private_v8(event)["uri"] == "/simple/index.html"


def test_the_credential_never_reaches_the_origin_or_a_response(private_v8):
    for uri in ("/simple/foo/", "/simple/Foo_Bar", "/simple/foo/foo-1.0.tar.gz"):
        for authorization in (GOOD, basic(f"{READER}:{TOKEN[:-1]}x")):
            event = make_event(uri, UV_ACCEPT, {"q": {"value": "1"}}, authorization)
            result = repr(private_v8(event))
            for secret in (TOKEN, TOKEN[:-1], authorization.removeprefix("Basic ")):
                assert secret not in result
    passed = private_v8(make_event("/simple/foo/", UV_ACCEPT, authorization=GOOD))
    assert "authorization" not in passed["headers"]


def test_revoking_a_reader_refuses_its_next_request():
    # The store is read on every request: removing the key is the whole revocation.
    function = EdgeFunction(private=True, store=STORE)
    event = make_event("/simple/foo/foo-1.0.tar.gz", PIP_ACCEPT, authorization=GOOD)
    assert function(event)["uri"] == "/simple/foo/foo-1.0.tar.gz"
    function.store({OTHER_READER: STORE[OTHER_READER]})
    assert is_refusal(function(event))
    function.close()


def test_a_public_stacks_function_never_reads_a_store(v8):
    # Public stacks have no KeyValueStore: the check must not even look for one.
    v8.eval("var realKvs = cf.kvs; cf.kvs = function () { throw new Error('no store'); };")
    try:
        assert run(v8, make_event("/simple/foo/", PIP_ACCEPT))["uri"] == "/simple/foo/index.json"
    finally:
        v8.eval("cf.kvs = realKvs;")


def test_how_much_of_the_token_is_right_does_not_change_the_work_done():
    # Count every character comparison the function makes. A token right up to its last
    # character, one wrong from the first, and the right one: the same work each time.
    function = EdgeFunction(private=True, store=STORE)
    function.eval(
        "var comparisons = 0; var realCharCodeAt = String.prototype.charCodeAt;"
        "String.prototype.charCodeAt = function (i) {"
        " comparisons++; return realCharCodeAt.call(this, i); };"
    )
    counts = {}
    for right in (0, 1, 16, 31, 32):
        token = TOKEN[:right] + "#" * (32 - right)
        function.eval("comparisons = 0;")
        result = function(make_event("/simple/", None, authorization=basic(f"{READER}:{token}")))
        assert ("uri" in result) == (right == 32)
        counts[right] = function.eval("comparisons")
    function.eval("comparisons = 0;")
    function(make_event("/simple/", None, authorization=basic(f"nobody:{TOKEN}")))
    counts["unknown reader"] = function.eval("comparisons")
    function.close()
    assert len(set(counts.values())) == 1, counts
    assert counts[0] == 2 * 64  # both digests, every hex character


def test_the_standins_hash_and_decode_as_the_runtime_does():
    function = EdgeFunction(private=False)
    rng = random.Random(7617)
    for length in (0, 1, 55, 56, 63, 64, 65, 200):
        text = "".join(rng.choice("aZ9:é€ -_") for _ in range(length))
        digest = function.eval(f"crypto.createHash('sha256').update({text!r}).digest('hex')")
        assert digest == hashlib.sha256(text.encode()).hexdigest(), text
        encoded = base64.b64encode(text.encode()).decode()
        assert function.eval(f"Buffer.from({encoded!r}, 'base64').toString()") == text
    function.close()


def hostile_authorizations(count=300, seed=7235):
    """Near misses of the good header, and junk: every one must be refused, none may throw."""
    rng = random.Random(seed)
    pieces = [READER, TOKEN, ":", "=", " ", "\t", "é", "\x00", "Basic ", "basic", "%3A", "+/"]
    for _ in range(count):
        kind = rng.randrange(3)
        if kind == 0:  # the good header with one character changed, dropped or added
            chars = list(GOOD)
            at = rng.randrange(len("Basic "), len(chars))
            op = rng.randrange(3)
            if op == 0:
                chars[at] = rng.choice([c for c in "A/+=9z" if c != chars[at]])
            elif op == 1:
                del chars[at]
            else:
                chars.insert(at, rng.choice("A/+=9z"))
            yield "".join(chars)
        elif kind == 1:  # random bytes, properly encoded
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 150)))
            yield basic(raw)
        else:  # junk assembled from the credential's own parts
            yield "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))


def decodes_to_the_good_credential(header):
    """Other spellings of the same credential: no padding, unused low bits, spacing."""
    scheme, _, encoded = header.partition(" ")
    encoded = encoded.strip()
    if scheme.lower() != "basic" or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", encoded):
        return False
    data = encoded.rstrip("=")
    data += "=" * (-len(data) % 4)
    try:
        return base64.b64decode(data) == f"{READER}:{TOKEN}".encode()
    except ValueError:
        return False


def test_near_misses_and_junk_are_refused_and_never_throw(private_v8):
    for authorization in hostile_authorizations():
        if decodes_to_the_good_credential(authorization):
            continue
        result = private_v8(make_event("/simple/foo/", PIP_ACCEPT, authorization=authorization))
        assert is_refusal(result), authorization


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_with_its_real_crypto_and_buffer_agrees_with_v8(private_v8):
    events = [
        make_event(uri, accept, {"a": {"value": "1"}}, authorization.values[0])
        for uri in ("/simple/", "/simple/Foo", "/simple/foo/foo-1.0.tar.gz")
        for accept in (PIP_ACCEPT, None)
        for authorization in [pytest.param(GOOD), *REFUSED]
    ] + [make_event("/simple/", None, authorization=a) for a in hostile_authorizations(100)]
    assert run_in_node(private=True, store=STORE, events=events) == [
        private_v8(event) for event in events
    ]
