"""DocsVision StorageServer (asmx SOAP 1.1): the card-data cursor.

A card is a list of rows; its data is served as pages of `<rows><row>…</row></rows>` cut by
bytes (page size in KB), the first inline in cursorInfo/FirstPage, the others by CursorReadPage,
each an escaped string or base64 of deflate/zlib/gzip bytes. A cursor keeps the card version it
was opened on, so an edit during a read does not tear pages. Timestamps make a refresh with the
current timestamp answer nothing; an edit (control API) bumps the timestamp, changes some rows
and appends one.
"""
import base64
import functools
import gzip
import threading
import zlib

from . import datasets as D
from .common import Response, XML_CT, xesc, basic_ok, need_basic, text
from .soap import SoapError, asmx_fault, body_element, child_text, local, ns

NS = 'http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/'
ZERO = '00000000-0000-0000-0000-000000000000'
CARDS = [('empty', 0), ('small', 3), ('medium', 120)]     # + ('big', --docsvision-records)
FIELDS = ('RowID', 'Number', 'Title', 'Author', 'Created', 'Amount', 'State', 'Comment')
STATES = ('Черновик', 'На согласовании', 'Утверждён', 'Отклонён', 'В архиве')


@functools.lru_cache(maxsize=30000)
def row(seed, card, j, version):
    """Row j of a card at a version: [(field, value or None)]."""
    r = D.rng(seed, 'docsvision', card, j)
    title = D.text(r, hard=5, long=1000000)
    edits = [e for e in range(1, version + 1) if (j * 2654435761 + e * 40503) % 7 == 0]
    if edits:
        title += ' (правка %d)' % edits[-1]
    return (('RowID', D.guid(r).upper()), ('Number', str(j + 1)), ('Title', title),
            ('Author', '%s %s.' % (r.choice(D.LAST), r.choice(D.FIRST)[0])),
            ('Created', '2019-%02d-%02dT%02d:%02d:00' % (r.randint(1, 12), r.randint(1, 28),
                                                          r.randrange(24), r.randrange(60))),
            ('Amount', D.maybe(r, 0.1, '%d.%02d' % (r.randrange(10**6), r.randrange(100)))),
            ('State', r.choice(STATES)),
            ('Comment', D.maybe(r, 0.4, D.text(r, hard=4, long=40))))


@functools.lru_cache(maxsize=30000)
def row_xml(seed, card, j, version):
    return ''.join('<%s/>' % f if v is None else '<%s>%s</%s>' % (f, xesc(v), f)
                   for f, v in row(seed, card, j, version)).join(('<row>', '</row>')).encode()


class Card:
    def __init__(self, idx, name, rows):
        self.idx, self.name, self.base = idx, name, rows
        self.id = D.stable_guid('card', name).upper()
        self.version = 0
        self.timestamp = 377104 + 1000 * idx

    @property
    def rows(self):
        return self.base + self.version if self.base else 0


