"""DocsVision StorageServer (asmx SOAP 1.1): sessions and the card-data cursor.

SessionLogin (baseName, sessionSettings) opens a session, SessionLogout closes it; the open
sessions are counted (info). A card is a list of rows; its data is served as pages cut by bytes
(page size in KB), the first inline in cursorInfo/FirstPage, the others by CursorReadPage, each
an escaped string or base64 of deflate/zlib/gzip bytes. A page is `<rows><row><F>…</F></row>…`
or, with docsvision_rows=attributes, `<RowData><row F="…"/>…` (the form of RowSetData).
A cursor keeps the card version it was opened on, so an edit during a read does not tear
pages. Timestamps make a refresh with the current timestamp answer nothing; an edit (control
API) bumps the timestamp, changes some rows and appends one. HTTP authentication: Basic,
NTLM (ntlm.py, per connection) or none. Ids are GUIDs, refused otherwise as asmx does; fault
messages in English or Russian, permanent ones with a detail element (CONFORMANCE.md).
"""
import base64
import functools
import gzip
import re
import threading
import xml.etree.ElementTree as ET
import zlib

from . import datasets as D
from . import ntlm
from .common import Response, XML_CT, xattr, xesc, basic_ok, need_basic, text
from .soap import SoapError, asmx_fault, body_element, child_text, local, ns

NS = 'http://schemas.docsvision.com/Platform/2009-02-03/StorageServer/'
ZERO = '00000000-0000-0000-0000-000000000000'
CARDS = [('empty', 0), ('small', 3), ('medium', 120)]     # + ('big', --docsvision-records)
GUID = re.compile(r'[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\Z')
GUID_FIELDS = ('sessionId', 'instanceID', 'instanceId', 'cursorId')
# Setting names and types of sessionSettings (the guide's SessionLogin page).
SETTINGS = {'AppID': 'string', 'BaseName': 'string', 'ClientVersion': 'int', 'Compression': 'boolean',
            'ComputerAddress': 'string', 'ComputerName': 'string', 'FileBlockSize': 'int',
            'LocaleID': 'int', 'MinCompressSize': 'int'}
# Fault messages: English, Russian (docsvision_fault_language).
MESSAGES = {
    'guid': ('Server was unable to read request. ---> There is an error in XML document (1, 1). ---> '
             'Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).',
             'Сервер не может прочитать запрос. ---> Ошибка в документе XML (1, 1). ---> '
             'Guid должен содержать 32 цифры и 4 дефиса (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).'),
    'session': ('Invalid session', 'Недействительный идентификатор сессии'),
    'card': ('Card %s not found', 'Карточка %s не найдена'),
    'cursor': ('Cursor not found', 'Курсор не найден'),
    'page': ('Page %d is out of range %d..%d', 'Страница %d вне диапазона %d..%d'),
    'base': ('Database %s not found', 'База данных %s не найдена'),
    'settings': ('Invalid session settings: %s', 'Неверные параметры сессии: %s'),
    'injected': ('Injected fault', 'Внедрённая ошибка'),
}
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


@functools.lru_cache(maxsize=30000)
def row_attrs(seed, card, j, version):
    """The row as RowSetData writes one: fields as attributes, a null field left out."""
    return ('<row%s/>' % ''.join(' %s="%s"' % (f, xattr(v))
                                 for f, v in row(seed, card, j, version) if v is not None)).encode()


