"""What every API module shares: the request and response objects, XML escaping, Basic auth.

A Response is built whole (bytes) so that the server can send head and body in one write and
so that faults can cut it where they like; only the ground-truth dumps stream (chunks).
"""
import base64
import functools
import http
import json
import urllib.parse


class Request:
    """One parsed HTTP request; `params` collects what the request log shows for it."""

    __slots__ = ('method', 'path', 'query', 'headers', 'body', 'params', 'handle', 'op', 'conn')

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query          # dict: last value of each query parameter
        self.headers = headers      # server.Headers: a dict by lower-case name, get() any case
        self.body = body            # bytes
        self.params = {}
        self.handle = None          # Data Mill: the handle this request continues
        self.op = None              # SOAP method / Diadoc method, for fault rules' op=
        self.conn = None            # a dict that lives as long as the TCP connection (NTLM)

    def form(self):
        """Query parameters merged with an urlencoded body (the body wins)."""
        out = dict(self.query)
        ctype = (self.headers.get('Content-Type') or '').lower()
        if self.body and (ctype.startswith('application/x-www-form-urlencoded') or not ctype):
            try:
                text = self.body.decode('utf-8')
            except UnicodeDecodeError:
                return out
            for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
                out[k] = v
        return out


class Response:
    """status, content type, body bytes, extra headers; `records` for the log; `commit` runs
    only when the body went out unspoiled (a Data Mill cursor advances only then); `chunks`
    (an iterator of bytes) replaces body for streamed answers; `kind` tells malformed-body
    faults which syntax to break (xml, json, pb, text)."""

    __slots__ = ('status', 'ctype', 'body', 'headers', 'records', 'commit', 'chunks', 'kind')

    def __init__(self, status, ctype, body, headers=None, records=None, kind='text',
                 commit=None, chunks=None):
        self.status = status
        self.ctype = ctype
        self.body = body
        self.headers = headers or []
        self.records = records
        self.commit = commit
        self.chunks = chunks
        self.kind = kind


XML_CT = 'text/xml; charset=utf-8'
TEXT_CT = 'text/plain; charset=utf-8'
JSON_CT = 'application/json; charset=utf-8'
NDJSON_CT = 'application/x-ndjson; charset=utf-8'


def text(status, msg, headers=None):
    return Response(status, TEXT_CT, (msg + '\n').encode(), headers)


def jsonr(obj, status=200):
    return Response(status, JSON_CT, (dumps(obj) + '\n').encode(), kind='json')


def dumps(obj):
    # Compact and UTF-8 as is, the way the toolkit writes NDJSON.
    return json.dumps(obj, ensure_ascii=False, separators=(',', ':'))


_REASONS = {}


def reason(status):
    r = _REASONS.get(status)
    if r is None:
        try:
            r = http.HTTPStatus(status).phrase
        except ValueError:
            r = 'Status %d' % status
        _REASONS[status] = r
    return r


# Text and attribute escaping. '>' is escaped too so that ']]>' in data stays legal, and CR as
# a character reference because a parser would otherwise normalise a literal CR to LF.
# Chained str.replace: several times faster than str.translate with a dict.
def xesc(s):
    if '&' in s:
        s = s.replace('&', '&amp;')
    if '<' in s:
        s = s.replace('<', '&lt;')
    if '>' in s:
        s = s.replace('>', '&gt;')
    if '\r' in s:
        s = s.replace('\r', '&#13;')
    return s


def xattr(s):
    return xesc(s).replace('"', '&quot;').replace('\n', '&#10;').replace('\t', '&#9;')


def basic_ok(req, user, password):
    """True when the request carries HTTP Basic credentials user:password."""
    h = req.headers.get('Authorization') or ''
    if h == _basic_header(user, password):       # the usual spelling: no base64 decoding
        return True
    scheme, _, cred = h.partition(' ')
    if scheme.lower() != 'basic':
        return False
    try:
        got = base64.b64decode(cred.strip(), validate=True).decode('utf-8')
    except (ValueError, UnicodeDecodeError):
        return False
    return got == '%s:%s' % (user, password)


@functools.lru_cache(maxsize=16)
def _basic_header(user, password):
    return 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode('utf-8')).decode('ascii')


def need_basic(realm):
    return text(401, 'Unauthorized', [('WWW-Authenticate', 'Basic realm="%s"' % realm)])


def intparam(d, name, default=None, lo=None, hi=None):
    """An integer parameter of a control call or of truth; ValueError names it."""
    v = d.get(name)
    if v is None or v == '':
        return default
    try:
        n = int(v)
    except ValueError:
        raise ValueError('%s: not an integer: %r' % (name, v))
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise ValueError('%s: out of range: %d' % (name, n))
    return n


def boolparam(d, name, default=False):
    v = d.get(name)
    if v is None or v == '':
        return default
    if v.lower() in ('1', 'true', 'yes', 'on'):
        return True
    if v.lower() in ('0', 'false', 'no', 'off'):
        return False
    raise ValueError('%s: not a boolean: %r' % (name, v))
