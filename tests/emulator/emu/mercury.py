"""Mercury / VetIS ProductService 2.0: GetProductByTypeList with offset/count paging.

The dataset is split over the eight product types. Each type's list is the records inserted
at run time (newest first: the shifting-offset problem) followed by the generated ones.
Products are serialised once and cached; the response re-declares namespace prefixes on inner
elements in three different ways, as the real service does, so clients must match by URI.
"""
import datetime
import functools
import re
import threading
import xml.etree.ElementTree as ET

from . import datasets as D
from .common import Response, XML_CT, xesc, basic_ok, need_basic, text, intparam
from .soap import SOAP_NS, SoapError

NS_WS = 'http://api.vetrf.ru/schema/cdm/registry/ws-definitions/v2'
NS_BS = 'http://api.vetrf.ru/schema/cdm/base'
NS_DT = 'http://api.vetrf.ru/schema/cdm/dictionary/v2'
NS_FAULT = 'http://api.vetrf.ru/schema/cdm/base/ws-definitions'
TYPES = range(1, 9)
WEIGHTS = [4, 2, 3, 1, 6, 2, 1, 1]          # uneven on purpose; type 5 is the biggest
FAULTS = {  # name: (faultcode, faultstring, error code)
    'internalServiceFault': ('soapenv:Server', 'Internal service error', 'APLM0000'),
    'incorrectRequestFault': ('soapenv:Client', 'Incorrect request', 'APLM0001'),
    'offsetOutOfRangeFault': ('soapenv:Client', 'Offset out of range', 'APLM0008'),
}
BS_FIELDS = ('uuid', 'guid', 'active', 'last', 'status', 'createDate', 'updateDate', 'previous')


def client_fault(string, status=500):
    """A fault raised by the SOAP stack before the service runs (no detail element)."""
    body = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">\n'
            '<soapenv:Body>\n<soapenv:Fault>\n<faultcode>soapenv:Client</faultcode>\n'
            '<faultstring>%s</faultstring>\n</soapenv:Fault>\n</soapenv:Body>\n'
            '</soapenv:Envelope>\n') % xesc(string)
    return Response(status, XML_CT, body.encode(), kind='xml')


def fault(name, message, status=500):
    code, string, ecode = FAULTS[name]
    body = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">\n'
            '<soapenv:Body>\n<soapenv:Fault>\n'
            '<faultcode>%s</faultcode>\n<faultstring>%s</faultstring>\n<detail>\n'
            '<ws:%s xmlns:ws="%s" xmlns:bs="%s">\n'
            '<bs:message>%s</bs:message>\n'
            '<bs:error code="%s">%s</bs:error>\n'
            '</ws:%s>\n</detail>\n</soapenv:Fault>\n</soapenv:Body>\n</soapenv:Envelope>\n') % (
        code, string, name, NS_FAULT, NS_BS, xesc(message), ecode, xesc(message), name)
    return Response(status, XML_CT, body.encode(), kind='xml')


_DAYS = {}


def _day(d):
    """The date d days after 2011-05-23, ISO, as bytes (memoised in a dict)."""
    s = _DAYS.get(d)
    if s is None:
        s = _DAYS[d] = (datetime.date(2011, 5, 23) + datetime.timedelta(days=d)).isoformat().encode()
    return s


