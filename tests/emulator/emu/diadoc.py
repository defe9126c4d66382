"""Diadoc GetDocflowEvents and GetDocflowsByPacketId, V2 and V5, over protobuf (build/py/*_pb2.py).

Events are numbered 0..N-1 in time order (ticks never decrease; some events share a tick). In
every group of four events the last two may update the group's first document, which gives
PreviousEventId/PreviousDocumentState chains. Packets are fixed-size lists of documents.

Both versions serve the same dataset: a document's facts (its attributes, which the request
filters select on, and the rest) are drawn once and written in the V2 shape (DocumentWithDocflow)
or the V5 one (DocumentWithDocflowV5); ids, timestamps and IndexKeys are the same in both.

IndexKey is 16 opaque bytes: kind, packet, page and position under a seed-derived mask, then a
keyed check, so that keys from another dataset or made-up keys are refused (400), not misread.
Response messages are assembled from cached serialised events/documents: a repeated message
field on the wire is just the concatenation of (tag, length, bytes) records.
"""
import base64
import bisect
import functools
import hashlib
import http
import re
import struct

from google.protobuf import json_format

import DiadocCommon_pb2 as C
import DiadocDocflow_pb2 as P
import DiadocDocflowV5_pb2 as P5
import DiadocDocuments_pb2 as DOC
import DiadocWorkflows_pb2 as WF

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
TYPE_NAMES = {v.number: v.name for v in C.DocumentType.DESCRIPTOR.values}
# Attributes the request filters select on, per document. Drafts are outbound (a draft is found
# only with DocumentDirections = Outbound: GetPartnerEventsRequest's page says so).
MESSAGE_TYPES = ('Letter', 'Letter', 'Letter', 'Letter', 'Draft', 'Template')
DIRECTIONS = {1: 'Inbound', 2: 'Outbound', 3: 'Internal'}
DEPARTMENTS = ('00000000-0000-0000-0000-000000000000', D.stable_guid('department', 1),
               D.stable_guid('department', 2))
COUNTERAGENTS = tuple(D.stable_guid('counteragent', k) for k in range(3))
# --diadoc-unknown-fields: fields no published schema has, as a newer server would send them.
UNKNOWN_INFO = (1000, 'поле из будущей версии API'.encode())   # LEN, in every DocumentInfo
UNKNOWN_RECORD = (1001, 7)                                     # varint, in every record
GUID = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z')
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
    return _varint((num << 3) | 2) + _varint(len(data)) + data


def _vfield(num, v):
    return _varint(num << 3) + _varint(v)


def version_of(path):
    return 5 if path.startswith('/V5/') else 2


