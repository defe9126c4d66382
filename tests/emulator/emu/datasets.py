"""Deterministic test data, generated record by record.

Every record is a pure function of (seed, API, index): nothing is generated before a page or a
truth dump asks for it, so a million-record dataset starts at once and costs memory only for
what a cache keeps, and truth rebuilds exactly what the pages served.

The data is hard on purpose: Cyrillic, XML and JSON metacharacters, characters outside the BMP,
backslashes, tabs and newlines, empty/null values and strings of 10 KB and more.
"""
import hashlib
import itertools
import struct
import uuid

_blake2b = hashlib.blake2b
assert _blake2b(b'').digest_size == 64
_unpack8 = struct.Struct('<8Q').unpack
_unpack24 = struct.Struct('<24Q').unpack
_chain = itertools.chain

LAST = ['Абишин', 'Агринская', 'Абрамов', 'Иванова', 'Петров', 'Сидоренко', 'Кузнецов',
        'Смирнова', 'Попов', 'Волкова', 'Новиков', 'Ёлкин', "О'Коннор", 'Müller', 'Şahin',
        'Ли', 'Цой', 'Щербакова', 'Эйдельман', 'Юсупов']
FIRST = ['Вячеслав', 'Ольга', 'Александр', 'Мария', 'Иван', 'Екатерина', 'Дмитрий', 'Анна',
         'Сергей', 'Наталья', 'Алексей', 'Юлия', 'Пётр', 'Фёдор', 'Zoë', 'Jürgen']
MIDDLE = ['Петрович', 'Ивановна', 'Сергеевич', 'Алексеевна', 'Дмитриевич', 'Фёдоровна']
DEPTS = ['Бухгалтерия', 'Отдел кадров', 'R&D <лаборатория>', 'Склад №3', 'ИТ-отдел',
         'Юридический отдел "Закон"', 'Служба качества']
POSITIONS = ['инженер', 'бухгалтер', 'ведущий специалист', 'начальник отдела', 'кладовщик',
             'программист 1С', 'аналитик']
ACADEMIC = ['к.э.н.', 'PhD', 'д.т.н.', 'к.ф.-м.н.']
PRODUCTS = ['готовые мясные продукты', 'молоко и молочная продукция',
            'яйца и продукты их переработки', 'рыба и морепродукты', 'мёд', 'корма для животных',
            'шкуры, шерсть, пух', 'зерно & семена', 'живые животные', 'сыры «Российский»']
WORDS = ['договор', 'поставка', 'счёт', 'акт', 'накладная', 'сверка', 'оплата', 'возврат',
         'отгрузка', 'партия', 'склад', 'заявка', 'контрагент', 'протокол', 'изменение']

# Values that break naive escaping, decoding or splitting. Each is valid Unicode text that
# XML 1.0, JSON and protobuf strings can all carry (no NUL, no other C0 controls but TAB/LF/CR).
HARD = [
    'Рога & Копыта <ООО> "Ромашка" \'кавычки\'',
    'эмодзи 😀 и ключ 𝄞 вне BMP',
    'C:\\Temp\\новая папка\\файл.txt',
    'табуляция\tи\nперевод строки',
    'CR LF\r\nв тексте',
    '  пробелы по краям  ',
    '</row><row>не запись</row>',
    ']]> и <![CDATA[ не CDATA ]]>',
    '&amp; уже экранировано &lt;',
    '{"json": ["внутри", "текста"]}',
    'разделитель\u2028строк\u2029абзацев',
    'семья 👨\u200d👩\u200d👧 ZWJ',
    'ёЁ ÄÖÜ ß — «ёлочки» … ½ € ₽',
    '\\u0041 не escape, \\n тоже',
    'a' * 255,
]


def _words(b):
    """The 64-bit little-endian words of b, then of blake2b(b), of blake2b of that, … forever."""
    while True:
        yield from _unpack8(b)
        b = _blake2b(b).digest()


def _words_after(b):
    """The words of blake2b(b), of blake2b of that, … forever."""
    while True:
        b = _blake2b(b).digest()
        yield from _unpack8(b)


def draws(key):
    """The draws of Rng(key) as a bare function: each call returns the next 64-bit word. The
    hot generators (Mercury products) call it directly rather than through Rng's methods."""
    return _words(_blake2b(key).digest()).__next__


