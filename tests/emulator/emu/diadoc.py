"""Diadoc GetDocflowEvents and GetDocflowsByPacketId over protobuf (build/py/*_pb2.py).

Events are numbered 0..N-1 in time order (ticks never decrease; some events share a tick). In
every group of four events the last two may update the group's first document, which gives
PreviousEventId/PreviousDocumentState chains. Packets are fixed-size lists of documents.

IndexKey is 16 opaque bytes: kind, packet, page and position under a seed-derived mask, then a
keyed check, so that keys from another dataset or made-up keys are refused (400), not misread.
Response messages are assembled from cached serialised events/documents: a repeated message
field on the wire is just the concatenation of (tag, length, bytes) records.
"""
import functools
import hashlib
import http
import struct

from google.protobuf import json_format

import DiadocCommon_pb2 as C
import DiadocDocflow_pb2 as P

from . import datasets as D
from .common import Response, TEXT_CT, intparam, boolparam
from .faults import retry_after

EPOCH_TICKS = 621355968000000000
BASE_TICKS = EPOCH_TICKS + 1577836800 * 10**7          # 2020-01-01T00:00:00Z
STEP = 60 * 10**7                                      # one minute
K_EVENT, K_DOC, K_PAGE, K_PAGE_EMPTIED = 1, 2, 3, 4
PB_CT = 'application/x-protobuf'
BOX = 'b7c5d2a0-6f1e-4c3b-9a8d-2e5f7a9c1b3d'
# DocumentType as Kontur publishes it (proto/obsolete/DocumentType.html; the SDK's
# proto/DocumentType.proto adds MesNotification = 46): every value but UnknownDocumentType.
DOCUMENT_TYPES = (0, 1, 11, 12, 13, 14, 15, 16, 18, 19, 20, 26, 30, 34, 35, 36, 37, 38, 40, 41,
                  45, 46, 49, 50)
PACKETS = [('empty', 0), ('one', 1), ('hundred', 100), ('hundred-one', 101), ('medium', 250)]


def error(status, msg, headers=None):
    """A Diadoc error: text/plain body, X-Diadoc-ErrorCode Http.<Status>."""
    try:
        code = 'Http.' + http.HTTPStatus(status).phrase.replace(' ', '').replace('-', '')
    except ValueError:
        code = 'Http.%d' % status
    return Response(status, TEXT_CT, msg.encode(), [('X-Diadoc-ErrorCode', code)] + (headers or []))


def api_error(rule):
    if rule.kind != 'api_error':
        return None
    status = int(rule.params['status'])
    ra = retry_after(rule)
    return error(status, rule.params.get('message') or 'Injected error %d' % status,
                 [('Retry-After', ra)] if ra else None)


def _field(num, data):
    # A length-delimited field: tag, varint length, bytes.
    return bytes([(num << 3) | 2]) + _varint(len(data)) + data


def ticks(i):
    # Every tenth event shares its predecessor's tick, so a time filter can cut between equals.
    return BASE_TICKS + (i - (i % 10 == 9)) * STEP


def to_dict(msg):
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


class Keys:
    def __init__(self, seed):
        h = hashlib.blake2b(b'diadoc-key:%d' % seed, digest_size=16).digest()
        self.mask, self.secret = h[:8], h[8:]

    def make(self, kind, packet, page, pos):
        raw = struct.pack('>BBHI', kind, packet, page, pos)
        masked = bytes(a ^ b for a, b in zip(raw, self.mask))
        return masked + hashlib.blake2b(masked, key=self.secret, digest_size=8).digest()

    def read(self, key):
        """(kind, packet, page, pos) or None for a key this dataset never issued."""
        if hashlib.blake2b(key[:8], key=self.secret, digest_size=8).digest() != key[8:]:
            return None
        return struct.unpack('>BBHI', bytes(a ^ b for a, b in zip(key[:8], self.mask)))