def add_unknown(d, docs):
    """A truth record (MessageToDict's) with the unknown fields as pb2ndjson --unknown shows them."""
    d['#%d' % UNKNOWN_RECORD[0]] = [UNKNOWN_RECORD[1]]
    for k in docs:
        if k in d:
            d[k]['DocumentInfo']['#%d' % UNKNOWN_INFO[0]] = [base64.b64encode(UNKNOWN_INFO[1]).decode()]
    return d


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
        self.selected = functools.lru_cache(maxsize=64)(self._selected)

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

    def attrs(self, box, c):
        """What the request filters select on, fixed per document (box 'ev' or 'pkN', index c):
        (DocumentType number, direction number, message type, department id, counteragent box)."""
        r = D.rng(self.seed, 'doc-attrs', box, c)
        mtype = r.choice(MESSAGE_TYPES)
        direction = 2 if mtype == 'Draft' else r.choice((1, 2, 3))
        t, dept, cagent = r.choice(DOCUMENT_TYPES), r.choice(DEPARTMENTS), r.choice(COUNTERAGENTS)
        return t, direction, mtype, dept, None if direction == 3 else cagent

    def facts(self, r):
        """The rest of a document's state, drawn in one order whatever the version it is shown in."""
        f = {'IsTest': r.random() < 0.1,
             'Version': r.choice(('utd820_05_01_01', 'tovtorg_05_01_02', 'v1', '')),
             'CustomDocumentId': D.text(r, hard=4, long=40) if r.random() < 0.7 else None,
             'DateNumber': None, 'Delivery': None, 'Initial': None, 'Forward': None}
        if r.random() < 0.8:
            f['DateNumber'] = ('%02d.%02d.20%02d' % (r.randint(1, 28), r.randint(1, 12), r.randint(10, 25)),
                               r.choice(('№ %d' % r.randrange(10**6), '', 'A-1/2\\3')))
        if r.random() < 0.5:
            f['Delivery'] = r.randrange(1, 10**9)
        f['IsDeleted'] = r.random() < 0.05
        f['CustomData'] = [('ключ-%d' % k, D.text(r, hard=3, long=20) if r.random() < 0.8 else None)
                           for k in range(r.randrange(3))]
        if r.random() < 0.2:
            f['Initial'] = self.doc_id(r.randrange(10**6), 'init')
        if r.random() < 0.1:
            f['Forward'] = D.guid(r)
        return f

    def fill_doc(self, m, a, f, doc_id, last_id, last_ticks, sent_ticks, packet=None):
        """A DocumentWithDocflow (V2) with hard strings and a few explicitly empty ones."""
        m.DocumentId.CopyFrom(doc_id)
        m.LastEventId = last_id
        m.LastEventTimestamp.Ticks = last_ticks
        info = m.DocumentInfo
        info.DocumentType, info.DocumentDirection = a[0], a[1]
        info.IsTest = f['IsTest']
        info.Version = f['Version']
        if f['CustomDocumentId'] is not None:
            info.CustomDocumentId = f['CustomDocumentId']
        if a[4]:
            info.CounteragentBoxId = a[4]
        if a[1] == 1:
            info.ToDepartmentId = a[3]
        else:
            info.FromDepartmentId = a[3]
        if f['DateNumber']:
            info.DocumentDateAndNumber.DocumentDate, info.DocumentDateAndNumber.DocumentNumber = f['DateNumber']
        flow = m.Docflow
        flow.IsFinished = last_ticks != sent_ticks
        flow.DepartmentId = a[3]
        flow.SendTimestamp.Ticks = sent_ticks
        if f['Delivery']:
            flow.DeliveryTimestamp.Ticks = sent_ticks + f['Delivery']
        flow.DocumentIsDeleted = f['IsDeleted']
        if packet:
            flow.PacketId = packet
        for k, v in f['CustomData']:
            item = flow.CustomData.add()
            item.Key = k
            if v is not None:
                item.Value = v
        if f['Initial']:
            m.InitialDocumentIds.add().CopyFrom(f['Initial'])
        if f['Forward']:
            fw = m.ForwardDocumentEvents.add()
            fw.Timestamp.Ticks = last_ticks + STEP // 2
            fw.ToBoxId = f['Forward']

    def fill_doc5(self, m, a, f, doc_id, last_id, last_ticks, sent_ticks, packet=None):
        """The same document as a DocumentWithDocflowV5: every required field set."""
        m.DocumentId.CopyFrom(doc_id)
        m.LastEvent.EventId = last_id
        m.LastEvent.Timestamp.Ticks = last_ticks
        info = m.DocumentInfo
        info.FullVersion.TypeNamedId = TYPE_NAMES[a[0]]
        info.FullVersion.Function = 'default'
        info.FullVersion.Version = f['Version']
        info.MessageType = DOC.MessageType.Value(a[2])
        info.WorkflowId = 1 if a[0] in (1, 41) else 0
        sender = self.participant(info.Participants.Participants.add(), BOX, a[1] != 1, a[3])
        if a[4]:
            self.participant(info.Participants.Participants.add(), a[4], a[1] == 1, None)
        info.DocumentDirection = a[1]
        info.DepartmentId = a[3]
        if f['CustomDocumentId'] is not None:
            info.CustomDocumentId = f['CustomDocumentId']
        if f['DateNumber']:
            for k, v in zip(('DocumentDate', 'DocumentNumber'), f['DateNumber']):
                info.Metadata.add(Key=k, Value=v)
        for k, v in f['CustomData']:
            item = info.CustomData.add()
            item.Key = k
            if v is not None:
                item.Value = v
        info.DocumentLinks.SetInParent()
        if f['Initial']:
            info.DocumentLinks.InitialIds.add().CopyFrom(f['Initial'])
        info.PacketInfo.LockMode = C.LockMode.Value('None')
        if packet:
            info.PacketInfo.PacketId = packet
            info.PacketInfo.AddedAt.Ticks = sent_ticks
        info.IsRead = last_ticks != sent_ticks
        info.IsDeleted = f['IsDeleted']
        info.IsInvitation = False
        flow = m.Docflow
        title = flow.Titles.add(TitleIndex=0)
        title.Author.CopyFrom(sender if a[1] != 1 else info.Participants.Participants[-1])
        title.AuthorSigning.IsFinished = True
        title.AuthorSigning.Status = P5.TitleAuthorStatusV5.Value('TitleAuthorStatusSigned')
        done = last_ticks != sent_ticks
        flow.DocflowStatus.PrimaryStatus.Severity = 'Success' if done else 'Info'
        flow.DocflowStatus.PrimaryStatus.StatusText = ('Документооборот завершен' if done else
                                                       'Ожидается подпись получателя')

    @staticmethod
    def participant(p, box, sender, dept):
        p.BoxId = box
        if dept:
            p.DepartmentId = dept
        p.Role = 'Sender' if sender else 'Recipient'
        p.Flags.IsRoaming = p.Flags.IsCrossborder = p.Flags.IsForeign = False
        p.Type = WF.ParticipantType.Value('Sender' if sender else 'Recipient')
        p.IsCurrentBox = box == BOX
        return p

    def state(self, i, version):
        """The event's document as it stood after event i."""
        c = self.creator(i)
        m = P5.DocumentWithDocflowV5() if version == 5 else P.DocumentWithDocflow()
        fill = self.fill_doc5 if version == 5 else self.fill_doc
        fill(m, self.attrs('ev', c), self.facts(D.rng(self.seed, 'doc', c, i)), self.doc_id(c),
             self.event_id(i), ticks(i), ticks(c))
        if self.cfg.diadoc_unknown_fields:
            m.DocumentInfo.MergeFromString(_field(*UNKNOWN_INFO))
        return m

    def event(self, i, docs, prev, version):
        e = P5.DocflowEventV5() if version == 5 else P.DocflowEvent()
        e.EventId = self.event_id(i)
        e.Timestamp.Ticks = ticks(i)
        e.DocumentId.CopyFrom(self.doc_id(self.creator(i)))
        e.IndexKey = self.keys.make(K_EVENT, 0, 0, i)
        p = self.prev(i)
        if docs:
            e.Document.CopyFrom(self.state(i, version))
        if p is not None:
            e.PreviousEventId = self.event_id(p)
            if prev:
                e.PreviousDocumentState.CopyFrom(self.state(p, version))
        if self.cfg.diadoc_unknown_fields:
            e.MergeFromString(_vfield(*UNKNOWN_RECORD))
        return e

    def _event_bytes(self, i, docs, prev, version):
        return self.event(i, docs, prev, version).SerializeToString()

    def matches(self, i, flt):
        """Whether event i's document passes the request's filters (None: no filter)."""
        t, direction, mtype, dept, cagent = self.attrs('ev', self.creator(i))
        types, dirs, named, want_dept, want_cagent = flt
        return ((not types or mtype.lower() in types) and
                (not dirs or DIRECTIONS[direction].lower() in dirs) and
                (not named or TYPE_NAMES[t] in named) and
                (not want_dept or dept == want_dept) and
                (not want_cagent or cagent == want_cagent))

    def _selected(self, lo, hi, flt):
        """The indexes of the events in [lo, hi] that pass flt, ascending (a range when no filter)."""
        a, b = _range(self.n, lo, hi)
        if not any(flt):
            return range(a, b)
        return [i for i in range(a, b) if self.matches(i, flt)]

    # --- the packets
    def document(self, pk, pos, version):
        pid, name, _ = self.packets[pk]
        r = D.rng(self.seed, 'packet-doc', pk, pos)
        t = BASE_TICKS + (pk * 10**6 + pos) * STEP
        f = (P5.FetchedDocumentV5 if version == 5 else P.FetchedDocument)(
            IndexKey=self.keys.make(K_DOC, pk, 0, pos))
        fill = self.fill_doc5 if version == 5 else self.fill_doc
        last_id = D.guid(r)
        fill(f.Document, self.attrs('pk%d' % pk, pos), self.facts(r), self.doc_id(pos, 'pk%d' % pk),
             last_id, t + STEP, t, pid)
        if self.cfg.diadoc_unknown_fields:
            f.Document.DocumentInfo.MergeFromString(_field(*UNKNOWN_INFO))
            f.MergeFromString(_vfield(*UNKNOWN_RECORD))
        return f

    def _doc_bytes(self, pk, pos, version):
        return self.document(pk, pos, version).SerializeToString()

    def packet_index(self, pid, by_name=False):
        """The packet whose id is pid (any letter case); by_name (truth, control) also takes
        its name. The method takes the id only: the service knows no names of ours."""
        for k, (i, name, size) in enumerate(self.packets):
            if pid.lower() == i.lower() or (by_name and pid.strip() == name):
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
        if not GUID.match(box):
            # the method pages: "boxId — идентификатор ящика организации в формате GUID"
            return error(400, 'boxId query param is not a GUID: %s' % box)
        if box.lower() != BOX:
            return error(403, 'Access to box %s is denied' % box)
        return None

    def check_box(self, box):
        if box and box.lower() != BOX:
            raise ValueError('boxId: not the emulator\'s box %r' % box)

    def info(self):
        return {'box_id': BOX, 'box_ids': [BOX, BOX.upper()],
                'departments': list(DEPARTMENTS), 'counteragents': list(COUNTERAGENTS),
                'packets': [{'id': i, 'name': n, 'documents': s} for i, n, s in self.packets]}


