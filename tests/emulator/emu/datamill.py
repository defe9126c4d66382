"""Data Mill (techmill) REST function `cursor`, XML (cursor.xml) and JSON (cursor.json, .js).

A query opens a server-side cursor named by a handle; every call with the handle returns the
next packet, capped by object count and bytes, until eof. The cursor scans the generated rows
lazily, so a filter over a million rows costs only the rows actually delivered (plus a look-ahead
for eof). A packet spoiled by an injected fault does not advance the cursor: the emulator's
`commit` runs only after a clean send, so a client's retry receives the same rows again.
"""
import datetime
import functools
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

from . import datasets as D
from .common import Response, XML_CT, JSON_CT, xesc, xattr, text
from .faults import retry_after

# The class TWorker: (field, type). Types: s string, d date, n number (all strings on the wire).
FIELDS = [('TabNumber', 'n'), ('LastName', 's'), ('FirstName', 's'), ('MiddleName', 's'),
          ('BirthDate', 'd'), ('HireDate', 'd'), ('AcademicStatus', 's'), ('Department', 's'),
          ('Position', 's'), ('Salary', 'n'), ('Note', 's')]
FTYPE = dict(FIELDS)
# The item parts techmill publishes. The function's page
# (techmill.ru/current/documentation/datamill/30AEDAA99F364DCDB2A5360BA2857CA0.html) spells
# them what, where, order; the partitions page (…/94BEDEEE380746C4AF23FB107B7E765D.html) adds
# group and having; the seed's page (…/F6E7FD72E9AC4ACB990B993BD5945FD2.html, seed 001) writes
# 0 for what and 1 for where. Nothing published shows another number (no "2" for order), so
# the emulator refuses anything else, as a server that did not know it would.
PARTS = {'what': 0, '0': 0, 'where': 1, '1': 1, 'order': 2}
UNSUPPORTED_PARTS = ('group', 'having')     # published, not emulated: a 400 that says so


class BadQuery(ValueError):
    pass


# r.random() < p as the draw's top 53 bits against p * 2**53 (both sides exact, so the same).
_P05, _P10, _P20, _P30, _P50 = (p * 9007199254740992 for p in (0.05, 0.1, 0.2, 0.3, 0.5))
_BIRTH0 = datetime.date(1950, 1, 1)
_DAY = datetime.timedelta(days=1)
_LAST, _HARD, _FIRST, _MIDDLE, _ACADEMIC, _DEPTS, _POSITIONS = (
    (v, len(v)) for v in (D.LAST, D.HARD, D.FIRST, D.MIDDLE, D.ACADEMIC, D.DEPTS, D.POSITIONS))


@functools.lru_cache(maxsize=30000)
def worker(seed, i):
    """Row i: {field: str | datetime.date | None}. The draws of rng(seed, 'datamill', i) are
    called directly, in the order Rng's choice/randrange/random and datasets.maybe/text would
    make them (a cold packet is ten of these; the methods were a third of the time)."""
    nx = D.draws24(b"(%d, 'datamill', %d)" % (seed, i) if type(seed) is int and type(i) is int
                   else repr((seed, 'datamill', i)).encode())
    birth = _BIRTH0 + nx() % 18000 * _DAY
    hire = birth + (18 * 365 + nx() % 7000) * _DAY
    last = _LAST[0][nx() % _LAST[1]] if nx() >> 11 > _P05 else _HARD[0][nx() % _HARD[1]]
    first = _FIRST[0][nx() % _FIRST[1]]
    middle = _MIDDLE[0][nx() % _MIDDLE[1]]
    if nx() >> 11 < _P20:
        middle = None
    if nx() >> 11 < _P10:
        hire = None
    academic = _ACADEMIC[0][nx() % _ACADEMIC[1]]
    if nx() >> 11 < _P50:
        academic = None
    department = _DEPTS[0][nx() % _DEPTS[1]]
    position = _POSITIONS[0][nx() % _POSITIONS[1]]
    salary = 20000 + nx() % 280000
    salary = '%d.%02d' % (salary, nx() % 100)
    note = D.text_n(nx, D.WORDS, 6, 50)
    if nx() >> 11 < _P30:
        note = None
    return {
        'TabNumber': str(100000 + i),
        'LastName': last,
        'FirstName': first,
        'MiddleName': middle,
        'BirthDate': birth,
        'HireDate': hire,
        'AcademicStatus': academic,
        'Department': department,
        'Position': position,
        'Salary': salary,
        'Note': note,
    }


def parse_date(s):
    try:
        d, m, y = s.split('.')
        return datetime.date(int(y), int(m), int(d))
    except ValueError:
        raise BadQuery('bad date %r (dd.mm.yyyy)' % s)


