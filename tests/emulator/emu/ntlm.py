"""NTLM over HTTP, the server side, as IIS does it for DocsVision: negotiate → challenge →
authenticate on one kept-alive connection, then the connection is authenticated.

Only NTLMv2 responses are accepted, verified against the password the emulator was given:
NTOWFv2 = HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) + domain)), and the
client's NTProofStr must be HMAC-MD5(NTOWFv2, server challenge + blob) ([MS-NLMP] 3.3.2).
MD4 is here in pure Python: Debian's OpenSSL 3 keeps it in the legacy provider, which
hashlib may not load.
"""
import base64
import hashlib
import hmac
import os
import struct

SIGNATURE = b'NTLMSSP\x00'
# NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_NTLM | ALWAYS_SIGN | TARGET_TYPE_DOMAIN |
# EXTENDED_SESSIONSECURITY | NEGOTIATE_TARGET_INFO ([MS-NLMP] 2.2.2.5): the target info
# makes a client answer with NTLMv2.
CHALLENGE_FLAGS = 0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00010000 | 0x00080000 | 0x00800000
TARGET = 'EMULATOR'


def md4(data):
    """RFC 1320 MD4 of bytes."""
    def f(x, y, z): return (x & y) | (~x & z)
    def g(x, y, z): return (x & y) | (x & z) | (y & z)
    def h(x, y, z): return x ^ y ^ z
    def rol(v, s): return ((v << s) | (v >> (32 - s))) & 0xffffffff
    msg = data + b'\x80' + b'\x00' * ((55 - len(data)) % 64) + struct.pack('<Q', len(data) * 8)
    a, b, c, d = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack('<16I', msg[off:off + 64])
        aa, bb, cc, dd = a, b, c, d
        for i in range(16):
            k, s = i, (3, 7, 11, 19)[i % 4]
            a = rol((a + f(b, c, d) + x[k]) & 0xffffffff, s)
            a, b, c, d = d, a, b, c
        for i in range(16):
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            a = rol((a + g(b, c, d) + x[k] + 0x5a827999) & 0xffffffff, s)
            a, b, c, d = d, a, b, c
        for i in range(16):
            k, s = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i], (3, 9, 11, 15)[i % 4]
            a = rol((a + h(b, c, d) + x[k] + 0x6ed9eba1) & 0xffffffff, s)
            a, b, c, d = d, a, b, c
        a, b, c, d = [(v + w) & 0xffffffff for v, w in zip((a, b, c, d), (aa, bb, cc, dd))]
    return struct.pack('<4I', a, b, c, d)


def ntowfv2(user, domain, password):
    return hmac.new(md4(password.encode('utf-16-le')),
                    (user.upper() + domain).encode('utf-16-le'), hashlib.md5).digest()


def challenge_message(server_challenge):
    """The type 2 (CHALLENGE) message, with a target name and target info."""
    name = TARGET.encode('utf-16-le')
    info = b''.join(struct.pack('<HH', av, len(name)) + name for av in (2, 1)) + b'\x00\x00\x00\x00'
    head = 48
    return (SIGNATURE + struct.pack('<I', 2)
            + struct.pack('<HHI', len(name), len(name), head)
            + struct.pack('<I', CHALLENGE_FLAGS) + server_challenge + b'\x00' * 8
            + struct.pack('<HHI', len(info), len(info), head + len(name))
            + name + info)


def _field(msg, off):
    """The bytes of the (length, maxlength, offset) field at off."""
    n, _, at = struct.unpack_from('<HHI', msg, off)
    if at + n > len(msg):
        raise ValueError('field out of bounds')
    return msg[at:at + n]


def parse_authenticate(msg):
    """(domain, user, NT response) of a type 3 (AUTHENTICATE) message; ValueError if it is not one."""
    if len(msg) < 64 or msg[:8] != SIGNATURE or struct.unpack_from('<I', msg, 8)[0] != 3:
        raise ValueError('not an NTLM AUTHENTICATE message')
    flags = struct.unpack_from('<I', msg, 60)[0]
    enc = 'utf-16-le' if flags & 1 else 'latin-1'
    return (_field(msg, 28).decode(enc), _field(msg, 36).decode(enc), _field(msg, 20))


def message_type(msg):
    if len(msg) < 12 or msg[:8] != SIGNATURE:
        return None
    return struct.unpack_from('<I', msg, 8)[0]


class Server:
    """The account (user as 'DOMAIN\\user' or 'user') and its password."""

    def __init__(self, user, password):
        self.domain, _, self.user = user.rpartition('\\')
        self.password = password

    def verify(self, server_challenge, msg):
        """True when the AUTHENTICATE message carries a valid NTLMv2 response for the account."""
        try:
            domain, user, nt = parse_authenticate(msg)
        except (ValueError, struct.error, UnicodeDecodeError):
            return False
        if user.lower() != self.user.lower() or (self.domain and domain.lower() != self.domain.lower()):
            return False
        if len(nt) <= 24:             # NTLMv1 (or LM): refused, as a hardened IIS does
            return False
        proof, blob = nt[:16], nt[16:]
        key = ntowfv2(user, domain, self.password)
        return hmac.compare_digest(proof, hmac.new(key, server_challenge + blob, hashlib.md5).digest())

    def step(self, conn, header):
        """One request's part of the exchange on a connection (conn: its state dict).
        Returns None when the connection is authenticated, else the WWW-Authenticate value
        of the 401 to send."""
        scheme, _, token = (header or '').partition(' ')
        if scheme.lower() != 'ntlm':
            return None if conn.get('ntlm_ok') and not header else 'NTLM'
        try:
            msg = base64.b64decode(token.strip(), validate=True)
        except ValueError:
            msg = b''
        kind = message_type(msg)
        if kind == 1:
            conn['ntlm_ok'] = False
            conn['ntlm_challenge'] = os.urandom(8)
            return 'NTLM ' + base64.b64encode(challenge_message(conn['ntlm_challenge'])).decode()
        if kind == 3 and conn.get('ntlm_challenge'):
            ok = self.verify(conn.pop('ntlm_challenge'), msg)
            conn['ntlm_ok'] = ok
            return None if ok else 'NTLM'
        conn['ntlm_ok'] = False
        return 'NTLM'