def event_filter(types, dirs, named, dept, cagent):
    """The filter tuple of a request's MessageTypes, DocumentDirections, TypeNamedIds,
    DepartmentId and CounteragentBoxId; ValueError names a value the service would refuse."""
    types = frozenset(t.lower() for t in types)
    bad = types - {t.lower() for t in MESSAGE_TYPES}
    if bad:
        raise ValueError('MessageTypes: unknown message type %r' % sorted(bad)[0])
    dirs = frozenset(d.lower() for d in dirs)
    bad = dirs - {d.lower() for d in DIRECTIONS.values()}
    if bad:
        raise ValueError('DocumentDirections: unknown direction %r' % sorted(bad)[0])
    for name, v in (('DepartmentId', dept), ('CounteragentBoxId', cagent)):
        if v and not GUID.match(v):
            raise ValueError('%s is not a GUID: %s' % (name, v))
    return types, dirs, frozenset(named), (dept or '').lower(), (cagent or '').lower()


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
        req.params['version'] = version_of(req.path)
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
                  'populatePrevious': m.PopulatePreviousDocumentStates,
                  'messageTypes': ','.join(m.MessageTypes), 'documentDirections': ','.join(m.DocumentDirections),
                  'typeNamedIds': ','.join(m.TypeNamedIds),
                  'departmentId': m.DepartmentId if m.HasField('DepartmentId') else None,
                  'counteragentBoxId': m.CounteragentBoxId if m.HasField('CounteragentBoxId') else None})
        if not 1 <= m.Limit <= 100:
            return error(400, 'Limit must be between 1 and 100')
        try:
            p['filter'] = event_filter(m.MessageTypes, m.DocumentDirections, m.TypeNamedIds,
                                      m.DepartmentId, m.CounteragentBoxId)
        except ValueError as e:
            return error(400, str(e))
        return None

    def select(self, lo, hi, desc, after, flt):
        """(events the filter selects, in sort order from after on); after an event index or None."""
        sel = self.dd.selected(lo, hi, flt)
        if desc:
            top = len(sel) if after is None else bisect.bisect_left(sel, after)
            return len(sel), sel[:top][::-1]
        bottom = 0 if after is None else bisect.bisect_right(sel, after)
        return len(sel), sel[bottom:]

    def serve(self, req):
        p, dd = req.params, self.dd
        after = None
        if p['after'] is not None:
            k = dd.keys.read(bytes.fromhex(p['after']))
            if k is None or k[0] != K_EVENT:
                return error(400, 'afterIndexKey is not a valid index key')
            after = k[3]
        total, seq = self.select(p['from'], p['to'], p['sort'] == 'Descending', after, p['filter'])
        limit = p['limit']
        if len(seq) and _short(dd.seed, seq[0], dd.cfg.diadoc_short_pages):
            limit = max(1, limit // 2)
        idx = seq[:limit]
        cap, v = dd.cfg.diadoc_total_cap, p['version']
        out = bytearray()
        out += b'\x08' + _varint(min(total, cap) if cap else total)
        for i in idx:
            out += _field(2, dd.event_bytes(i, p['populateDocuments'], p['populatePrevious'], v))
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
        version = truth_version(q)
        lists = [[x for x in (q.get(k) or '').split(',') if x]
                 for k in ('messageTypes', 'documentDirections', 'typeNamedIds')]
        flt = event_filter(*lists, q.get('departmentId'), q.get('counteragentBoxId'))
        for i in self.select(lo, hi, sort == 'Descending', None, flt)[1]:
            d = to_dict(dd.event(i, docs, prev, version))
            yield add_unknown(d, ('Document', 'PreviousDocumentState')) if dd.cfg.diadoc_unknown_fields else d


def truth_version(q):
    v = q.get('version', '5')
    if v not in ('2', '5'):
        raise ValueError('version: 2 or 5')
    return int(v)


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
                out += _field(1, dd.doc_bytes(pk, pos, p['version']))
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
        pk = dd.packet_index(pid or '', by_name=True)
        if pk is None:
            raise ValueError('packetId: unknown packet %r' % pid)
        version = truth_version(q)
        for pos in range(dd.packets[pk][2]):
            d = to_dict(dd.document(pk, pos, version))
            yield add_unknown(d, ('Document',)) if dd.cfg.diadoc_unknown_fields else d

