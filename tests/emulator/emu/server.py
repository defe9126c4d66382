"""HTTP/1.1 front: the listening socket, one thread a connection, routing, faults on the wire.

Own accept loop rather than socketserver's so that a `refuse` fault can close the listening
socket for a while and bind the same port again. Keep-alive is the default (HTTP/1.1, always a
Content-Length, or chunked for streamed truth); head and body leave in one sendall with
TCP_NODELAY so that no request waits on Nagle + delayed ACK.
"""
import email.utils
import http.server
import socket
import ssl
import struct
import threading
import time
import traceback
import urllib.parse

from . import control
from .common import Request, Response, text, reason, TEXT_CT
from .faults import SPOILERS, retry_after
from .state import ROUTES


class Listener:
    def __init__(self, emu, port, ssl_ctx=None, addr='127.0.0.1'):
        self.emu = emu
        self.addr = addr
        self.port = port
        self.ssl_ctx = ssl_ctx
        self.sock = None
        self.conns = set()
        self.connections = 0
        self.lock = threading.Lock()
        self.open = threading.Event()     # set while the listening socket is up
        self.stopping = False
        self._bind()

    def _bind(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.addr, self.port))
        s.listen(256)
        self.port = s.getsockname()[1]
        self.sock = s
        self.open.set()

    def serve(self):
        while not self.stopping:
            self.open.wait()
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue           # closed by refuse() or stop()
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._conn, args=(conn, addr, n), daemon=True).start()

    def _conn(self, conn, addr, n):
        with self.lock:
            self.conns.add(conn)
        try:
            Handler(conn, addr, self, n)
        except Exception:
            pass                   # a client that went away mid-request is not our concern
        finally:
            with self.lock:
                self.conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def refuse(self, seconds):
        """Close the listening socket and every connection; bind the port again later."""
        with self.lock:
            if not self.open.is_set():
                return
            self.open.clear()
            conns = list(self.conns)
        _shut(self.sock)
        for c in conns:
            _shut(c, close=False)

        def reopen():
            for _ in range(100):
                try:
                    self._bind()
                    return
                except OSError:
                    time.sleep(0.1)
        t = threading.Timer(seconds, reopen)
        t.daemon = True               # SIGTERM during a refusal must not wait for it
        t.start()

    def stop(self):
        self.stopping = True
        _shut(self.sock)
        self.open.set()


class Headers(dict):
    """Request headers by lower-case name; get() takes any case (repeated headers joined by ', ')."""

    def get(self, k, default=None):
        return dict.get(self, k.lower(), default)


def _shut(s, close=True):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    if close:
        try:
            s.close()
        except OSError:
            pass


_date = [0, '']