# The two page forms: (row function, root element).
FORMS = {'elements': (row_xml, 'rows'), 'attributes': (row_attrs, 'RowData')}


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
        self.logins = set()        # sessions opened by SessionLogin and not closed
        self.row_bytes, self.root = FORMS[cfg.docsvision_rows]
        self.lang = 1 if cfg.docsvision_fault_language == 'ru' else 0
        self.auth = 'none' if cfg.docsvision_no_auth else cfg.docsvision_auth
        self.ntlm = ntlm.Server(cfg.docsvision_user, cfg.docsvision_password)
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
        limit = self.cfg.docsvision_page_kb * 1024 - 2 * len(self.root) - 5
        n = card.base + version if card.base else 0
        s, size = [0], 0
        for j in range(n):
            b = len(self.row_bytes(self.seed, card.idx, j, version))
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
        rows = [self.row_bytes(self.seed, card.idx, j, version) for j in range(starts[k - 1], starts[k])]
        root = self.root.encode()
        doc = b'<%s>%s</%s>' % (root, b''.join(rows), root) if rows else b'<%s/>' % root
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
    def msg(self, key, *args):
        m = MESSAGES[key][self.lang]
        return m % args if args else m

    def challenge(self, req):
        """HTTP authentication: None when the request may go on, else the 401 to send."""
        cfg = self.cfg
        if self.auth == 'basic':
            if basic_ok(req, cfg.docsvision_user, cfg.docsvision_password):
                return None
            return need_basic('docsvision')
        if self.auth == 'ntlm':
            www = self.ntlm.step(req.conn, req.headers.get('Authorization'))
            return None if www is None else text(401, 'Unauthorized', [('WWW-Authenticate', www)])
        return None

    def parse(self, req):
        cfg = self.cfg
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
        for f in ('sessionId', 'instanceID', 'instanceId', 'timestamp', 'cursorId', 'pageNum', 'baseName'):
            v = child_text(el, q + f)
            if v is not None:
                p[f] = v
        for f in GUID_FIELDS:
            # an asmx service deserialises a Guid before the method runs: braces or none
            v = p.get(f)
            if v is not None and not (GUID.match(v) or (v[:1] == '{' and v[-1:] == '}' and GUID.match(v[1:-1]))):
                return asmx_fault('Client', self.msg('guid'))
            if v is not None:
                p[f] = v.strip('{}')
        if method == 'SessionLogin':
            req.params['settings'] = el.find(q + 'sessionSettings')
        elif p.get('sessionId', '').lower() not in self.sessions:
            return asmx_fault('Client', self.msg('session'), detail='InvalidSession', detail_ns=NS)
        return None

    def serve(self, req):
        p = req.params
        try:
            return getattr(self, 'do_' + p['op'])(p)
        except AttributeError:
            return asmx_fault('Client', 'Unknown method %s' % p['op'])
        except SoapError as e:
            return asmx_fault(e.name or 'Client', str(e), detail=e.detail, detail_ns=NS)

    def gone(self, key, *args):
        """A permanent fault: soap:Server with a detail element naming it."""
        detail = {'card': 'CardNotFound', 'cursor': 'CursorNotFound', 'page': 'PageOutOfRange',
                  'base': 'DatabaseNotFound'}[key]
        return SoapError(self.msg(key, *args), 'Server', detail)

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
        settings = self._settings(p.pop('settings', None))
        base = p.get('baseName') or ''
        if base and base.lower() != self.cfg.docsvision_base_name.lower():
            raise self.gone('base', base)
        p['settings'] = ';'.join('%s=%s' % kv for kv in settings)
        with self.lock:
            self.serial += 1
            sid = D.guid(D.rng(self.seed, 'session', self.serial))
            self.sessions.add(sid)
            self.logins.add(sid)
        p['sessionId'] = sid
        user = [('BaseName', 'string', self.cfg.docsvision_base_name)] + [
            (n, SETTINGS[n], v) for n, v in settings if n != 'BaseName']
        doc = '<Settings>%s</Settings>' % ''.join(
            '<Setting Name="%s" Type="%s">%s</Setting>' % (n, t, xesc(v)) for n, t, v in user)
        return self._answer('SessionLogin', '<sessionId>%s</sessionId><userSettings>%s</userSettings>' % (
            sid, xesc(doc)))

    def _settings(self, el):
        """The (name, value) pairs of a sessionSettings string (an escaped Settings document),
        checked against the documented names and types; SoapError (soap:Client) otherwise."""
        raw = (el.text or '').strip() if el is not None else ''
        if not raw:
            return []
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as e:
            raise SoapError(self.msg('settings', 'malformed XML: %s' % e))
        if root.tag != 'Settings' or any(c.tag != 'Setting' for c in root):
            raise SoapError(self.msg('settings', 'not <Settings><Setting …/></Settings>'))
        out = []
        for c in root:
            name, typ, val = c.get('Name'), c.get('Type'), (c.text or '')
            if SETTINGS.get(name) is None or typ != SETTINGS[name]:
                raise SoapError(self.msg('settings', 'unknown setting %s of type %s' % (name, typ)))
            if (typ == 'int' and not re.fullmatch(r'-?[0-9]+', val)) or \
                    (typ == 'boolean' and val not in ('true', 'false', '0', '1')):
                raise SoapError(self.msg('settings', '%s: not a%s %s' % (name, 'n' if typ == 'int' else '', typ)))
            out.append((name, val))
        return out

    def do_SessionLogout(self, p):
        sid = p['sessionId'].lower()
        with self.lock:
            if sid in self.logins:            # the fixed session of --docsvision-session stays
                self.logins.discard(sid)
                self.sessions.discard(sid)
        return self._answer('SessionLogout', '')

    def do_CursorOpenCardData(self, p):
        return self._open('CursorOpenCardData', p, 'instanceID')

    def do_CursorRefreshCardData(self, p):
        return self._open('CursorRefreshCardData', p, 'instanceId')

    def _open(self, method, p, idname):
        if idname not in p:
            raise SoapError('%s is required' % idname)
        card = self.card(p[idname])
        if card is None:
            raise self.gone('card', p[idname])
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
            raise self.gone('cursor')
        return cid, c

    def do_CursorReadPage(self, p):
        _, (card, version, starts) = self._cursor(p)
        try:
            k = int(p.get('pageNum', ''))
        except ValueError:
            raise SoapError('pageNum is not an unsignedInt')
        base = int(self.cfg.docsvision_page_base)  # 1: FirstPage is page 1; 0: it is page 0
        last = len(starts) - 1 - (1 - base)
        if not base <= k <= last:
            if self.cfg.docsvision_past_end == 'empty' and k > last:
                return self._answer('CursorReadPage', '<data>%s</data><usingCompression>false</usingCompression>' % (
                    xesc('<%s/>' % self.root)), 0)
            raise self.gone('page', k, base, last)
        data, n = self.page(card, version, starts, k + 1 - base)
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
            # name=: a permanent fault (a detail element of that name); none: an empty detail
            return asmx_fault(rule.params.get('code', 'Server'),
                              rule.params.get('message') or self.msg('injected'),
                              detail=rule.params.get('name'), detail_ns=NS)
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
                    'open_cursors': sorted(self.cursors), 'open_sessions': sorted(self.logins)}