def blake2b64(data):
    """The 64-byte BLAKE2b digest (blake2b's default size; faster without the keyword)."""
    return _blake2b(data).digest()


def draws24(key):
    """draws(key) for a record that takes about 24 draws: the first three digests are made at
    once and their words served by a tuple iterator (the rest lazily), a little cheaper a draw."""
    d0 = _blake2b(key).digest()
    d1 = _blake2b(d0).digest()
    d2 = _blake2b(d1).digest()
    return _chain(_unpack24(d0 + d1 + d2), _words_after(d2)).__next__


class Rng:
    """Draws from a chain of BLAKE2b digests: creating one is a single hash (random.Random
    spends microseconds seeding its 624-word state) and eight draws cost one more hash; per
    record, generator set-up and draws dominated the generation time. `next` is a generator's
    __next__ over the digests' words (struct-unpacked eight at a time), not a Python method:
    a draw was half a microsecond of slicing and int.from_bytes, now it is a C call."""

    __slots__ = ('next',)

    def __init__(self, key):
        self.next = draws(key if isinstance(key, bytes) else b'%d' % key)

    def random(self):
        return (self.next() >> 11) * (1.0 / 9007199254740992)

    def randrange(self, a, b=None):
        if b is None:
            a, b = 0, a
        return a + self.next() % (b - a)      # bias of at most 2**-40 for our ranges

    def randint(self, a, b):
        return a + self.next() % (b - a + 1)

    def choice(self, seq):
        return seq[self.next() % len(seq)]

    def getrandbits(self, k):
        if k <= 64:
            return self.next() >> (64 - k)
        v, n = 0, 0
        while n < k:
            v = (v << 64) | self.next()
            n += 64
        return v >> (n - k)


def rng(seed, *key):
    """A generator for one record: the key hashed, so that neighbouring indexes are unrelated."""
    return Rng(repr((seed,) + key).encode())


def guid(r):
    return guid_n(r.next)


def guid_n(nx):
    """A GUID from two draws (the hex of the first, then of the second)."""
    a, b = nx(), nx()
    return '%08x-%04x-%04x-%04x-%012x' % (a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                                          b & 0xffffffffffff)


def stable_guid(*key):
    """A GUID that does not depend on the seed (card and packet ids stay the same on reset)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, 'pagepull-emulator:' + ':'.join(map(str, key))))


def _long(r):
    parts = []
    n = 0
    target = 10240 + r.randrange(6000)
    while n < target:
        w = r.choice(WORDS) if r.random() < 0.9 else r.choice(('😀', '𝄞', '&', '<>', '"', '\\'))
        parts.append(w)
        n += len(w.encode()) + 1
    return ' '.join(parts)


# Building 10 KB word by word costs milliseconds; a few prepared texts plus a distinct tail
# keep long values cheap enough for million-record truth dumps.
_LONG = [_long(Rng(k)) for k in range(16)]
assert len(_LONG) == 16 and len(HARD) == 15     # text_n's moduli


def long_text(r):
    """At least 10 KB of UTF-8 (Cyrillic is 2 bytes a character, the emoji 4)."""
    nx = r.next
    return '%s №%d' % (_LONG[nx() % 16], nx() >> 32)


def phrase(r, pool=WORDS, lo=2, hi=6):
    nx, n = r.next, len(pool)
    return ' '.join([pool[nx() % n] for _ in range(lo + nx() % (hi - lo + 1))])


def text(r, pool=WORDS, hard=8, long=60):
    """Mostly a plain Russian phrase; 1 in `hard` a HARD value, 1 in `long` a ≥10 KB one."""
    return text_n(r.next, pool, hard, long)


def text_n(nx, pool=WORDS, hard=8, long=60):
    """text() drawing from nx (a draws() function); the same values from the same draws."""
    x = nx() % (hard * long)
    if x < hard:
        return '%s №%d' % (_LONG[nx() % 16], nx() >> 32)
    if x % hard == 0:
        return HARD[nx() % 15]
    n = len(pool)
    return ' '.join([pool[nx() % n] for _ in range(2 + nx() % 5)])


def maybe(r, p, value):
    """value, or None with probability p (an empty element / JSON null)."""
    return None if r.random() < p else value


def split(total, weights):
    """total split by weights, the remainder going to the heaviest share."""
    s = sum(weights)
    out = [total * w // s for w in weights]
    out[weights.index(max(weights))] += total - sum(out)
    return out