class Diadoc:
    """State shared by the two methods: the dataset, keys, credentials."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.seed = cfg.seed
        self.n = cfg.diadoc_events_records
        self.keys = Keys(cfg.seed)
        self.packets = [(D.stable_guid('packet', name), name, size) for name, size in
                        PACKETS + [('big', cfg.diadoc_packet_records)]]
        self.event_bytes = functools.lru_cache(maxsize=20000)(self._event_bytes)
        self.doc_bytes = functools.lru_cache(maxsize=20000)(self._doc_bytes)

    # --- the event dataset
    def prev(self, i):
        """The index of the previous event of event i's document, or None for a new document."""
        g, r = divmod(i, 4)
        if r < 2:
            return None
        h = D.rng(self.seed, 'diadoc-group', g).getrandbits(2)
        if r == 2:
            return 4 * g if h & 1 and 4 * g < self.n else None
        if h & 2:
            return 4 * g + 2 if h & 1 else 4 * g
        return None

    def creator(self, i):
        p = self.prev(i)
        return i if p is None else self.creator(p)

    def event_id(self, i):
        return D.guid(D.rng(self.seed, 'event-id', i))

    def doc_id(self, c, box='ev'):
        r = D.rng(self.seed, 'doc-id', box, c)
        return C.DocumentId(MessageId=D.guid(r), EntityId=D.guid(r))

    def fill_doc(self, m, r, doc_id, last_id, last_ticks, sent_ticks, packet=None):
        """A DocumentWithDocflow with hard strings and a few explicitly empty ones."""
        m.DocumentId.CopyFrom(doc_id)
        m.LastEventId = last_id
        m.LastEventTimestamp.Ticks = last_ticks
        info = m.DocumentInfo
        info.DocumentType = r.choice(DOCUMENT_TYPES)
        info.DocumentDirection = r.choice((1, 2, 3))
        info.IsTest = r.random() < 0.1
        info.Version = r.choice(('utd820_05_01_01', 'tovtorg_05_01_02', 'v1', ''))
        if r.random() < 0.7:
            info.CustomDocumentId = D.text(r, hard=4, long=40)
        if r.random() < 0.5:
            info.CounteragentBoxId = D.guid(r).replace('-', '') + '@diadoc.ru'
        if r.random() < 0.8:
            info.DocumentDateAndNumber.DocumentDate = '%02d.%02d.20%02d' % (
                r.randint(1, 28), r.randint(1, 12), r.randint(10, 25))
            info.DocumentDateAndNumber.DocumentNumber = r.choice(('№ %d' % r.randrange(10**6), '', 'A-1/2\\3'))
        flow = m.Docflow
        flow.IsFinished = last_ticks != sent_ticks
        flow.SendTimestamp.Ticks = sent_ticks
        if r.random() < 0.5:
            flow.DeliveryTimestamp.Ticks = sent_ticks + r.randrange(1, 10**9)
        flow.DocumentIsDeleted = r.random() < 0.05
        if packet:
            flow.PacketId = packet
        for k in range(r.randrange(3)):
            item = flow.CustomData.add()
            item.Key = 'ключ-%d' % k
            if r.random() < 0.8:
                item.Value = D.text(r, hard=3, long=20)
        if r.random() < 0.2:
            m.InitialDocumentIds.add().CopyFrom(self.doc_id(r.randrange(10**6), 'init'))
        if r.random() < 0.1:
            fw = m.ForwardDocumentEvents.add()
            fw.Timestamp.Ticks = last_ticks + STEP // 2
            fw.ToBoxId = D.guid(r)

    def state(self, i):
        """The event's document as it stood after event i."""
        c = self.creator(i)
        m = P.DocumentWithDocflow()
        self.fill_doc(m, D.rng(self.seed, 'doc', c, i), self.doc_id(c), self.event_id(i),
                      ticks(i), ticks(c))
        return m

    def event(self, i, docs, prev):
        e = P.DocflowEvent(EventId=self.event_id(i))
        e.Timestamp.Ticks = ticks(i)
        e.DocumentId.CopyFrom(self.doc_id(self.creator(i)))
        e.IndexKey = self.keys.make(K_EVENT, 0, 0, i)
        p = self.prev(i)
        if docs:
            e.Document.CopyFrom(self.state(i))
        if p is not None:
            e.PreviousEventId = self.event_id(p)
            if prev:
                e.PreviousDocumentState.CopyFrom(self.state(p))
        return e

    def _event_bytes(self, i, docs, prev):
        return self.event(i, docs, prev).SerializeToString()

    # --- the packets
    def document(self, pk, pos):
        pid, name, _ = self.packets[pk]
        r = D.rng(self.seed, 'packet-doc', pk, pos)
        t = BASE_TICKS + (pk * 10**6 + pos) * STEP
        f = P.FetchedDocument(IndexKey=self.keys.make(K_DOC, pk, 0, pos))
        self.fill_doc(f.Document, r, self.doc_id(pos, 'pk%d' % pk), D.guid(r), t + STEP, t, pid)
        return f

    def _doc_bytes(self, pk, pos):
        return self.document(pk, pos).SerializeToString()

    def packet_index(self, pid):
        for k, (i, name, size) in enumerate(self.packets):
            if pid.strip().lower() in (i.lower(), name):
                return k
        return None

    # --- requests
    def check(self, req, op):
        """Authorization, method and boxId: None when fine, else the error Response."""
        auth = (req.headers.get('Authorization') or '').strip()
        tok, cid = self.cfg.diadoc_token, self.cfg.diadoc_client_id
        if auth not in ('DiadocAuth ddauth_api_client_id=%s,ddauth_token=%s' % (cid, tok),
                        'Bearer %s' % tok):
            return error(401, 'Authorization header is missing or invalid')
        if req.method != 'POST':
            return error(405, 'Method %s is not allowed' % req.method, [('Allow', 'POST')])
        box = req.query.get('boxId')
        req.params['boxId'] = box
        if not box:
            return error(400, 'boxId query param is required')
        if not same_box(box):
            return error(403, 'Access to box %s is denied' % box)
        return None

    def check_box(self, box):
        if box and not same_box(box):
            raise ValueError('boxId: not the emulator\'s box %r' % box)

    def info(self):
        return {'box_id': BOX, 'box_ids': [BOX, BOX.replace('-', ''), BOX.replace('-', '') + '@diadoc.ru'],
                'packets': [{'id': i, 'name': n, 'documents': s} for i, n, s in self.packets]}


