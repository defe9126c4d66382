/*
 * ctl.c — reading control lines (0x1E + a JSON object, HACKING.md "Control lines") with
 * cJSON: merging the lines of one page into one object (a later member wins), looking
 * a member up by a dotted path (fault.name), and the value conventions that paginate's
 * options rely on: a value as a string, a flag (1/"1"/true/"true"), an integer that
 * may come as a number or as a string (int64 in the protobuf JSON mapping).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "pagepull.h"

int ctl_merge(struct cJSON **acc, const char *s, size_t n)
{
	cJSON *obj = cJSON_ParseWithLength(s, n);
	if (!obj || !cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return -1;
	}
	if (!*acc) {
		*acc = obj;
		return 0;
	}
	while (obj->child) {
		cJSON *it = cJSON_DetachItemViaPointer(obj, obj->child);
		cJSON *old = cJSON_GetObjectItemCaseSensitive(*acc, it->string);
		/* not ReplaceItemInObject(acc, it->string, it): it frees it->string, then copies it */
		if (old)
			cJSON_ReplaceItemViaPointer(*acc, old, it);
		else
			cJSON_AddItemToObject(*acc, it->string, it);
	}
	cJSON_Delete(obj);
	return 0;
}

const struct cJSON *ctl_get(const struct cJSON *obj, const char *path)
{
	char name[256];
	while (obj && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof name)
			return NULL;
		memcpy(name, path, n);
		name[n] = 0;
		obj = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
		path += n + (path[n] == '.');
	}
	return obj;
}

/* Numbers: integers exactly (within a double's 53 bits), others with 17 digits. */
static void ctl_number(struct buf *b, double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		buf_addf(b, "%.0f", d);
	else
		buf_addf(b, "%.17g", d);
}

int ctl_text(const struct cJSON *v, struct buf *b)
{
	buf_reset(b);
	if (!v || cJSON_IsNull(v))
		return -1;
	if (cJSON_IsString(v))
		buf_adds(b, v->valuestring);
	else if (cJSON_IsNumber(v))
		ctl_number(b, v->valuedouble);
	else if (cJSON_IsBool(v))
		buf_adds(b, cJSON_IsTrue(v) ? "true" : "false");
	else {
		char *s = cJSON_PrintUnformatted(v);
		if (!s)
			return -1;
		buf_adds(b, s);
		free(s);
	}
	buf_str(b);
	return 0;
}

int ctl_flag(const struct cJSON *v)
{
	if (!v)
		return -1;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1))
		return v->valuedouble == 1;
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		if (!strcmp(s, "1") || !strcmp(s, "true"))
			return 1;
		if (!strcmp(s, "0") || !strcmp(s, "false"))
			return 0;
	}
	return -1;
}

/* Integers within 2^53: beyond, a JSON number is not exact in cJSON's double, so a state
 * file written with it would not read back the same; out-of-range strings are not clamped. */
#define CTL_INT_MAX (1LL << 53)
int ctl_int(const struct cJSON *v, long long *out)
{
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > CTL_INT_MAX)
			return -1;
		*out = (long long)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && *v->valuestring) {
		char *end;
		errno = 0;
		long long x = strtoll(v->valuestring, &end, 10);
		if (*end || errno || x > CTL_INT_MAX || x < -CTL_INT_MAX)
			return -1;
		*out = x;
		return 0;
	}
	return -1;
}
