"""The emulator's state: effective settings, the five services, fault rules, the request log.

A reset replaces the services wholesale (their data is generated lazily, so that is cheap);
settings not given to reset fall back to the start options.
"""
import collections
import copy
import threading

from .datamill import DataMill
from .diadoc import Diadoc, Events, Packets
from .docsvision import DocsVision
from .faults import Faults
from .mercury import Mercury

APIS = ('mercury', 'datamill', 'diadoc-events', 'diadoc-packet', 'docsvision')
ROUTES = {
    '/platform/services/2.0/ProductService': 'mercury',
    '/datamill/cursor.xml': 'datamill',
    '/datamill/cursor.json': 'datamill',
    '/datamill/cursor.js': 'datamill',
    # Diadoc: the versions Kontur's http/ pages document; a path without one is 404.
    '/V2/GetDocflowEvents': 'diadoc-events',
    '/V5/GetDocflowEvents': 'diadoc-events',
    '/V2/GetDocflowsByPacketId': 'diadoc-packet',
    '/V5/GetDocflowsByPacketId': 'diadoc-packet',
    '/DocsVision/StorageServer/StorageServerService.asmx': 'docsvision',
}
# Settings a reset may change (parameter names as in the options, with '_' for '-').
RESETTABLE = {
    'seed': int, 'records': int, 'mercury_records': int, 'datamill_records': int,
    'diadoc_events_records': int, 'diadoc_packet_records': int, 'docsvision_records': int,
    'mercury_has_more': 'bool', 'mercury_max_count': int,
    'datamill_max_objects': int, 'datamill_max_bytes': int, 'datamill_eof_style': ('bool', 'string', 'number'),
    'datamill_omit_eof': 'bool', 'datamill_handle_ttl': float,
    'diadoc_empty_pages': int, 'diadoc_short_pages': int, 'diadoc_trailing_empty': 'bool',
    'diadoc_total_cap': int, 'diadoc_unknown_fields': 'bool', 'docsvision_page_kb': int,
    'docsvision_compression': ('none', 'deflate', 'zlib', 'gzip'),
    'docsvision_auth': ('basic', 'ntlm', 'none'), 'docsvision_rows': ('elements', 'attributes'),
    'docsvision_fault_language': ('en', 'ru'), 'docsvision_page_base': ('0', '1'),
    'docsvision_past_end': ('fault', 'empty'),
    'latency': float, 'connect_latency': float,
}
LOG_MAX = 200000


def convert(name, value):
    t = RESETTABLE[name]
    if t == 'bool':
        if value.lower() in ('1', 'true', 'yes', 'on', ''):
            return True
        if value.lower() in ('0', 'false', 'no', 'off'):
            return False
        raise ValueError('%s: not a boolean: %r' % (name, value))
    if isinstance(t, tuple):
        if value not in t:
            raise ValueError('%s: one of %s' % (name, ', '.join(t)))
        return value
    try:
        v = t(value)
    except ValueError:
        raise ValueError('%s: not a number: %r' % (name, value))
    if v < 0 or (name in ('docsvision_page_kb', 'datamill_max_objects', 'datamill_max_bytes',
                          'mercury_max_count') and v < 1):
        raise ValueError('%s: out of range: %r' % (name, value))
    return v


def effective(args, overrides):
    """The start options with overrides applied and every API's record count resolved."""
    cfg = copy.copy(args)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    for api in APIS:
        k = api.replace('-', '_') + '_records'
        if overrides.get(k) is None and (getattr(args, k) is None or 'records' in overrides):
            setattr(cfg, k, cfg.records)
    return cfg


class Emulator:
    def __init__(self, args):
        self.args = args
        self.faults = Faults()
        self.lock = threading.Lock()
        self.log = collections.deque(maxlen=LOG_MAX)
        self.logfile = open(args.log, 'a', encoding='utf-8') if args.log else None
        self.base_url = None
        self.listener = None
        self.reset({})

    def reset(self, overrides):
        cfg = effective(self.args, overrides)
        dd = Diadoc(cfg)
        apis = {'mercury': Mercury(cfg), 'datamill': DataMill(cfg), 'diadoc-events': Events(dd),
                'diadoc-packet': Packets(dd), 'docsvision': DocsVision(cfg)}
        with self.lock:
            self.cfg, self.diadoc, self.apis = cfg, dd, apis
            self.log.clear()
            self.requests = 0
            self.by_api = dict.fromkeys(APIS, 0)
        self.faults.clear()

    def next_request(self, api):
        with self.lock:
            self.requests += 1
            self.by_api[api] += 1
            return self.requests

    def record(self, entry):
        with self.lock:
            self.log.append(entry)
        if self.logfile:
            from .common import dumps
            self.logfile.write(dumps(entry) + '\n')
            self.logfile.flush()
