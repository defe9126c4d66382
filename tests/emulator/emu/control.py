"""The control API under /_emulator/: info, reset, truth, faults, log, data changes.

Parameters come from the query string or an urlencoded body. Errors are 400/404 with a
one-line text body, so `curl -f` in a test fails loudly.
"""
from . import state
from .common import Response, NDJSON_CT, dumps, jsonr, text, intparam


def handle(emu, req):
    path = req.path[len('/_emulator/'):].strip('/')
    q = req.form()
    try:
        return route(emu, req.method, path, q)
    except ValueError as e:
        return text(400, 'Bad Request: %s' % e)


def route(emu, method, path, q):
    if path == 'info' and method == 'GET':
        return jsonr(info(emu))
    if path == 'reset' and method == 'POST':
        overrides = {}
        for k, v in q.items():
            k2 = k.replace('-', '_')
            if k2 not in state.RESETTABLE:
                raise ValueError('reset: unknown parameter %r' % k)
            overrides[k2] = state.convert(k2, v)
        emu.reset(overrides)
        return jsonr(info(emu))
    if path.startswith('truth/') and method == 'GET':
        api = path[len('truth/'):]
        if api not in state.APIS:
            return text(404, 'Not Found: truth for %r (one of %s)' % (api, ', '.join(state.APIS)))
        return truth(emu.apis[api], q)
    if path == 'faults':
        if method == 'POST':
            return jsonr(emu.faults.add(q).describe())
        if method == 'DELETE':
            emu.faults.clear(intparam(q, 'id'))
            return jsonr(emu.faults.describe())
        if method == 'GET':
            return jsonr(emu.faults.describe())
    if path == 'log':
        if method == 'GET':
            return log(emu, q)
        if method == 'DELETE':
            with emu.lock:
                emu.log.clear()
            return text(200, 'OK')
    if path == 'docsvision/edit' and method == 'POST':
        dv = emu.apis['docsvision']
        card = dv.card(q.get('card'))
        if card is None:
            raise ValueError('card: unknown card %r' % q.get('card'))
        for _ in range(intparam(q, 'times', 1, 1, 1000)):
            dv.edit(card)
        return jsonr({'card': card.id, 'timestamp': card.timestamp, 'rows': card.rows})
    if path == 'mercury/insert' and method == 'POST':
        t = intparam(q, 'productType', 5, 1, 8)
        m = emu.apis['mercury']
        m.insert(t, intparam(q, 'count', 1, 0, 10**6))
        return jsonr({'productType': t, 'total': m.total(t)})
    return text(404, 'Not Found: %s /_emulator/%s' % (method, path))


def info(emu):
    cfg = emu.cfg
    dd = emu.diadoc.info()
    dv = emu.apis['docsvision'].info()
    with emu.lock:
        counts = dict(emu.by_api)
        requests = emu.requests
    lst = emu.listener
    return {
        'base_url': emu.base_url,
        'seed': cfg.seed,
        'records': {a: getattr(cfg, a.replace('-', '_') + '_records') for a in state.APIS},
        'credentials': {
            'mercury': {'user': cfg.mercury_user, 'password': cfg.mercury_password},
            'docsvision': {'user': cfg.docsvision_user, 'password': cfg.docsvision_password,
                           'auth': not cfg.docsvision_no_auth and cfg.docsvision_auth != 'none',
                           'scheme': 'none' if cfg.docsvision_no_auth else cfg.docsvision_auth},
            'diadoc': {'client_id': cfg.diadoc_client_id, 'token': cfg.diadoc_token,
                       'authorization': 'DiadocAuth ddauth_api_client_id=%s,ddauth_token=%s' % (
                           cfg.diadoc_client_id, cfg.diadoc_token)},
        },
        'box_id': dd['box_id'],
        'box_ids': dd['box_ids'],
        'packets': dd['packets'],
        'diadoc_departments': dd['departments'],
        'diadoc_counteragents': dd['counteragents'],
        'session_id': dv['session_id'],
        'cards': dv['cards'],
        'open_cursors': dv['open_cursors'],
        'open_sessions': dv['open_sessions'],
        'datamill_handles': emu.apis['datamill'].info()['handles'],
        'mercury': emu.apis['mercury'].info(),
        'requests': requests,
        'requests_by_api': counts,
        'connections': lst.connections if lst else 0,
        'settings': {k: getattr(cfg, k) for k in sorted(state.RESETTABLE)},
        'faults': emu.faults.describe(),
    }


def truth(api, q):
    gen = api.truth(q)
    first = next(gen, None)        # parameter errors surface here, before the 200 goes out

    def chunks():
        buf = []
        size = 0
        rec = first
        while rec is not None:
            line = (dumps(rec) + '\n').encode()
            buf.append(line)
            size += len(line)
            if size >= 65536:
                yield b''.join(buf)
                buf, size = [], 0
            rec = next(gen, None)
        if buf:
            yield b''.join(buf)
    return Response(200, NDJSON_CT, None, chunks=chunks())


def log(emu, q):
    api = q.get('api')
    since = intparam(q, 'since', 0)
    with emu.lock:
        entries = [e for e in emu.log if (api is None or e['api'] == api) and e['n'] > since]
    body = ''.join(dumps(e) + '\n' for e in entries).encode()
    return Response(200, NDJSON_CT, body, kind='json')

