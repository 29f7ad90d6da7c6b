import crypto from 'crypto';
import cf from 'cloudfront';

// CloudFront Function, viewer-request, runtime cloudfront-js-2.0: serves the PEP 503/691
// simple index from S3 objects, with the URLs and content negotiation of a real index.
//
//   /simple, /simple/Foo_Bar, /simple/foo.bar/  301 -> /simple/foo-bar/ (query string kept)
//   /simple/ and /simple/<name>/                rewritten to .../index.json or .../index.html
//   anything else (files, .metadata, index.* asked for by name, paths outside /simple/)
//                                               passes through unchanged
//
// Why the rewrite cannot mix caches: a viewer-request function runs before the cache
// lookup, and CloudFront keys the cache on the URI the function returns. JSON and HTML are
// therefore two objects with two keys (.../index.json, .../index.html); nothing keyed on
// /simple/<name>/ is ever stored, so Accept need not be in the cache key.
//
// On a private stack every request must first carry a reader's Basic credentials, checked
// against the KeyValueStore associated with the function (see isReader). The same file
// serves both: components/cdn.py turns ACCESS to 'private' and associates the store.
// CloudFront caps a function at 10 KB, comments included, so components/cdn.py deploys
// this file without the lines that are only a comment (never write a template literal or
// a block comment, in which such a line could be code). The tests run the deployed copy
// in V8 and Node, and keep it under 9,500 bytes.
const ACCESS = 'public';

var JSON_TYPES = ['application/vnd.pypi.simple.v1+json', 'application/vnd.pypi.simple.latest+json'];
// text/html is PEP 691's alias for the latest HTML version, which is v1.
var HTML_TYPES = ['application/vnd.pypi.simple.v1+html', 'application/vnd.pypi.simple.latest+html',
    'text/html'];

// PEP 508 names: letters, digits, '.', '_', '-', starting and ending with a letter or digit.
// Anything else under /simple/ (unicode, '..', encoded '/', empty segments) is not a project:
// it passes through to the origin untouched, so no odd input is ever redirected or rewritten.
var PROJECT_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

// The media ranges of an Accept header as [{type, q}], lowercased; bare '*' (old Java
// clients) counts as '*/*'. A range with an unreadable q is dropped rather than guessed at.
function parseAccept(header) {
    var ranges = [];
    var items = header.split(',');
    for (var i = 0; i < items.length; i++) {
        var params = items[i].split(';');
        var type = params[0].trim().toLowerCase();
        if (type === '*') {
            type = '*/*';
        }
        if (!/^[^\/\s]+\/[^\/\s]+$/.test(type)) {
            continue;
        }
        var q = 1;
        for (var j = 1; j < params.length; j++) {
            var eq = params[j].indexOf('=');
            if (eq !== -1 && params[j].slice(0, eq).trim().toLowerCase() === 'q') {
                var value = params[j].slice(eq + 1).trim();
                q = /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Math.min(Number(value), 1) : -1;
                break;
            }
        }
        if (q >= 0) {
            ranges.push({ type: type, q: q });
        }
    }
    return ranges;
}

// How much the client wants one of `types`: {q, named}. Per RFC 9110 section 12.5.1 the most
// specific matching range decides a type's q (so 'v1+json;q=0' overrides '*/*'). `named`
// says whether that q came from naming the type itself rather than from a wildcard.
function preference(ranges, types) {
    var best = { q: 0, named: false };
    for (var t = 0; t < types.length; t++) {
        var anyOfKind = types[t].split('/')[0] + '/*';
        var rank = -1; // of the range that decides: 2 the type itself, 1 'text/*', 0 '*/*'
        var q = 0;
        for (var i = 0; i < ranges.length; i++) {
            var r = ranges[i];
            var s = r.type === types[t] ? 2 : r.type === anyOfKind ? 1 : r.type === '*/*' ? 0 : -1;
            // A range listed twice at the same specificity counts at its best q.
            if (s >= 0 && (s > rank || (s === rank && r.q > q))) {
                rank = s;
                q = r.q;
            }
        }
        if (q > best.q || (q === best.q && q > 0 && rank === 2)) {
            best = { q: q, named: rank === 2 };
        }
    }
    return best;
}

