"""Mercury / VetIS ProductService 2.0: GetProductByTypeList with offset/count paging.

The dataset is split over the eight product types. Each type's list is the records inserted
at run time (newest first: the shifting-offset problem) followed by the generated ones.
Products are serialised once and cached; the response re-declares namespace prefixes on inner
elements in three different ways, as the real service does, so clients must match by URI.
"""
import datetime
import functools
import threading

from . import datasets as D
from .common import Response, XML_CT, xesc, basic_ok, need_basic, text, intparam
from .soap import SoapError, body_element, child_text

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


@functools.lru_cache(maxsize=8192)
def _day(d):
    return (datetime.date(2011, 5, 23) + datetime.timedelta(days=d)).isoformat()


def _when(r, minutes):
    # ISO dateTime with a +03:00/+04:00 offset, as the registry prints them; from 2011-05-23T10:35:08.
    d, m = divmod(minutes + 635, 1440)
    return '%sT%02d:%02d:08%s' % (_day(d), m // 60, m % 60, r.choice(('+03:00', '+04:00')))


@functools.lru_cache(maxsize=30000)
def product(seed, ptype, key):
    """One product as [(field, value)]: value None is an empty element; absent optional
    fields are left out. key is the generated index, or ('ins', n) for an inserted one."""
    r = D.rng(seed, 'mercury', ptype, key)
    minutes = (key if isinstance(key, int) else 5000000 + key[1]) * 7 + r.randrange(7)
    created = _when(r, minutes)
    f = [('uuid', D.guid(r)), ('guid', D.guid(r)), ('active', 'true'), ('last', 'true'),
         ('status', '100'), ('createDate', created),
         ('updateDate', created if r.random() < 0.6 else _when(r, minutes + r.randrange(1, 900)))]
    if r.random() < 0.25:
        f.append(('previous', D.guid(r)))
    name = D.text(r, D.PRODUCTS, hard=6, long=1000000)
    if isinstance(key, tuple):
        name = 'вставлено: ' + name
    f.append(('name', name))
    f.append(('code', D.maybe(r, 0.04, '%04d, %04d' % (r.randrange(100, 9999), r.randrange(100, 9999)))))
    x = r.random()
    if x < 0.6:
        f.append(('englishName', D.text(r, D.WORDS, hard=5, long=30)))
    elif x < 0.7:
        f.append(('englishName', None))
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


@functools.lru_cache(maxsize=30000)
def product_xml(seed, ptype, key):
    """The product's XML in one of the three namespace spellings, chosen by the record."""
    f = product(seed, ptype, key)
    open_, close, tags = VARIANTS[D.rng(seed, 'mercury-ns', ptype, key).randrange(3)]
    out = [open_]
    for n, v in f:
        t = tags[n]
        out.append(t[2] if v is None else t[0] + xesc(v) + t[1])
    out.append(close)
    return '\n'.join(out).encode()


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
        try:
            el = body_element(req.body)
            if el.tag != '{%s}getProductByTypeListRequest' % NS_WS:
                raise SoapError('Unknown operation: %s' % el.tag)
            count = child_text(el, '{%s}listOptions/{%s}count' % (NS_BS, NS_BS))
            offset = child_text(el, '{%s}listOptions/{%s}offset' % (NS_BS, NS_BS))
            ptype = child_text(el, '{%s}productType' % NS_DT)
            req.params = {'count': count, 'offset': offset, 'productType': ptype}
            count = 100 if count is None else int(count)
            offset = 0 if offset is None else int(offset)
            if ptype is None:
                raise SoapError('productType is required')
            ptype = int(ptype)
        except SoapError as e:
            return fault('incorrectRequestFault', str(e))
        except ValueError as e:
            return fault('incorrectRequestFault', 'Not a number: %s' % e)
        if count < 0 or offset < 0:
            return fault('incorrectRequestFault', 'count and offset must be non-negative')
        if count > self.cfg.mercury_max_count:
            return fault('incorrectRequestFault',
                         'count must not exceed %d' % self.cfg.mercury_max_count)
        if ptype not in TYPES:
            return fault('incorrectRequestFault', 'Unknown productType %d' % ptype)
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
        items = [product_xml(self.seed, t, self.key_at(t, i, ins)) for i in range(offset, end)]
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