class DocsVision:
    name = 'docsvision'

    def __init__(self, cfg):
        self.cfg = cfg
        self.seed = cfg.seed
        self.cards = [Card(i, n, r) for i, (n, r) in
                      enumerate(CARDS + [('big', cfg.docsvision_records)])]
        self.sessions = {cfg.docsvision_session.lower()}
        self.cursors = {}          # id → (card idx, version, page starts)
        self.starts = {}           # (card idx, version) → page starts, computed once
        self.pages = {}            # (card idx, version, k, start, end) → (payload, rows)
        self.serial = 0
        self.lock = threading.Lock()

    # --- pages
    def page_starts(self, card, version):
        key = (card.idx, version)
        with self.lock:
            s = self.starts.get(key)
        if s is not None:
            return s
        limit = self.cfg.docsvision_page_kb * 1024 - len('<rows></rows>')
        n = card.base + version if card.base else 0
        s, size = [0], 0
        for j in range(n):
            b = len(row_xml(self.seed, card.idx, j, version))
            if size and size + b > limit:
                s.append(j)
                size = 0
            size += b
        s.append(n)
        with self.lock:
            self.starts[key] = s
        return s

    def page(self, card, version, starts, k):
        """Page k (1-based) as the string that goes into FirstPage/data, cached: a page is
        assembled (and compressed) once however often it is read."""
        key = (card.idx, version, k, starts[k - 1], starts[k])
        with self.lock:
            hit = self.pages.get(key)
        if hit is None:
            hit = self._page(card, version, starts, k)
            with self.lock:
                if len(self.pages) >= 1000:
                    self.pages.clear()
                self.pages[key] = hit
        return hit

    def _page(self, card, version, starts, k):
        rows = [row_xml(self.seed, card.idx, j, version) for j in range(starts[k - 1], starts[k])]
        doc = b'<rows>' + b''.join(rows) + b'</rows>' if rows else b'<rows/>'
        c = self.cfg.docsvision_compression
        if c == 'none':
            return xesc(doc.decode()), len(rows)
        if c == 'deflate':
            z = zlib.compressobj(6, zlib.DEFLATED, -15)     # raw, like .NET DeflateStream
            data = z.compress(doc) + z.flush()
        elif c == 'zlib':
            data = zlib.compress(doc)
        else:
            data = gzip.compress(doc, mtime=0)
        return base64.b64encode(data).decode(), len(rows)

    def card(self, ident):
        ident = (ident or '').strip().strip('{}').upper()
        for c in self.cards:
            if c.id == ident or c.name.upper() == ident:
                return c
        return None

    def edit(self, card):
        with self.lock:
            card.version += 1
            card.timestamp += 101

    # --- requests
    def parse(self, req):
        cfg = self.cfg
        if not cfg.docsvision_no_auth and not basic_ok(req, cfg.docsvision_user, cfg.docsvision_password):
            return need_basic('docsvision')
        if req.method != 'POST':
            return text(405, 'Method Not Allowed', [('Allow', 'POST')])
        try:
            el = body_element(req.body)
        except SoapError as e:
            return asmx_fault('Client', str(e))
        method = local(el.tag)
        req.op = method
        action = (req.headers.get('SOAPAction') or '').strip().strip('"')
        p = req.params
        p['op'] = method
        if ns(el.tag) != NS or action != NS + method:
            return asmx_fault('Client', 'Server did not recognize the value of HTTP Header '
                              'SOAPAction: %s.' % action)
        q = '{%s}' % NS
        for f in ('sessionId', 'instanceID', 'instanceId', 'timestamp', 'cursorId', 'pageNum'):
            v = child_text(el, q + f)
            if v is not None:
                p[f] = v
        if method != 'SessionLogin' and p.get('sessionId', '').lower() not in self.sessions:
            return asmx_fault('Client', 'Invalid session')
        return None

    def serve(self, req):
        p = req.params
        try:
            return getattr(self, 'do_' + p['op'])(p)
        except AttributeError:
            return asmx_fault('Client', 'Unknown method %s' % p['op'])
        except SoapError as e:
            return asmx_fault(e.name or 'Client', str(e))

    def _answer(self, method, inner, records=None):
        body = ('<?xml version="1.0" encoding="utf-8"?>\n'
                '<soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
                'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">\n'
                '  <soap:Body>\n'
                + ('    <%sResponse xmlns="%s">%s</%sResponse>\n' % (method, NS, inner, method)
                   if inner else '    <%sResponse xmlns="%s" />\n' % (method, NS)) +
                '  </soap:Body>\n'
                '</soap:Envelope>\n')
        return Response(200, XML_CT, body.encode(), records=records, kind='xml')

    def do_SessionLogin(self, p):
        with self.lock:
            self.serial += 1
            sid = D.guid(D.rng(self.seed, 'session', self.serial))
            self.sessions.add(sid)
        return self._answer('SessionLogin', '<SessionLoginResult>%s</SessionLoginResult>' % sid)

    def do_CursorOpenCardData(self, p):
        return self._open('CursorOpenCardData', p, 'instanceID')

    def do_CursorRefreshCardData(self, p):
        return self._open('CursorRefreshCardData', p, 'instanceId')

    def _open(self, method, p, idname):
        if idname not in p:
            raise SoapError('%s is required' % idname)
        card = self.card(p[idname])
        if card is None:
            raise SoapError('Card %s not found' % p[idname], 'Server')
        try:
            ts = int(p.get('timestamp', '0'))
        except ValueError:
            raise SoapError('timestamp is not a long')
        with self.lock:
            version, now = card.version, card.timestamp
        if ts == now:
            return self._answer(method, '<timestamp>%d</timestamp>' % now, 0)
        starts = self.page_starts(card, version)
        pages = len(starts) - 1 if card.rows else 0
        first, n = self.page(card, version, starts, 1) if pages else self.page(card, version, [0, 0], 1)
        cid = ZERO
        if pages > 1:
            with self.lock:
                self.serial += 1
                cid = D.guid(D.rng(self.seed, 'cursor', self.serial))
                self.cursors[cid] = (card, version, starts)
        p.update({'cursorId': cid, 'pages': pages})
        inner = ('<timestamp>%d</timestamp><cursorInfo><ID>%s</ID><PageCount>%d</PageCount>'
                 '<RowCount>%d</RowCount><FirstPage>%s</FirstPage>'
                 '<UsingCompression>%s</UsingCompression></cursorInfo>') % (
            now, cid, pages, starts[-1] if pages else 0, first,
            'false' if self.cfg.docsvision_compression == 'none' else 'true')
        return self._answer(method, inner, n)

    def _cursor(self, p):
        cid = p.get('cursorId', '').lower()
        with self.lock:
            c = self.cursors.get(cid)
        if c is None:
            raise SoapError('Cursor not found', 'Server')
        return cid, c

    def do_CursorReadPage(self, p):
        _, (card, version, starts) = self._cursor(p)
        try:
            k = int(p.get('pageNum', ''))
        except ValueError:
            raise SoapError('pageNum is not an unsignedInt')
        if not 1 <= k < len(starts):
            raise SoapError('Page %d is out of range 1..%d' % (k, len(starts) - 1), 'Server')
        data, n = self.page(card, version, starts, k)
        return self._answer('CursorReadPage', '<data>%s</data><usingCompression>%s</usingCompression>' % (
            data, 'false' if self.cfg.docsvision_compression == 'none' else 'true'), n)

    def do_CursorGetPageCount(self, p):
        _, (card, version, starts) = self._cursor(p)
        return self._answer('CursorGetPageCount', '<count>%d</count>' % (len(starts) - 1))

    def do_CursorClose(self, p):
        if p.get('cursorId', '').lower() == ZERO:
            return self._answer('CursorClose', '')       # nothing was opened: nothing to close
        cid, _ = self._cursor(p)
        with self.lock:
            self.cursors.pop(cid, None)
        return self._answer('CursorClose', '')

    def fault(self, rule, req):
        if rule.kind == 'soap_fault':
            return asmx_fault(rule.params.get('code', 'Server'),
                              rule.params.get('name') or rule.params.get('message') or 'Injected fault')
        return None

    # --- control
    def truth(self, q):
        card = self.card(q.get('card'))
        if card is None:
            raise ValueError('card: unknown card %r' % q.get('card'))
        with self.lock:
            version = card.version
        for j in range(card.rows):
            yield dict(row(self.seed, card.idx, j, version))

    def info(self):
        cards = []
        for c in self.cards:
            starts = self.page_starts(c, c.version) if c.rows <= 200000 else None
            cards.append({'id': c.id, 'name': c.name, 'rows': c.rows, 'timestamp': c.timestamp,
                          'pages': (len(starts) - 1 if c.rows else 0) if starts else None})
        with self.lock:
            return {'session_id': self.cfg.docsvision_session, 'cards': cards,
                    'open_cursors': sorted(self.cursors)}
