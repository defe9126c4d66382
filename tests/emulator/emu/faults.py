"""Fault rules: which request gets which fault.

A rule is written like a query string, `api=mercury&kind=http&status=503&on=2,5`, at start
(--fault) or through the control API. It watches the requests to its API (and operation, with
op=; and logged parameters, with match=NAME:VALUE,…) made after it was added and fires on the Nth ones (on=), every Nth (every=), or with a
seeded probability (prob=&seed=), at most times= times; with no when-clause it fires on every
request. The first rule that fires decides a request's fault; one fault a request.
"""
import email.utils
import random
import threading
import time
import urllib.parse

APIS = ('mercury', 'datamill', 'diadoc-events', 'diadoc-packet', 'docsvision')
# kind: (APIs it applies to, its parameters with defaults)
KINDS = {
    'http': (APIS, {'status': '503', 'retry_after': None, 'message': None}),
    'refuse': (APIS, {'seconds': '1'}),
    'close': (APIS, {}),
    'stall': (APIS, {'seconds': '30'}),
    'drip': (APIS, {'bytes_per_sec': '2000'}),
    'malformed': (APIS, {}),
    'truncated': (APIS, {}),
    'soap_fault': (('mercury', 'docsvision'), {'name': None, 'message': None, 'code': None}),
    'api_error': (('diadoc-events', 'diadoc-packet', 'datamill'),
                  {'status': '500', 'message': None, 'retry_after': None}),
    'expire_handle': (('datamill',), {}),
    # 200 with a body that is not the API's (a plain-text error, a proxy's page)
    'wrong_type': (APIS, {'type': 'text/plain; charset=utf-8', 'body': 'x\n'}),
    'insert': (('mercury',), {'count': '10'}),
}
WHEN = ('api', 'kind', 'on', 'every', 'prob', 'seed', 'times', 'op', 'match')
MERCURY_FAULTS = ('internalServiceFault', 'incorrectRequestFault', 'offsetOutOfRangeFault')
# Kinds whose answer comes from the service itself (after parsing) rather than instead of it.
SPOILERS = ('close', 'stall', 'drip', 'malformed', 'truncated')


class Rule:
    serial = 0

    def __init__(self, spec):
        """spec: a query string or a dict. ValueError says what is wrong."""
        d = dict(urllib.parse.parse_qsl(spec, keep_blank_values=True)) if isinstance(spec, str) else dict(spec)
        kind = d.get('kind')
        if kind not in KINDS:
            raise ValueError('kind must be one of %s' % ', '.join(KINDS))
        apis, defaults = KINDS[kind]
        api = d.get('api') or None
        if api in ('*', 'any', 'all'):
            api = None
        if api is not None and api not in APIS:
            raise ValueError('api must be one of %s' % ', '.join(APIS))
        if api is not None and api not in apis:
            raise ValueError('kind %s does not apply to api %s' % (kind, api))
        unknown = set(d) - set(WHEN) - set(defaults)
        if unknown:
            raise ValueError('unknown parameter(s) for kind %s: %s' % (kind, ', '.join(sorted(unknown))))
        self.kind, self.api, self.apis, self.op = kind, api, apis, d.get('op') or None
        self.params = {k: d.get(k, v) for k, v in defaults.items() if d.get(k, v) is not None}
        self.match = self._pairs(d, 'match')
        self.on = self._ints(d, 'on')
        self.every = self._int(d, 'every', 1)
        self.times = self._int(d, 'times', 1)
        self.prob = None
        if 'prob' in d:
            self.prob = float(d['prob'])
            if not 0 <= self.prob <= 1:
                raise ValueError('prob must be within 0..1')
            self.rng = random.Random(self._int(d, 'seed', 0) or 0)
        for k in ('status', 'seconds', 'bytes_per_sec', 'count'):
            if k in self.params:
                self._int(self.params, k, 1 if k != 'seconds' else 0)
        ra = self.params.get('retry_after')
        if ra is not None and not (ra.isdigit() or (ra.startswith('date:') and ra[5:].isdigit())):
            raise ValueError('retry_after must be SECONDS or date:SECONDS')
        if kind == 'soap_fault' and api == 'mercury' and self.params.get('name', MERCURY_FAULTS[0]) \
                not in MERCURY_FAULTS:
            raise ValueError('name must be one of %s' % ', '.join(MERCURY_FAULTS))
        self.seen = 0       # matching requests since the rule was added
        self.fired = 0
        Rule.serial += 1
        self.id = Rule.serial
        self.spec = d

    @staticmethod
    def _int(d, k, lo):
        if k not in d or d[k] == '':
            return None
        try:
            n = int(d[k])
        except ValueError:
            raise ValueError('%s must be an integer' % k)
        if n < lo:
            raise ValueError('%s must be at least %d' % (k, lo))
        return n

    def _ints(self, d, k):
        if not d.get(k):
            return None
        try:
            return {int(x) for x in d[k].split(',')}
        except ValueError:
            raise ValueError('%s must be a comma-separated list of integers' % k)

    @staticmethod
    def _pairs(d, k):
        """match=offset:20,productType:6 → {'offset': '20', 'productType': '6'}"""
        if not d.get(k):
            return {}
        pairs = [x.partition(':') for x in d[k].split(',')]
        if any(not name or not sep for name, sep, _ in pairs):
            raise ValueError('%s must be a comma-separated list of NAME:VALUE' % k)
        return {name: value for name, _, value in pairs}

    def watches(self, api, req):
        if (self.api or api) != api or api not in self.apis:
            return False
        # match: the request's parameters as the log shows them (compared as text)
        params = getattr(req, 'params', None) or {}
        for name, value in self.match.items():
            if name not in params or str(params[name]) != value:
                return False
        return self.op is None or self.op == req.op

    def applicable(self, req):
        # A handle can only expire on a request that carries one.
        return self.kind != 'expire_handle' or req.handle is not None

    def decide(self, req, free):
        """Count the request; True when the rule fires on it (only when `free`: no other
        rule has fired on this request)."""
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.on is not None:
            hit = self.seen in self.on
        elif self.every is not None:
            hit = self.seen % self.every == 0
        elif self.prob is not None:
            hit = self.rng.random() < self.prob
        else:
            hit = True
        if hit and free and self.applicable(req):
            self.fired += 1
            return True
        return False

    def describe(self):
        d = dict(self.spec)
        d.update(id=self.id, seen=self.seen, fired=self.fired)
        return d


class Faults:
    def __init__(self):
        self.rules = []
        self.lock = threading.Lock()

    def add(self, spec):
        r = Rule(spec)
        with self.lock:
            self.rules.append(r)
        return r

    def clear(self, rid=None):
        with self.lock:
            self.rules = [r for r in self.rules if rid is not None and r.id != rid]

    def pick(self, api, req):
        """The rule that fires on this request, or None. Every watching rule counts it."""
        if not self.rules:          # the usual case: no lock taken
            return None
        chosen = None
        with self.lock:
            for r in self.rules:
                if r.watches(api, req) and r.decide(req, chosen is None):
                    chosen = r
        return chosen

    def describe(self):
        with self.lock:
            return [r.describe() for r in self.rules]


def retry_after(rule):
    """The Retry-After header value of a rule: seconds as given, or an HTTP-date that many
    seconds ahead (retry_after=date:SECONDS); None when the rule has none."""
    ra = rule.params.get('retry_after')
    if ra is not None and ra.startswith('date:'):
        return email.utils.formatdate(time.time() + int(ra[5:]), usegmt=True)
    return ra