class Query:
    """A parsed XML query: select list, filters (field, op, value), order fields, fetchall."""

    def __init__(self, xml):
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as e:
            raise BadQuery('malformed query: %s' % e)
        if root.tag != 'query':
            raise BadQuery('the root element must be <query>')
        if root.get('class') is None:        # "обязательный атрибут class" (the docs)
            raise BadQuery('the attribute class is required')
        if root.get('class') != 'TWorker':
            raise BadQuery('unknown class %r' % root.get('class'))
        if root.get('fetchall', '0') not in ('0', '1'):
            raise BadQuery('fetchall must be "0" or "1", not %r' % root.get('fetchall'))
        self.fetchall = root.get('fetchall', '0') == '1'
        self.select, self.filters, self.order = [], [], []
        for it in root:
            if it.tag != 'item':
                raise BadQuery('unknown element <%s> in <query>' % it.tag)
            self._item(it)
        if not self.select:
            self.select = [f for f, _ in FIELDS]

    def _item(self, it):
        if it.get('part') is None:
            raise BadQuery('an item without a part')
        if it.get('part') in UNSUPPORTED_PARTS or it.get('special') is not None:
            raise BadQuery('part %r, special %r: not implemented by the emulator'
                           % (it.get('part'), it.get('special')))
        part, name = PARTS.get(it.get('part')), it.get('name')
        if part is None:
            raise BadQuery('unknown part %r (what, where, order, group, having; 0, 1)' % it.get('part'))
        if name not in FTYPE:
            raise BadQuery('unknown field %r' % name)
        if part != 1 and it.get('value') is not None:
            raise BadQuery('a value on a %s item' % it.get('part'))
        if part == 0:
            self.select.append(name)
        elif part == 1:
            if it.get('value') is None:
                raise BadQuery('a where item without a value')
            self.filters.append(self._filter(name, it.get('value')))
        else:
            self.order.append(name)

    @staticmethod
    def _filter(name, v):
        """A where value: ">x" and "<x" compare (the seed shows ">12.05.2000"), anything else
        is the value itself (the docs show "А*"), where a string's "*" stands for any run of
        characters. "=" is no operator in anything published: "=x" is the string "=x", and a
        date or a number that does not parse is refused."""
        op = v[:1] if v[:1] in ('<', '>') else '='
        v = v[1:] if op != '=' else v
        t = FTYPE[name]
        if t == 'd':
            val = parse_date(v)
        elif t == 'n':
            try:
                val = Decimal(v)
            except InvalidOperation:
                raise BadQuery('bad number %r' % v)
        elif op == '=' and '*' in v:
            op, val = '~', re.compile('.*'.join(re.escape(x) for x in v.split('*')), re.S)
        else:
            val = v
        return name, op, val

    def match(self, row):
        for name, op, val in self.filters:
            x = row[name]
            if x is None:
                return False
            if FTYPE[name] == 'n':
                x = Decimal(x)
            if op == '~':
                if not val.fullmatch(x):
                    return False
            elif not (x == val if op == '=' else x > val if op == '>' else x < val):
                return False
        return True


def _key(v):
    # Sort key that puts nulls last and compares numbers as numbers.
    return (v is None, v if not isinstance(v, str) or not v.replace('.', '').isdigit() else Decimal(v))


class Cursor:
    def __init__(self, handle, query, n, seed):
        self.handle, self.query, self.n, self.seed = handle, query, n, seed
        self.pos = 0                     # next index into the source sequence
        self.used = time.monotonic()
        if query.order:
            # Ordering needs every matching row up front; only done when asked for.
            idx = [i for i in range(n) if query.match(worker(seed, i))]
            idx.sort(key=lambda i: tuple(_key(worker(seed, i)[f]) for f in query.order))
            self.seq = idx
        else:
            self.seq = None

    def source(self, k):
        return self.seq[k] if self.seq is not None else k

    def length(self):
        return len(self.seq) if self.seq is not None else self.n

    def next_match(self, k):
        """The first position ≥ k whose row matches (seq rows already match)."""
        if self.seq is not None:
            return k
        q = self.query
        while k < self.n and q.filters and not q.match(worker(self.seed, k)):
            k += 1
        return k


def row_xml(row, select):
    out = ['<row>']
    for f in select:
        v = row[f]
        t = ' type="date"' if FTYPE[f] == 'd' else ''
        if v is None:
            out.append('<%s%s/>' % (f, t))
        elif isinstance(v, datetime.date):
            out.append('<%s%s>%02d.%02d.%04d</%s>' % (f, t, v.day, v.month, v.year, f))
        else:
            out.append('<%s>%s</%s>' % (f, xesc(v), f))
    out.append('</row>')
    return '\n'.join(out).encode()


def row_json(row, select):
    d = {}
    for f in select:
        v = row[f]
        if isinstance(v, datetime.date):
            v = {'year': v.year, 'month': v.month - 1, 'day': v.day}   # 0-based month
        d[f] = v
    # Compact: json's C encoder is not used with indent, and this runs for every row sent.
    return _JSON.encode(d).encode()


