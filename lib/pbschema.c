/*
 * pbschema.c — a FileDescriptorSet (protoc --descriptor_set_out --include_imports), read with
 * protobuf-c's bindings of descriptor.proto and indexed for the protobuf filters: message and
 * enum types sorted by full name, each message's fields sorted by number (with a direct table
 * for small numbers), type names resolved, presence and packing worked out from the syntax.
 * proto2 and proto3 files are understood; editions files are refused.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include "pagepull.h"
#include "google/protobuf/descriptor.pb-c.h"

#define MAX_DESC (256u << 20)

typedef Google__Protobuf__FileDescriptorProto FileDesc;
typedef Google__Protobuf__DescriptorProto MsgDesc;
typedef Google__Protobuf__EnumDescriptorProto EnumDesc;
typedef Google__Protobuf__FieldDescriptorProto FieldDesc;

/* The collection pass remembers where each type came from. */
struct src {
	struct pb_schema *s;
	const MsgDesc **md;
	const FileDesc **mfile;
	size_t cap_m, cap_e;
};

static char *join(const char *pkg, const char *name)
{
	if (!pkg || !*pkg)
		return xstrdup(name);
	size_t a = strlen(pkg), b = strlen(name);
	char *p = xmalloc(a + b + 2);
	memcpy(p, pkg, a);
	p[a] = '.';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

static int proto3(const FileDesc *f)
{
	return f->syntax && !strcmp(f->syntax, "proto3");
}

static void add_enum(struct src *c, const FileDesc *f, const EnumDesc *ed, const char *scope)
{
	struct pb_schema *s = c->s;
	if (s->nenums == c->cap_e) {
		c->cap_e = c->cap_e ? 2 * c->cap_e : 64;
		s->enums = xrealloc(s->enums, c->cap_e * sizeof *s->enums);
	}
	struct pb_enum *e = &s->enums[s->nenums++];
	e->name = join(scope, ed->name);
	e->n = ed->n_value;
	e->names = xcalloc(e->n, sizeof *e->names);
	e->numbers = xcalloc(e->n, sizeof *e->numbers);
	e->closed = !proto3(f);
	/* insertion sort by number, stable: the first declared alias names a number */
	for (size_t i = 0; i < e->n; i++) {
		int32_t num = ed->value[i]->number;
		size_t j = i;
		for (; j > 0 && e->numbers[j - 1] > num; j--) {
			e->numbers[j] = e->numbers[j - 1];
			e->names[j] = e->names[j - 1];
		}
		e->numbers[j] = num;
		e->names[j] = ed->value[i]->name;
	}
}

static void add_msg(struct src *c, const FileDesc *f, const MsgDesc *md, const char *scope)
{
	struct pb_schema *s = c->s;
	if (s->nmsgs == c->cap_m) {
		c->cap_m = c->cap_m ? 2 * c->cap_m : 64;
		s->msgs = xrealloc(s->msgs, c->cap_m * sizeof *s->msgs);
		c->md = xrealloc(c->md, c->cap_m * sizeof *c->md);
		c->mfile = xrealloc(c->mfile, c->cap_m * sizeof *c->mfile);
	}
	struct pb_msg *m = &s->msgs[s->nmsgs];
	memset(m, 0, sizeof *m);
	m->name = join(scope, md->name);
	c->md[s->nmsgs] = md;
	c->mfile[s->nmsgs] = f;
	s->nmsgs++;
	const char *full = m->name;
	for (size_t i = 0; i < md->n_nested_type; i++)
		add_msg(c, f, md->nested_type[i], full);
	for (size_t i = 0; i < md->n_enum_type; i++)
		add_enum(c, f, md->enum_type[i], full);
}

/* Sorts names along with their satellite arrays: a permutation applied afterwards. */
static const char *const *sort_base;
static size_t sort_stride;
static int cmp_idx(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const char *x = *(const char *const *)((const char *)sort_base + i * sort_stride);
	const char *y = *(const char *const *)((const char *)sort_base + j * sort_stride);
	return strcmp(x, y);
}

static size_t *order(const void *base, size_t n, size_t stride)
{
	size_t *ix = xcalloc(n, sizeof *ix);
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	sort_base = base;
	sort_stride = stride;
	qsort(ix, n, sizeof *ix, cmp_idx);
	return ix;
}

static const void *find(const void *base, size_t n, size_t stride, const char *name)
{
	size_t lo = 0, hi = n;
	if (*name == '.')
		name++;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const void *el = (const char *)base + mid * stride;
		int c = strcmp(name, *(const char *const *)el);
		if (!c)
			return el;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct pb_msg *pb_find_msg(const struct pb_schema *s, const char *name)
{
	return find(s->msgs, s->nmsgs, sizeof *s->msgs, name);
}

static char *camel(const char *name)
{
	char *j = xstrdup(name), *o = j;
	for (int up = 0; *name; name++) {
		if (*name == '_') {
			up = 1;
			continue;
		}
		*o++ = up && *name >= 'a' && *name <= 'z' ? (char)(*name - 32) : *name;
		up = 0;
	}
	*o = 0;
	return j;
}

static char *mkkey(const char *name, size_t *len)
{
	struct buf b = {0};
	json_key(&b, name, strlen(name));
	*len = b.len;
	buf_str(&b);
	return b.p;
}

static int packable(int type)
{
	return type != PBT_STRING && type != PBT_BYTES && type != PBT_MESSAGE && type != PBT_GROUP;
}

static int cmp_num(const void *a, const void *b)
{
	const struct pb_field *x = a, *y = b;
	return x->number < y->number ? -1 : x->number > y->number;
}

static void fill_msg(struct pb_schema *s, struct pb_msg *m, const MsgDesc *md, const FileDesc *f,
    const char *path)
{
	int p3 = proto3(f);
	m->nfields = md->n_field;
	m->fields = xcalloc(m->nfields, sizeof *m->fields);
	m->noneofs = (int)md->n_oneof_decl;
	m->map_entry = md->options && md->options->has_map_entry && md->options->map_entry;
	for (size_t i = 0; i < md->n_field; i++) {
		const FieldDesc *fd = md->field[i];
		struct pb_field *fl = &m->fields[i];
		fl->name = fd->name;
		fl->json_name = fd->json_name ? fd->json_name : camel(fd->name);
		fl->key[0] = mkkey(fl->name, &fl->keylen[0]);
		fl->key[1] = mkkey(fl->json_name, &fl->keylen[1]);
		fl->number = (uint32_t)fd->number;
		fl->type = fd->type;
		fl->wire = pb_wiretype(fl->type);
		fl->repeated = fd->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
		fl->required = fd->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED;
		m->nrequired += fl->required;
		fl->oneof = fd->has_oneof_index ? fd->oneof_index : -1;
		fl->presence = !fl->repeated && (!p3 || fl->type == PBT_MESSAGE || fl->oneof >= 0);
		if (fl->repeated && packable(fl->type))
			fl->packed = fd->options && fd->options->has_packed ? fd->options->packed : p3;
		if (fl->type < PBT_DOUBLE || fl->type > PBT_SINT64 || fl->type == PBT_GROUP)
			errx(EXIT_USAGE, "%s: %s.%s: groups and unknown field types are not supported",
			    path, m->name, fl->name);
		if (fl->type == PBT_MESSAGE && !(fl->msg = fd->type_name ? pb_find_msg(s, fd->type_name) : NULL))
			errx(EXIT_USAGE, "%s: %s.%s: type %s not in the set (protoc --include_imports?)",
			    path, m->name, fl->name, fd->type_name ? fd->type_name : "?");
		if (fl->type == PBT_ENUM && !(fl->en = fd->type_name ?
		    find(s->enums, s->nenums, sizeof *s->enums, fd->type_name) : NULL))
			errx(EXIT_USAGE, "%s: %s.%s: enum %s not in the set (protoc --include_imports?)",
			    path, m->name, fl->name, fd->type_name ? fd->type_name : "?");
	}
	qsort(m->fields, m->nfields, sizeof *m->fields, cmp_num);
	uint32_t max = m->nfields ? m->fields[m->nfields - 1].number : 0;
	if (max < 4096) {
		m->ndirect = max + 1;
		m->direct = xcalloc(m->ndirect, sizeof *m->direct);
		for (size_t i = 0; i < m->nfields; i++)
			m->direct[m->fields[i].number] = (uint16_t)(i + 1);
	}
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		err(EXIT_USAGE, "%s", path);
	struct buf b = {0};
	size_t n;
	do {
		buf_grow(&b, 65536);
		n = fread(b.p + b.len, 1, 65536, f);
		b.len += n;
		if (b.len > MAX_DESC)
			errx(EXIT_USAGE, "%s: descriptor set too large", path);
	} while (n > 0);
	if (ferror(f))
		err(EXIT_USAGE, "%s", path);
	fclose(f);
	*len = b.len;
	return (unsigned char *)b.p;
}

/* The last set loaded, kept reachable (valgrind and LSan count it as in use, not lost). */
static Google__Protobuf__FileDescriptorSet *volatile loaded;

void pb_load(struct pb_schema *s, const char *path)
{
	size_t len;
	unsigned char *data = slurp(path, &len);
	Google__Protobuf__FileDescriptorSet *set =
	    google__protobuf__file_descriptor_set__unpack(NULL, len, data);
	free(data);
	if (!set)
		errx(EXIT_USAGE, "%s: not a FileDescriptorSet (protoc --descriptor_set_out)", path);
	memset(s, 0, sizeof *s);
	struct src c = { .s = s };
	for (size_t i = 0; i < set->n_file; i++) {
		const FileDesc *f = set->file[i];
		if (f->syntax && strcmp(f->syntax, "proto2") && strcmp(f->syntax, "proto3"))
			errx(EXIT_USAGE, "%s: %s: syntax %s is not supported", path, f->name, f->syntax);
		for (size_t j = 0; j < f->n_message_type; j++)
			add_msg(&c, f, f->message_type[j], f->package);
		for (size_t j = 0; j < f->n_enum_type; j++)
			add_enum(&c, f, f->enum_type[j], f->package);
	}
	/* Sort the types by name, carrying the descriptors of the messages along. */
	size_t *ix = order(s->enums, s->nenums, sizeof *s->enums);
	struct pb_enum *enums = xcalloc(s->nenums, sizeof *enums);
	for (size_t i = 0; i < s->nenums; i++)
		enums[i] = s->enums[ix[i]];
	free(s->enums);
	free(ix);
	s->enums = enums;
	ix = order(s->msgs, s->nmsgs, sizeof *s->msgs);
	struct pb_msg *msgs = xcalloc(s->nmsgs, sizeof *msgs);
	const MsgDesc **md = xcalloc(s->nmsgs, sizeof *md);
	const FileDesc **mf = xcalloc(s->nmsgs, sizeof *mf);
	for (size_t i = 0; i < s->nmsgs; i++) {
		msgs[i] = s->msgs[ix[i]];
		md[i] = c.md[ix[i]];
		mf[i] = c.mfile[ix[i]];
	}
	free(s->msgs);
	free(c.md);
	free(c.mfile);
	free(ix);
	s->msgs = msgs;
	for (size_t i = 0; i < s->nmsgs; i++)
		fill_msg(s, &s->msgs[i], md[i], mf[i], path);
	free(md);
	free(mf);
	/* The unpacked set stays: field and enum value names point into it. */
	loaded = set;
}

const struct pb_msg *pb_load_type(struct pb_schema *s, const char *path, const char *type)
{
	pb_load(s, path);
	const struct pb_msg *m = pb_find_msg(s, type);
	if (!m)
		errx(EXIT_USAGE, "%s: no message type %s", path, type);
	return m;
}

const struct pb_field *pb_field_num(const struct pb_msg *m, uint32_t number)
{
	if (number < m->ndirect) {
		unsigned i = m->direct[number];
		return i ? &m->fields[i - 1] : NULL;
	}
	size_t lo = 0, hi = m->nfields;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->fields[mid].number == number)
			return &m->fields[mid];
		if (m->fields[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct pb_field *pb_field_name(const struct pb_msg *m, const char *name, size_t n)
{
	for (int style = 0; style < 2; style++)
		for (size_t i = 0; i < m->nfields; i++) {
			const char *f = style ? m->fields[i].json_name : m->fields[i].name;
			if (!strncmp(f, name, n) && !f[n])
				return &m->fields[i];
		}
	return NULL;
}

const char *pb_enum_name(const struct pb_enum *e, int32_t number)
{
	size_t lo = 0, hi = e->n;
	while (lo < hi) {		/* the first index with numbers[i] >= number */
		size_t mid = lo + (hi - lo) / 2;
		if (e->numbers[mid] < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->n && e->numbers[lo] == number ? e->names[lo] : NULL;
}

int pb_enum_number(const struct pb_enum *e, const char *name, size_t n, int32_t *number)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strncmp(e->names[i], name, n) && !e->names[i][n]) {
			*number = e->numbers[i];
			return 0;
		}
	return -1;
}

int pb_wiretype(int type)
{
	switch (type) {
	case PBT_DOUBLE: case PBT_FIXED64: case PBT_SFIXED64:
		return PB_I64;
	case PBT_FLOAT: case PBT_FIXED32: case PBT_SFIXED32:
		return PB_I32;
	case PBT_STRING: case PBT_BYTES: case PBT_MESSAGE:
		return PB_LEN;
	default:
		return PB_VARINT;
	}
}