def same_box(box):
    """The box id in any of its spellings: GUID with or without dashes, or …@diadoc.ru."""
    b = box.strip().lower()
    if b.endswith('@diadoc.ru'):
        b = b[:-len('@diadoc.ru')]
    return b.replace('-', '') == BOX.replace('-', '')


def _range(n, lo, hi):
    """Indexes [a, b) of the events with lo <= ticks <= hi (ticks never decrease)."""
    def first(pred):
        a, b = 0, n
        while a < b:
            m = (a + b) // 2
            if pred(ticks(m)):
                b = m
            else:
                a = m + 1
        return a
    a = first(lambda t: t >= lo) if lo is not None else 0
    b = first(lambda t: t > hi) if hi is not None else n
    return a, max(a, b)


def _short(seed, start, every):
    # A deterministic "this page is short" decision, keyed by where the page starts.
    return every and D.rng(seed, 'short', start).randrange(every) == 0


class _Method:
    """What the two methods share: the checks, the request message, api_error faults."""
    op = request = None

    def __init__(self, dd):
        self.dd = dd

    def message(self, req):
        """(request message, None) or (None, error Response)."""
        req.op = self.op
        bad = self.dd.check(req, self.op)
        if bad:
            return None, bad
        m = self.request()
        try:
            m.ParseFromString(req.body)
        except Exception as e:  # DecodeError, or a missing required field
            return None, error(400, 'Cannot parse %s: %s' % (self.request.__name__, e))
        has = m.HasField('AfterIndexKey')
        req.params['after'] = m.AfterIndexKey.hex() if has else None
        if has and len(m.AfterIndexKey) != 16:
            return None, error(400, 'afterIndexKey query param has incorrect size')
        return m, None

    def fault(self, rule, req):
        return api_error(rule)