# json.dumps(d, ensure_ascii=False, separators=(', ', ': ')) without making an encoder a call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(', ', ': '))


@functools.lru_cache(maxsize=30000)
def row_bytes(seed, i, select, fmt):
    """Row i encoded for a packet, cached: packets are re-read on retries and benchmarks."""
    return (row_xml if fmt == 'xml' else row_json)(worker(seed, i), select)


def truth_row(row, select):
    return {f: (row[f].isoformat() if isinstance(row[f], datetime.date) else row[f]) for f in select}


class DataMill:
    name = 'datamill'

    def __init__(self, cfg):
        self.cfg = cfg
        self.seed = cfg.seed
        self.n = cfg.datamill_records
        self.cursors = {}
        self.serial = 0
        self.lock = threading.Lock()

    def parse(self, req):
        if req.method not in ('GET', 'POST'):
            return text(405, 'Method Not Allowed', [('Allow', 'GET, POST')])
        fmt = 'xml' if req.path.endswith('.xml') else 'json'
        q = req.form().get('query')
        req.params = {'format': fmt}
        if q is None or not q.strip():
            return text(400, 'Bad Request: parameter query is required')
        q = q.strip()
        if q.startswith('<'):
            req.op = 'query'
            req.params['query'] = q if len(q) <= 300 else q[:300] + '…'
            try:
                req.params['parsed'] = Query(q)
            except BadQuery as e:
                return text(400, 'Bad Request: %s' % e)
        else:
            req.op = 'handle'
            req.handle = q
            req.params['handle'] = q
        return None

    def _open(self, query):
        with self.lock:
            self.serial += 1
            h = '{%s}' % D.guid(D.rng(self.seed, 'handle', self.serial)).upper()
            c = Cursor(h, query, self.n, self.seed)
            self.cursors[h] = c
            return c

    def _lookup(self, h):
        with self.lock:
            c = self.cursors.get(h)
            ttl = self.cfg.datamill_handle_ttl
            if c and ttl and time.monotonic() - c.used > ttl:
                del self.cursors[h]
                c = None
            return c

    def expire(self, h):
        with self.lock:
            self.cursors.pop(h, None)

    def serve(self, req):
        p = req.params
        if req.handle is not None:
            c = self._lookup(req.handle)
            if c is None:
                return text(404, 'Not Found: unknown or expired handle %s' % req.handle)
        else:
            c = self._open(p.pop('parsed'))
            p['handle'] = c.handle
        with self.lock:
            start = c.pos
        fmt = p['format']
        select = tuple(c.query.select)
        maxo, maxb = self.cfg.datamill_max_objects, self.cfg.datamill_max_bytes
        rows, size, k = [], 0, c.next_match(start)
        while k < c.length():
            b = row_bytes(self.seed, c.source(k), select, fmt)
            if rows and not c.query.fetchall and (len(rows) >= maxo or size + len(b) > maxb):
                break
            rows.append(b)
            size += len(b)
            k = c.next_match(k + 1)
        eof = k >= c.length()

        def commit():
            with self.lock:
                c.pos = k
                c.used = time.monotonic()
        return Response(200, XML_CT if fmt == 'xml' else JSON_CT, self._packet(fmt, c.handle, eof, rows),
                        records=len(rows), kind=fmt, commit=commit)

    def _packet(self, fmt, handle, eof, rows):
        omit = not eof and self.cfg.datamill_omit_eof
        if fmt == 'xml':
            e = '' if omit else ' eof="%d"' % eof
            return (('<?xml version="1.0" encoding="utf-8"?>\n<data handle="%s"%s>\n' % (xattr(handle), e)).encode()
                    + b'\n'.join(rows) + b'\n</data>\n')
        style = self.cfg.datamill_eof_style
        ev = {'bool': 'true' if eof else 'false', 'string': '"%d"' % eof, 'number': '%d' % eof}[style]
        e = '' if omit else '\n"eof": %s,' % ev
        return ('{\n"handle": "%s",%s\n"data": [\n' % (handle, e)).encode() + b',\n'.join(rows) + b'\n]\n}\n'

    def fault(self, rule, req):
        if rule.kind == 'api_error':
            status = int(rule.params['status'])
            ra = retry_after(rule)
            return text(status, rule.params.get('message') or 'Injected error %d' % status,
                        [('Retry-After', ra)] if ra else None)
        if rule.kind == 'expire_handle':
            self.expire(req.handle)
            return text(404, 'Not Found: unknown or expired handle %s' % req.handle)
        return None

    def truth(self, q):
        query = Query(q.get('query') or '<query class="TWorker"/>')
        c = Cursor('', query, self.n, self.seed)
        k = c.next_match(0)
        while k < c.length():
            yield truth_row(worker(self.seed, c.source(k)), query.select)
            k = c.next_match(k + 1)

    def info(self):
        with self.lock:
            return {'handles': len(self.cursors)}
