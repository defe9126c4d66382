"""tests/emulator/run: options, TLS certificate, start, print the base URL, wait for SIGTERM."""
import argparse
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from .faults import Rule
from .server import Listener, tls_context
from .state import Emulator


def options(argv):
    p = argparse.ArgumentParser(prog='tests/emulator/run',
                                description='Local stand-in for the five pagepull APIs (see README.md).')
    a = p.add_argument
    a('--port', type=int, default=0, help='port on 127.0.0.1 (default: chosen by the OS)')
    a('--bind', default='127.0.0.1', metavar='ADDR',
      help='IPv4 address to listen on (default 127.0.0.1); the certificate names it too')
    a('--seed', type=int, default=1, help='dataset seed (default 1)')
    a('--records', type=int, default=2500, help='records per API (default 2500)')
    for api in ('mercury', 'datamill', 'diadoc-events', 'diadoc-packet', 'docsvision'):
        a('--%s-records' % api, type=int, metavar='N', help='records for %s (default --records)' % api)
    a('--fault', action='append', default=[], metavar='SPEC',
      help="fault rule, e.g. 'api=mercury&kind=http&status=503&on=2' (repeatable)")
    a('--latency', type=float, default=0, metavar='MS', help='delay before every API answer')
    a('--connect-latency', type=float, default=0, metavar='MS', help='delay on every new connection')
    a('--tls', action='store_true', help='serve https with a self-signed certificate')
    a('--tls-cert', metavar='FILE', help='where to write the certificate (PEM); implies --tls')
    a('--tls-max', choices=('1.2', '1.3'), default='1.3',
      help='the highest TLS version offered (1.2: a server one round trip slower a handshake)')
    a('--log', metavar='FILE', help='append the request log to FILE as NDJSON')
    a('--mercury-user', default='mercury')
    a('--mercury-password', default='mercury-secret')
    a('--mercury-has-more', action='store_true', help='add hasMore to productList')
    a('--mercury-max-count', type=int, default=1000, metavar='N')
    a('--datamill-max-objects', type=int, default=100, metavar='N')
    a('--datamill-max-bytes', type=int, default=65536, metavar='N')
    a('--datamill-eof-style', choices=('bool', 'string', 'number'), default='bool')
    a('--datamill-omit-eof', action='store_true', help='no eof at all on non-final packets')
    a('--datamill-handle-ttl', type=float, default=0, metavar='SECONDS',
      help='a handle idle this long expires (default 0: never)')
    a('--diadoc-client-id', default='pagepull-demo')
    a('--diadoc-token', default='diadoc-secret-token')
    a('--diadoc-empty-pages', type=int, default=0, metavar='N', help='every Nth packet page empty')
    a('--diadoc-short-pages', type=int, default=0, metavar='N', help='about every Nth page short')
    a('--diadoc-trailing-empty', action='store_true',
      help='the last packet page with data still has a NextPageIndexKey')
    a('--diadoc-unknown-fields', action='store_true',
      help='Diadoc: every record and DocumentInfo carries a field no schema names')
    a('--diadoc-total-cap', type=int, default=0, metavar='N',
      help='TotalCount capped at N (TotalCountType GreaterThanOrEqual)')
    a('--docsvision-user', default='docsvision')
    a('--docsvision-password', default='dv-secret')
    a('--docsvision-no-auth', action='store_true', help='the same as --docsvision-auth none')
    a('--docsvision-auth', choices=('basic', 'ntlm', 'none'), default='basic',
      help='HTTP authentication: Basic, NTLM (NTLMv2, per connection, as IIS) or none')
    a('--docsvision-base-name', default='DocsVision', metavar='NAME',
      help='the one database SessionLogin accepts besides the default (an empty baseName)')
    a('--docsvision-rows', choices=('elements', 'attributes'), default='elements',
      help='page payloads: <rows><row><F>v</F></row></rows> or <RowData><row F="v"/></RowData>')
    a('--docsvision-page-base', type=int, choices=(0, 1), default=1,
      help='the number of the first page (FirstPage) in CursorReadPage')
    a('--docsvision-past-end', choices=('fault', 'empty'), default='fault',
      help='CursorReadPage past the last page: a PageOutOfRange fault, or an empty page')
    a('--docsvision-fault-language', choices=('en', 'ru'), default='en',
      help='the language of fault messages')
    a('--docsvision-session', default='6565c75b-298d-e511-9417-90e6ba57b9f8', metavar='GUID')
    a('--docsvision-page-kb', type=int, default=16, metavar='KB')
    a('--docsvision-compression', choices=('none', 'deflate', 'zlib', 'gzip'), default='none')
    args = p.parse_args(argv)
    for k, v in vars(args).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None and v < 0:
            p.error('--%s must not be negative' % k.replace('_', '-'))
    if args.docsvision_page_kb < 1 or args.datamill_max_objects < 1 or args.datamill_max_bytes < 1:
        p.error('page and packet limits must be positive')
    for spec in args.fault:
        try:
            Rule(spec)
        except ValueError as e:
            p.error('--fault %s: %s' % (spec, e))
    return args


def make_cert(path, addr='127.0.0.1'):
    """A fresh self-signed certificate for 127.0.0.1/localhost (and addr); the key stays in a temp dir."""
    d = tempfile.mkdtemp(prefix='pagepull-emu-')
    atexit.register(shutil.rmtree, d, True)
    key = os.path.join(d, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                    '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
                    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost' +
                    (',IP:' + addr if addr != '127.0.0.1' else ''),
                    '-keyout', key, '-out', path], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return key


def main(argv):
    args = options(argv)
    emu = Emulator(args)
    for spec in args.fault:
        emu.faults.add(spec)
    ctx = None
    if args.tls or args.tls_cert:
        cert = args.tls_cert or os.path.join(tempfile.mkdtemp(prefix='pagepull-emu-'), 'cert.pem')
        try:
            ctx = tls_context(cert, make_cert(cert, args.bind), args.tls_max)
        except (OSError, subprocess.CalledProcessError) as e:
            print('emulator: tls: %s' % e, file=sys.stderr)
            return 1
        if not args.tls_cert:
            print('emulator: certificate in %s' % cert, file=sys.stderr)
    try:
        lst = Listener(emu, args.port, ctx, args.bind)
    except OSError as e:
        print('emulator: listen: %s' % e, file=sys.stderr)
        return 1
    emu.listener = lst
    emu.base_url = '%s://%s:%d' % ('https' if ctx else 'http', args.bind, lst.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=lst.serve, daemon=True).start()
    print(emu.base_url, flush=True)
    while not stop.wait(3600):
        pass
    lst.stop()
    return 0


sys.exit(main(sys.argv[1:]))