class Events(_Method):
    name, op, request = 'diadoc-events', 'GetDocflowEvents', P.GetDocflowEventsRequest

    def parse(self, req):
        m, bad = self.message(req)
        if bad:
            return bad
        f = m.Filter
        p = req.params
        p.update({'limit': m.Limit, 'sort': C.SortDirection.Name(f.SortDirection),
                  'from': f.FromTimestamp.Ticks if f.HasField('FromTimestamp') else None,
                  'to': f.ToTimestamp.Ticks if f.HasField('ToTimestamp') else None,
                  'populateDocuments': m.PopulateDocuments,
                  'populatePrevious': m.PopulatePreviousDocumentStates})
        if not 1 <= m.Limit <= 100:
            return error(400, 'Limit must be between 1 and 100')
        return None

    def select(self, lo, hi, desc, after):
        """The positions in sort order; `after` an event index or None."""
        a, b = _range(self.dd.n, lo, hi)
        if desc:
            top = b if after is None else min(b, after)
            return a, b, range(top - 1, a - 1, -1)
        bottom = a if after is None else max(a, after + 1)
        return a, b, range(bottom, b)

    def serve(self, req):
        p, dd = req.params, self.dd
        after = None
        if p['after'] is not None:
            k = dd.keys.read(bytes.fromhex(p['after']))
            if k is None or k[0] != K_EVENT:
                return error(400, 'afterIndexKey is not a valid index key')
            after = k[3]
        a, b, seq = self.select(p['from'], p['to'], p['sort'] == 'Descending', after)
        limit = p['limit']
        if len(seq) and _short(dd.seed, seq[0], dd.cfg.diadoc_short_pages):
            limit = max(1, limit // 2)
        idx = seq[:limit]
        total, cap = b - a, dd.cfg.diadoc_total_cap
        out = bytearray()
        out += b'\x08' + _varint(min(total, cap) if cap else total)
        for i in idx:
            out += _field(2, dd.event_bytes(i, p['populateDocuments'], p['populatePrevious']))
        out += b'\x18' + _varint(2 if cap and total > cap else 1)
        return Response(200, PB_CT, bytes(out), records=len(idx), kind='pb')

    def truth(self, q):
        dd = self.dd
        dd.check_box(q.get('boxId'))
        lo, hi = intparam(q, 'from'), intparam(q, 'to')
        sort = q.get('sort', 'Ascending')
        if sort not in ('Ascending', 'Descending', 'UnknownSortDirection'):
            raise ValueError('sort: Ascending or Descending')
        docs, prev = boolparam(q, 'populateDocuments'), boolparam(q, 'populatePrevious')
        for i in self.select(lo, hi, sort == 'Descending', None)[2]:
            yield to_dict(dd.event(i, docs, prev))



def _varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Packets(_Method):
    name, op, request = 'diadoc-packet', 'GetDocflowsByPacketId', P.GetDocflowsByPacketIdRequest

    def parse(self, req):
        m, bad = self.message(req)
        if bad:
            return bad
        req.params.update({'packetId': m.PacketId, 'count': m.Count})
        if m.Count < 1:
            return error(400, 'Count must be positive')
        return None

    def serve(self, req):
        p, dd = req.params, self.dd
        pk = dd.packet_index(p['packetId'])
        if pk is None:
            return error(404, 'Packet %s not found' % p['packetId'])
        size = dd.packets[pk][2]
        start, page, emptied = 0, 0, False
        if p['after'] is not None:
            k = dd.keys.read(bytes.fromhex(p['after']))
            if k is None or k[0] not in (K_DOC, K_PAGE, K_PAGE_EMPTIED) or k[1] != pk:
                return error(400, 'afterIndexKey is not a valid index key for this packet')
            kind, _, page, pos = k
            start, emptied = (pos + 1, False) if kind == K_DOC else (pos, kind == K_PAGE_EMPTIED)
        count = min(p['count'], 100)
        cfg = dd.cfg
        e_every, s_every = cfg.diadoc_empty_pages, cfg.diadoc_short_pages
        out = bytearray()
        n = 0
        if start < size and e_every and page % e_every == e_every - 1 and not emptied:
            # An empty page that is not the last one: same position, marked as served.
            out += _field(2, dd.keys.make(K_PAGE_EMPTIED, pk, page, start))
        elif start < size:
            if s_every and page % s_every == s_every - 1:
                count = max(1, count // 2)
            end = min(size, start + count)
            for pos in range(start, end):
                out += _field(1, dd.doc_bytes(pk, pos))
            n = end - start
            if end < size:
                out += _field(2, dd.keys.make(K_PAGE, pk, (page + 1) & 0xffff, end))
            elif cfg.diadoc_trailing_empty and n:
                # The data ends here, yet the page still carries a key; an empty last page follows.
                out += _field(2, dd.keys.make(K_PAGE_EMPTIED, pk, (page + 1) & 0xffff, end))
        return Response(200, PB_CT, bytes(out), records=n, kind='pb')

    def truth(self, q):
        dd = self.dd
        dd.check_box(q.get('boxId'))
        pid = q.get('packetId')
        pk = dd.packet_index(pid or '')
        if pk is None:
            raise ValueError('packetId: unknown packet %r' % pid)
        for pos in range(dd.packets[pk][2]):
            yield to_dict(dd.document(pk, pos))

