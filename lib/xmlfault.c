/*
 * xmlfault.c — the summary of a SOAP 1.1 or 1.2 Fault, from the Fault element's JSON
 * as xmljson.c writes it: {"code","string","name","detail"}, where name is the local
 * name of the detail's first element (e.g. offsetOutOfRangeFault), or the code when
 * the detail is empty or absent. Members are found by local name, so this works with
 * any key style (--qualified keys are "p:local" or "{URI}local").
 *
 *   SOAP 1.1: faultcode, faultstring, detail          (children in no namespace)
 *   SOAP 1.2: Code/Value, Reason/Text, Detail        (in the envelope's namespace)
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "pagepull.h"
#include "xml.h"

/* The member of JSON object o whose key's local part is name (an array: its first). */
static const cJSON *member(const cJSON *o, const char *name)
{
	for (const cJSON *c = cJSON_IsObject(o) ? o->child : NULL; c; c = c->next) {
		const char *k = c->string, *l = k + strlen(k);
		while (l > k && l[-1] != ':' && l[-1] != '}')
			l--;
		if (*k != '@' && !strcmp(l, name))
			return cJSON_IsArray(c) ? c->child : c;
	}
	return NULL;
}

/* The text of an element's JSON: the string, or an object's "#text". */
static void text_json(struct buf *b, const cJSON *v)
{
	if (cJSON_IsObject(v))
		v = cJSON_GetObjectItemCaseSensitive(v, "#text");
	if (cJSON_IsString(v))
		json_cstr(b, v->valuestring);
	else
		buf_add(b, "null", 4);
}

void xmlfault_json(struct buf *b, const char *json, size_t len, int v12)
{
	cJSON *f = cJSON_ParseWithLength(json, len);
	const cJSON *code, *str, *det, *first = NULL;
	if (!f) {		/* deeper than cJSON's nesting limit */
		buf_adds(b, "{\"code\":null,\"string\":null,\"name\":null,\"detail\":null}");
		return;
	}
	if (v12) {
		code = member(member(f, "Code"), "Value");
		str = member(member(f, "Reason"), "Text");
		det = member(f, "Detail");
	} else {
		code = member(f, "faultcode");
		str = member(f, "faultstring");
		det = member(f, "detail");
	}
	for (const cJSON *c = cJSON_IsObject(det) ? det->child : NULL; c && !first; c = c->next)
		if (*c->string != '@' && *c->string != '#')
			first = c;	/* the detail's first element */
	buf_adds(b, "{\"code\":");
	text_json(b, code);
	buf_adds(b, ",\"string\":");
	text_json(b, str);
	buf_adds(b, ",\"name\":");
	if (first) {
		const char *k = first->string, *l = k + strlen(k);
		while (l > k && l[-1] != ':' && l[-1] != '}')
			l--;
		json_cstr(b, l);
	} else
		text_json(b, code);
	buf_adds(b, ",\"detail\":");
	char *dj = det ? cJSON_PrintUnformatted(det) : NULL;
	buf_adds(b, dj ? dj : "null");
	cJSON_free(dj);
	buf_addc(b, '}');
	cJSON_Delete(f);
}