# The time of day and offset of a dateTime by minute of the day * 2 + the offset draw's bit.
_CLOCK = [b'T%02d:%02d:08%s' % (m // 60, m % 60, tz)
          for m in range(1440) for tz in (b'+03:00', b'+04:00')]
# r.random() < p, as a comparison of the draw's top 53 bits with p * 2**53 (exact both ways).
_P60, _P25, _P04, _P70 = (p * 9007199254740992 for p in (0.6, 0.25, 0.04, 0.7))
_GUID = b'%08x-%04x-%04x-%04x-%012x'      # datasets.guid() as bytes: the hex of two draws
_M48 = (1 << 48) - 1


def _keys(seed, ptype, key):
    """The rng() keys of a product and of its namespace spelling, repr((seed, 'mercury', ptype,
    key)).encode() and the same with 'mercury-ns', formatted directly for the usual int key."""
    if type(key) is int and type(seed) is int and type(ptype) is int:
        return (b"(%d, 'mercury', %d, %d)" % (seed, ptype, key),
                b"(%d, 'mercury-ns', %d, %d)" % (seed, ptype, key))
    return repr((seed, 'mercury', ptype, key)).encode(), repr((seed, 'mercury-ns', ptype, key)).encode()


def _variant(nskey):
    """The namespace spelling, rng(seed, 'mercury-ns', ptype, key).randrange(3): the first draw
    is the first 8 bytes of the key's digest, little-endian."""
    return int.from_bytes(D.blake2b64(nskey)[:8], 'little') % 3


_PRODUCTS, _WORDS, _HARD, _LONG = D.PRODUCTS, D.WORDS, D.HARD, D._LONG


def _values(key, rkey):
    """The product's values: (uuid, guid, created, updated, previous, name, code, englishName);
    the ASCII ones (all but name and englishName) as bytes; previous False when absent, code
    None when empty, englishName False when absent and None when empty. Drawn in the order the
    fields appear from the record's generator (rkey: rng()'s key), with datasets' guid() and
    text() and the dates of _when inlined: this is the hot loop of a cold Mercury page, where
    each call and each Rng method cost a tenth of a microsecond."""
    nx = D.draws24(rkey)
    minutes = (key if type(key) is int else 5000000 + key[1]) * 7 + nx() % 7
    d, m = divmod(minutes + 635, 1440)     # dateTimes count minutes from 2011-05-23T10:35:08
    created = (_DAYS.get(d) or _day(d)) + _CLOCK[2 * m + nx() % 2]
    a, b = nx(), nx()
    uuid_ = _GUID % (a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & _M48)
    a, b = nx(), nx()
    guid_ = _GUID % (a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & _M48)
    if nx() >> 11 < _P60:
        updated = created
    else:
        d, m = divmod(minutes + 1 + nx() % 899 + 635, 1440)
        updated = (_DAYS.get(d) or _day(d)) + _CLOCK[2 * m + nx() % 2]
    if nx() >> 11 < _P25:
        a, b = nx(), nx()
        previous = _GUID % (a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & _M48)
    else:
        previous = False
    x = nx() % 6000000                     # D.text(r, D.PRODUCTS, hard=6, long=1000000)
    if x < 6:
        name = '%s №%d' % (_LONG[nx() % 16], nx() >> 32)
    elif x % 6 == 0:
        name = _HARD[nx() % 15]
    else:
        name = ' '.join([_PRODUCTS[nx() % 10] for _ in range(2 + nx() % 5)])
    if type(key) is not int:
        name = 'вставлено: ' + name
    a, b = 100 + nx() % 9899, 100 + nx() % 9899
    code = None if nx() >> 11 < _P04 else b'%04d, %04d' % (a, b)
    x = nx() >> 11
    if x < _P60:
        x = nx() % 150                     # D.text(r, D.WORDS, hard=5, long=30)
        if x < 5:
            english = '%s №%d' % (_LONG[nx() % 16], nx() >> 32)
        elif x % 5 == 0:
            english = _HARD[nx() % 15]
        else:
            english = ' '.join([_WORDS[nx() % 15] for _ in range(2 + nx() % 5)])
    else:
        english = None if x < _P70 else False
    return uuid_, guid_, created, updated, previous, name, code, english


assert len(_PRODUCTS) == 10 and len(_WORDS) == 15 and len(_HARD) == 15 and len(_LONG) == 16


@functools.lru_cache(maxsize=30000)
def product(seed, ptype, key):
    """One product as [(field, value)]: value None is an empty element; absent optional
    fields are left out. key is the generated index, or ('ins', n) for an inserted one."""
    uuid_, guid_, created, updated, previous, name, code, english = _values(
        key, _keys(seed, ptype, key)[0])
    f = [('uuid', uuid_.decode()), ('guid', guid_.decode()), ('active', 'true'), ('last', 'true'),
         ('status', '100'), ('createDate', created.decode()), ('updateDate', updated.decode())]
    if previous is not False:
        f.append(('previous', previous.decode()))
    f.append(('name', name))
    f.append(('code', None if code is None else code.decode()))
    if english is not False:
        f.append(('englishName', english))
    f.append(('productType', str(ptype)))
    return tuple(f)


def _tags(variant):
    """{field: (open, close, empty)} for one namespace spelling of a product's children."""
    out = {}
    for n in BS_FIELDS + ('name', 'code', 'englishName', 'productType'):
        base = n in BS_FIELDS
        if variant == 0:
            q, decl = ('bs:' if base else 'dt:') + n, ''
        elif variant == 1:
            q, decl = ('base:' if base else 'dt:') + n, ''
        else:
            q, decl = n, ' xmlns="%s"' % NS_BS if base else ''
        out[n] = ('<%s%s>' % (q, decl), '</%s>' % q, '<%s%s/>' % (q, decl))
    return out


# Variant 0 uses the prefixes of the response element; variant 1 re-declares dt and binds the
# base namespace to another prefix; variant 2 makes dt the default namespace.
VARIANTS = [('<dt:product>', '</dt:product>', _tags(0)),
            ('<dt:product xmlns:dt="%s" xmlns:base="%s">' % (NS_DT, NS_BS), '</dt:product>', _tags(1)),
            ('<product xmlns="%s">' % NS_DT, '</product>', _tags(2))]


def _template(open_, close, t):
    """One variant's product XML as bytes formats: ({productType: whole}, previous, code,
    empty code, englishName, empty englishName), where whole % (uuid, guid, created, updated,
    previous element, name, code element, englishName element) is the product. Elements are
    joined by newlines; values other than name and englishName never need escaping (hex,
    digits, dates)."""
    def el(n, v='%s'):
        return '\n' + t[n][0] + v + t[n][1]
    head = (open_ + el('uuid') + el('guid') + el('active', 'true') + el('last', 'true') +
            el('status', '100') + el('createDate') + el('updateDate') + '%s' + el('name') + '%s%s')
    whole = {p: (head + el('productType', str(p)) + '\n' + close).encode() for p in TYPES}
    return (whole, el('previous').encode(), el('code').encode(), ('\n' + t['code'][2]).encode(),
            el('englishName').encode(), ('\n' + t['englishName'][2]).encode())


_TEMPLATES = [_template(*v) for v in VARIANTS]


@functools.lru_cache(maxsize=30000)
def product_xml(seed, ptype, key):
    """The product's XML in one of the three namespace spellings, chosen by the record."""
    rkey, nskey = _keys(seed, ptype, key)
    uuid_, guid_, created, updated, previous, name, code, english = _values(key, rkey)
    whole, prev_t, code_t, code_e, eng_t, eng_e = _TEMPLATES[_variant(nskey)]
    # One bytes format a product (the ASCII values are bytes already): building a str and
    # encoding it at the end cost as much again.
    return whole[ptype] % (
        uuid_, guid_, created, updated, b'' if previous is False else prev_t % previous,
        xesc(name).encode(), code_e if code is None else code_t % code,
        b'' if english is False else eng_e if english is None else eng_t % xesc(english).encode())


_REQUEST = '{%s}getProductByTypeListRequest' % NS_WS
_LIST_OPTIONS, _COUNT, _OFFSET = ('{%s}%s' % (NS_BS, n) for n in ('listOptions', 'count', 'offset'))
_PRODUCT_TYPE = '{%s}productType' % NS_DT
_SOAP_ACTION = 'GetProductByTypeList'
_ENVELOPE, _HEADER, _BODY = ('{%s}%s' % (SOAP_NS, n) for n in ('Envelope', 'Header', 'Body'))
_NNI = re.compile(r'\+?[0-9]+')         # xs:nonNegativeInteger's lexical space, "-0" aside
_PTYPE = re.compile('[1-8]')             # dt:ProductType's enumeration


def _sequence(el, names):
    """The children of el against an xs:sequence of optional, single elements (names, in
    order, by namespace URI): {name: child}, or SoapError naming the first element out of
    place. Text between the children must be whitespace (no mixed content)."""
    got, i = {}, 0
    if (el.text or '').strip():
        raise SoapError('text in %s' % el.tag)
    for c in el:
        while i < len(names) and names[i] != c.tag:
            i += 1
        if i == len(names):
            raise SoapError('unexpected element %s in %s (expected, in this order: %s)'
                            % (c.tag, el.tag, ', '.join(names)))
        got[c.tag] = c
        i += 1
        if (c.tail or '').strip():
            raise SoapError('text after %s' % c.tag)
    return got


def _simple(el, pattern):
    """The text of a simple-typed element, whitespace collapsed, or SoapError."""
    if el is None:
        return None
    if len(el):
        raise SoapError('element content in %s' % el.tag)
    v = (el.text or '').strip()
    if not pattern.fullmatch(v):
        raise SoapError('%r is not a valid value of %s' % (v, el.tag))
    return v


def request_fields(body):
    """(count, offset, productType) as strings (None when absent) from a request that
    validates against the WSDL's schema: an Envelope in SOAP 1.1's namespace with an
    optional Header and one Body holding one getProductByTypeListRequest
    (ws-definitions/v2) whose children are, in this order, an optional bs:listOptions
    (bs:count?, bs:offset?, both xs:nonNegativeInteger) and a required dt:productType
    (1..8). Anything else is SoapError: the service's incorrectRequestFault."""
    if not body:
        raise SoapError('Empty request body')
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise SoapError('Malformed XML: %s' % e)
    if root.tag != _ENVELOPE:
        raise SoapError('Not a SOAP 1.1 Envelope: %s' % root.tag)
    kids = list(root)
    if [c.tag for c in kids] not in ([_BODY], [_HEADER, _BODY]):
        raise SoapError('the Envelope must hold an optional Header and then the Body')
    if len(kids[-1]) != 1:
        raise SoapError('the Body must hold exactly one element')
    el = kids[-1][0]
    if el.tag != _REQUEST:
        raise SoapError('Unknown operation: %s' % el.tag)
    req = _sequence(el, (_LIST_OPTIONS, _PRODUCT_TYPE))
    if _PRODUCT_TYPE not in req:
        raise SoapError('%s is required' % _PRODUCT_TYPE)
    opts = _sequence(req[_LIST_OPTIONS], (_COUNT, _OFFSET)) if _LIST_OPTIONS in req else {}
    return (_simple(opts.get(_COUNT), _NNI), _simple(opts.get(_OFFSET), _NNI),
            _simple(req[_PRODUCT_TYPE], _PTYPE))


class Mercury:
    name = 'mercury'

    def __init__(self, cfg):
        self.cfg = cfg
        self.seed = cfg.seed
        self.counts = D.split(cfg.mercury_records, WEIGHTS)
        self.inserted = {t: [] for t in TYPES}    # keys, front first
        self.serial = 0
        self.lock = threading.Lock()

    # --- the list of one product type
    def total(self, t):
        return len(self.inserted[t]) + self.counts[t - 1]

    def key_at(self, t, pos, ins):
        return ins[pos] if pos < len(ins) else pos - len(ins)

    def insert(self, t, count):
        with self.lock:
            new = []
            for _ in range(count):
                self.serial += 1
                new.append(('ins', self.serial))
            new.reverse()    # the newest is first
            self.inserted[t] = new + self.inserted[t]

    # --- requests
    def parse(self, req):
        if not basic_ok(req, self.cfg.mercury_user, self.cfg.mercury_password):
            return need_basic('mercury')
        if req.method != 'POST':
            return text(405, 'Method Not Allowed', [('Allow', 'POST')])
        req.op = 'GetProductByTypeList'
        # The binding's soapAction (vetis_pydantic_types, ProductService: soap_action =
        # "GetProductByTypeList"), bare or quoted as SOAP 1.1 writes it.
        action = (req.headers.get('SOAPAction') or '').strip()
        if action[:1] == '"' and action[-1:] == '"' and len(action) > 1:
            action = action[1:-1]
        if action != _SOAP_ACTION:
            req.params = {'SOAPAction': action}
            return client_fault('The given SOAPAction %s does not match an operation.' % (action or '(none)'))
        try:
            count, offset, ptype = request_fields(req.body)
        except SoapError as e:
            return fault('incorrectRequestFault', str(e))
        req.params = {'count': count, 'offset': offset, 'productType': ptype}
        count = 100 if count is None else int(count)
        offset = 0 if offset is None else int(offset)
        ptype = int(ptype)
        if count > self.cfg.mercury_max_count:
            return fault('incorrectRequestFault',
                         'count must not exceed %d' % self.cfg.mercury_max_count)
        req.params = {'count': count, 'offset': offset, 'productType': ptype}
        return None

    def serve(self, req):
        p = req.params
        t, offset, count = p['productType'], p['offset'], p['count']
        with self.lock:
            ins = list(self.inserted[t])
        total = len(ins) + self.counts[t - 1]
        if offset > total:
            return fault('offsetOutOfRangeFault',
                         'offset %d is greater than the total %d' % (offset, total))
        end = min(total, offset + count)
        n = len(ins)
        if offset >= n:             # past the inserted ones: generated indexes in a row
            keys = range(offset - n, end - n)
        else:
            keys = [self.key_at(t, i, ins) for i in range(offset, end)]
        seed = self.seed
        items = [product_xml(seed, t, k) for k in keys]
        more = ' hasMore="%s"' % ('true' if end < total else 'false') if self.cfg.mercury_has_more else ''
        head = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">\n'
                '<soap:Body xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">\n'
                '<v2:getProductByTypeListResponse xmlns:bs="%s" xmlns:dt="%s" xmlns:v2="%s">\n'
                '<dt:productList count="%d" total="%d" offset="%d"%s>\n') % (
            NS_BS, NS_DT, NS_WS, len(items), total, offset, more)
        tail = ('\n</dt:productList>\n</v2:getProductByTypeListResponse>\n'
                '</soap:Body>\n</soapenv:Envelope>\n')
        body = head.encode() + b'\n'.join(items) + tail.encode()
        return Response(200, XML_CT, body, records=len(items), kind='xml')

    def fault(self, rule, req):
        if rule.kind == 'soap_fault':
            name = rule.params.get('name', 'internalServiceFault')
            name = name if name in FAULTS else 'internalServiceFault'
            return fault(name, rule.params.get('message', 'Injected %s' % name))
        if rule.kind == 'insert':
            t = req.params.get('productType')
            self.insert(t if t in TYPES else 5, int(rule.params.get('count', 10)))
        return None

    # --- control
    def truth(self, q):
        t = intparam(q, 'productType', None, 1, 8)
        for ptype in ([t] if t else TYPES):
            with self.lock:
                ins = list(self.inserted[ptype])
            for i in range(len(ins) + self.counts[ptype - 1]):
                yield {k: v for k, v in product(self.seed, ptype, self.key_at(ptype, i, ins))}

    def info(self):
        return {'totals': {str(t): self.total(t) for t in TYPES},
                'inserted': sum(len(v) for v in self.inserted.values())}
