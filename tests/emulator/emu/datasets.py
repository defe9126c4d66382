"""Deterministic test data, generated record by record.

Every record is a pure function of (seed, API, index): nothing is generated before a page or a
truth dump asks for it, so a million-record dataset starts at once and costs memory only for
what a cache keeps, and truth rebuilds exactly what the pages served.

The data is hard on purpose: Cyrillic, XML and JSON metacharacters, characters outside the BMP,
backslashes, tabs and newlines, empty/null values and strings of 10 KB and more.
"""
import hashlib
import uuid

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


class Rng:
    """Draws from a chain of BLAKE2b digests: creating one is a single hash (random.Random
    spends microseconds seeding its 624-word state) and eight draws cost one more hash; per
    record, generator set-up and draws dominated the generation time."""

    __slots__ = ('b', 'i')

    def __init__(self, key):
        self.b = hashlib.blake2b(key if isinstance(key, bytes) else b'%d' % key, digest_size=64).digest()
        self.i = 0

    def next(self):
        i = self.i
        if i >= 64:
            self.b = hashlib.blake2b(self.b, digest_size=64).digest()
            i = 0
        self.i = i + 8
        return int.from_bytes(self.b[i:i + 8], 'little')

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
        v, n = 0, 0
        while n < k:
            v = (v << 64) | self.next()
            n += 64
        return v >> (n - k)


def rng(seed, *key):
    """A generator for one record: the key hashed, so that neighbouring indexes are unrelated."""
    return Rng(repr((seed,) + key).encode())


def guid(r):
    h = '%032x' % r.getrandbits(128)
    return '%s-%s-%s-%s-%s' % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


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


def long_text(r):
    """At least 10 KB of UTF-8 (Cyrillic is 2 bytes a character, the emoji 4)."""
    return '%s №%d' % (r.choice(_LONG), r.getrandbits(32))


def phrase(r, pool=WORDS, lo=2, hi=6):
    return ' '.join(r.choice(pool) for _ in range(r.randint(lo, hi)))


def text(r, pool=WORDS, hard=8, long=60):
    """Mostly a plain Russian phrase; 1 in `hard` a HARD value, 1 in `long` a ≥10 KB one."""
    x = r.randrange(hard * long)
    if x < hard:
        return long_text(r)
    if x % hard == 0:
        return r.choice(HARD)
    return phrase(r, pool)


def maybe(r, p, value):
    """value, or None with probability p (an empty element / JSON null)."""
    return None if r.random() < p else value


def split(total, weights):
    """total split by weights, the remainder going to the heaviest share."""
    s = sum(weights)
    out = [total * w // s for w in weights]
    out[weights.index(max(weights))] += total - sum(out)
    return out
