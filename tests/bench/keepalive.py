#!/usr/bin/python3
"""The anchor of the latency benchmark: what a user would write in Python — one kept-alive
http.client connection, POST after POST. usage: keepalive.py URL N BODY_FILE [HEADER ...]
(HEADER as 'Name: value'; https verified against $KEEPALIVE_CA). Prints nothing; exit 1 on a
non-2xx answer (a SOAP Fault 500 counts as an answer)."""
import http.client, ssl, sys, os, urllib.parse

def main():
    url, n, body_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    hdrs = dict(h.split(': ', 1) for h in sys.argv[4:])
    body = open(body_file, 'rb').read()
    u = urllib.parse.urlsplit(url)
    if u.scheme == 'https':
        ctx = ssl.create_default_context(cafile=os.environ.get('KEEPALIVE_CA'))
        c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
    else:
        c = http.client.HTTPConnection(u.hostname, u.port)
    path = u.path + ('?' + u.query if u.query else '')
    for _ in range(n):
        c.request('POST', path, body=body, headers=hdrs)
        r = c.getresponse()
        r.read()
        if r.status // 100 != 2 and r.status != 500:
            sys.exit(1)

main()