// The negotiation rule (PEP 691 leaves the choice to the server):
// 1. The higher q wins: pip and uv rank JSON first; browsers rank text/html first.
// 2. On equal q, JSON only if the client named a PEP 691 JSON type. Naming it proves the
//    client parses it; a bare '*/*' (curl, requests, browsers' fallback) proves nothing.
// 3. No Accept header, or neither format acceptable: HTML, never 406. HTML is the PEP 503
//    baseline every installer reads; clients that send a wrong Accept (application/json
//    from a generic HTTP library) still get an index, just as from the S3-only endpoint.
function wantsJson(headers) {
    var accept = headers && headers.accept;
    if (!accept) {
        return false;
    }
    var header = accept.value;
    if (accept.multiValue) {
        // A repeated header is one list (RFC 9110 section 5.3).
        header = accept.multiValue.map(function (v) { return v.value; }).join(',');
    }
    var ranges = parseAccept(header || '');
    var json = preference(ranges, JSON_TYPES);
    var html = preference(ranges, HTML_TYPES);
    if (json.q === 0) {
        return false;
    }
    return json.q !== html.q ? json.q > html.q : json.named;
}

function indexFor(request) {
    return wantsJson(request.headers) ? 'index.json' : 'index.html';
}

// Keys and values joined as CloudFront hands them over, as AWS's own examples do.
function queryString(querystring) {
    var parts = [];
    for (var key in querystring) {
        var entry = querystring[key];
        var values = entry.multiValue || [entry];
        for (var i = 0; i < values.length; i++) {
            parts.push(key + '=' + values[i].value);
        }
    }
    return parts.length ? '?' + parts.join('&') : '';
}

function redirect(location, request) {
    return {
        statusCode: 301,
        statusDescription: 'Moved Permanently',
        headers: { location: { value: location + queryString(request.querystring) } },
    };
}

function route(request) {
    var uri = request.uri;
    if (uri === '/simple') {
        return redirect('/simple/', request);
    }
    if (uri.indexOf('/simple/') !== 0) {
        return request;
    }
    var rest = uri.slice('/simple/'.length);
    if (rest === '') {
        request.uri = '/simple/' + indexFor(request);
        return request;
    }
    var slash = rest.indexOf('/');
    if (slash !== -1 && slash !== rest.length - 1) {
        return request; // a file, a .metadata sidecar, or an index asked for by name
    }
    var segment = slash === -1 ? rest : rest.slice(0, slash);
    if (slash === -1 && (segment === 'index.html' || segment === 'index.json')) {
        return request; // the root index asked for by name
    }
    var name;
    try {
        name = decodeURIComponent(segment);
    } catch (e) {
        return request; // malformed percent-encoding: not a project
    }
    if (!PROJECT_NAME.test(name)) {
        return request;
    }
    // PEP 503 normalization; one redirect covers both the name and the trailing slash.
    var normalized = name.replace(/[-_.]+/g, '-').toLowerCase();
    if (slash === -1 || segment !== normalized) {
        return redirect('/simple/' + normalized + '/', request);
    }
    request.uri = '/simple/' + normalized + '/' + indexFor(request);
    return request;
}

// --- Readers --------------------------------------------------------------------------
// The store maps a reader's name to the hex sha256 of its token: tokens are 190-bit random
// strings, so a plain hash suffices, and the edge never holds one. Header bound: 'Basic '
// plus base64 of a 64-character name, ':' and a 32-character token is 138 characters.
var MAX_AUTHORIZATION = 256;
var BASE64 = /^[A-Za-z0-9+\/]+={0,2}$/;
var READER_NAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;

function sha256(text) {
    return crypto.createHash('sha256').update(text).digest('hex');
}

var NO_READER = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';

// Digests are compared in full, so the time taken says nothing about where they differ.
function sameDigest(a, b) {
    if (a.length !== b.length) {
        return false;
    }
    var diff = 0;
    for (var i = 0; i < a.length; i++) {
        diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
    }
    return diff === 0;
}

async function isReader(headers) {
    var header = headers.authorization ? headers.authorization.value : '';
    if (header.length > MAX_AUTHORIZATION || header.slice(0, 6).toLowerCase() !== 'basic ') {
        return false;
    }
    var encoded = header.slice(6).trim();
    if (!BASE64.test(encoded)) {
        return false;
    }
    var pair = Buffer.from(encoded, 'base64').toString();
    var colon = pair.indexOf(':');
    var name = pair.slice(0, colon);
    if (colon < 1 || !READER_NAME.test(name)) {
        return false;
    }
    // An unknown reader is compared with a digest no token has, so it costs what a known one does.
    var stored = NO_READER;
    try {
        stored = await cf.kvs().get(name);
    } catch (e) {
        // get() throws for a missing key: no such reader, or one revoked.
    }
    return sameDigest(sha256(pair.slice(colon + 1)), stored);
}

function unauthorized() {
    return {
        statusCode: 401,
        statusDescription: 'Unauthorized',
        headers: { 'www-authenticate': { value: 'Basic realm="private-pypi", charset="UTF-8"' } },
    };
}

async function handler(event) {
    var request = event.request;
    if (ACCESS === 'private') {
        if (!(await isReader(request.headers))) {
            return unauthorized();
        }
        delete request.headers.authorization; // the origin never needs it
    }
    return route(request);
}