def http_date():
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _date[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'pagepull-emulator/0.1'
    # A blocking socket, the idle limit set in the kernel (SO_RCVTIMEO/SO_SNDTIMEO): a Python
    # socket timeout would poll() before every recv and send, two more system calls a request.
    timeout = None
    idle_timeout = 120              # an idle keep-alive connection is dropped after this

    def __init__(self, conn, addr, listener, n):
        self.listener, self.emu, self.conn_no = listener, listener.emu, n
        self.conn_state = {}        # per connection: connection-based auth (NTLM) keeps its state here
        super().__init__(conn, addr, listener)

    def setup(self):
        cfg = self.emu.cfg
        if cfg.connect_latency:
            time.sleep(cfg.connect_latency / 1000)
        s = self.request
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tv = struct.pack('ll', self.idle_timeout, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        if self.listener.ssl_ctx:
            self.request = self.listener.ssl_ctx.wrap_socket(s, server_side=True)
        super().setup()

    def log_message(self, *args):
        pass

    def parse_request(self):
        """The request line and headers. Replaces BaseHTTPRequestHandler's, whose email-package
        header parser was a third of the time of a small request."""
        line = str(self.raw_requestline, 'iso-8859-1').rstrip('\r\n')
        self.requestline = line
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith('HTTP/1.'):
            self.close_connection = True
            self.send_error(400, 'Bad request line %r' % line[:100])
            return False
        self.command, self.path, self.request_version = parts
        h = self.read_headers()
        if h is None:
            self.close_connection = True
            self.send_error(400, 'Bad header line')
            return False
        self.headers = h
        conn = h.get('connection', '').lower()
        self.close_connection = 'close' in conn or (parts[2] == 'HTTP/1.0' and 'keep-alive' not in conn)
        if parts[2] != 'HTTP/1.0' and h.get('expect', '').lower() == '100-continue':
            self.request.sendall(b'HTTP/1.1 100 Continue\r\n\r\n')
        return True

    def read_headers(self):
        """The header lines up to the empty one, as Headers; None when one is malformed. The
        usual case, the whole head already in the read buffer, takes one peek and one read."""
        rf = self.rfile
        buf = rf.peek()
        end = buf.find(b'\r\n\r\n')
        if end > 0 and buf[0] not in (10, 13) and b'\n\n' not in buf[:end] and b'\n\r\n' not in buf[:end]:
            lines = rf.read(end + 4)[:end].decode('iso-8859-1').split('\n')   # no empty line before end
        else:
            lines = []
            while True:
                raw = rf.readline(65537)
                if raw in (b'\r\n', b'\n', b''):
                    break
                if len(raw) > 65536:
                    return None
                lines.append(raw.decode('iso-8859-1'))
        h = Headers()
        for line in lines:
            k, sep, v = line.partition(':')
            if not sep or len(h) > 200:
                return None
            k, v = k.strip().lower(), v.strip()
            h[k] = h[k] + ', ' + v if k in h else v
        return h

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def read_body(self):
        h = self.headers
        if 'transfer-encoding' in h and h['transfer-encoding'].lower() == 'chunked':
            parts = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(h.get('content-length') or 0)
        return self.rfile.read(n) if n else b''

    def dispatch(self):
        target = self.path
        if target[:1] == '/' and target[:2] != '//' and '#' not in target:
            path, _, qs = target.partition('?')       # what urlsplit gives for an origin-form target
        else:
            url = urllib.parse.urlsplit(target)
            path, qs = url.path, url.query
        req = Request(self.command, path, query_dict(qs), self.headers, self.read_body())
        req.conn = self.conn_state
        api_name = ROUTES.get(path)
        if api_name is None:
            if path.startswith('/_emulator/'):
                return self.send(control.handle(self.emu, req))
            return self.send(text(404, 'Not Found: %s' % path))
        emu = self.emu
        api = emu.apis[api_name]
        # An HTTP authentication round trip (a 401 challenge) is not a request of the API:
        # it is neither numbered, nor logged, nor given a fault.
        challenge = getattr(api, 'challenge', None)
        deny = challenge(req) if challenge else None
        if deny is not None:
            return self.send(deny)
        n = emu.next_request(api_name)
        err = api.parse(req)
        rule = emu.faults.pick(api_name, req)
        if emu.cfg.latency:
            time.sleep(emu.cfg.latency / 1000)
        resp, spoil = None, None
        if rule is not None:
            if rule.kind in SPOILERS:
                spoil = rule
            elif rule.kind == 'refuse':
                self.entry(n, api_name, req, None, rule)
                self.close_connection = True
                self.listener.refuse(int(rule.params['seconds']))
                return
            elif rule.kind == 'http':
                resp = http_fault(rule)
            elif rule.kind == 'wrong_type':
                resp = Response(200, rule.params['type'], rule.params['body'].encode())
            else:
                resp = api.fault(rule, req)       # None: a side effect only (insert)
        if resp is None:
            try:
                resp = err or api.serve(req)
            except Exception:
                # An emulator bug: say so loudly rather than drop the connection.
                traceback.print_exc()
                resp = text(500, 'emulator bug: see its stderr')
        ok = self.send(resp, spoil)
        if ok and resp.commit:
            resp.commit()
        self.entry(n, api_name, req, resp.status, rule, resp.records)

    def entry(self, n, api, req, status, rule, records=None):
        params = {k: v for k, v in req.params.items()
                  if v is None or isinstance(v, (str, int, float, bool))}
        e = {'n': n, 'api': api, 'method': req.method, 'path': req.path, 'op': req.op,
             'params': params, 'status': status, 'fault': rule.kind if rule else None,
             'records': records, 'conn': self.conn_no}
        if self.listener.ssl_ctx:       # a full handshake, or a resumed TLS session
            e['tls'] = 'resumed' if getattr(self.request, 'session_reused', False) else 'full'
        self.emu.record(e)

    def head(self, resp, length):
        h = 'HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\nContent-Type: %s\r\n%s\r\n' % (
            resp.status, reason(resp.status), self.server_version, http_date(), resp.ctype,
            'Transfer-Encoding: chunked' if length is None else 'Content-Length: %d' % length)
        for k, v in resp.headers:
            h += '%s: %s\r\n' % (k, v)
        if self.close_connection:
            h += 'Connection: close\r\n'
        return (h + '\r\n').encode('latin-1')

    def send(self, resp, spoil=None):
        """Write the response, spoiled as the fault says. True when sent whole and unspoiled."""
        w = self.request.sendall
        if resp.chunks is not None:
            w(self.head(resp, None))
            for c in resp.chunks:
                w(b'%x\r\n%s\r\n' % (len(c), c))
            w(b'0\r\n\r\n')
            return True
        body = resp.body
        if self.command == 'HEAD':
            w(self.head(resp, len(body)))
            return True
        kind = spoil.kind if spoil else None
        if kind == 'malformed':
            body = malform(body, resp.kind)
        elif kind == 'truncated':
            body = body[:len(body) // 2]
        if kind in ('close', 'stall'):
            w(self.head(resp, len(body)) + body[:len(body) // 2])
            if kind == 'stall':
                time.sleep(int(spoil.params['seconds']))
            self.close_connection = True
            _shut(self.request, close=False)
            return False
        if kind == 'drip':
            w(self.head(resp, len(body)))
            step = max(1, int(spoil.params['bytes_per_sec']) // 20)
            for i in range(0, len(body), step):
                time.sleep(0.05)
                w(body[i:i + step])
            return True                # slow but whole: a Data Mill cursor may advance
        w(self.head(resp, len(body)) + body)
        return kind is None


def query_dict(qs):
    """dict(parse_qsl(qs, keep_blank_values=True)), without parse_qsl when nothing is encoded."""
    if not qs:
        return {}
    if '%' in qs or '+' in qs:
        return dict(urllib.parse.parse_qsl(qs, keep_blank_values=True))
    out = {}
    for part in qs.split('&'):
        if part:
            k, _, v = part.partition('=')
            out[k] = v
    return out


def http_fault(rule):
    status = int(rule.params['status'])
    ra = retry_after(rule)
    hdrs = [('Retry-After', ra)] if ra else []
    msg = rule.params.get('message') or '%d %s (injected)' % (status, reason(status))
    return Response(status, TEXT_CT, (msg + '\n').encode(), hdrs)


def malform(body, kind):
    """The body with its syntax broken in the middle (an unclosed tag, a stray brace, a bad
    wire type), Content-Length still right: the client's parser, not HTTP, must notice."""
    mid = len(body) // 2
    if kind == 'pb':
        return b'\x0f\xff\xff' + body          # field 1, wire type 7: invalid from the first byte
    if kind == 'json':
        return body[:mid] + b'}{,"' + body[mid:]
    if kind == 'xml':
        return body[:mid] + b'<<&>' + body[mid:]
    return body[:mid] + b'\x00' + body[mid:]


def tls_context(certfile, keyfile, max_version='1.3'):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    if max_version == '1.2':
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx

