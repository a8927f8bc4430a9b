#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "core/json.h"

/*
 * The catalog's records (catalog.h): status names, init and release of
 * the out-structures, their JSON. No backend and no connection here, so
 * loadable backend modules (catalog/module.h) link this file too.
 */

static const char *const part_status_names[] = {
	[PART_MISSING] = "missing",
	[PART_LIVE] = "live",
	[PART_BUILDING] = "building",
	[PART_FAILED] = "failed",
	[PART_STALE] = "stale",
	[PART_TAINTED] = "tainted",
	[PART_DAMAGED] = "damaged",
};

static const char *const run_status_names[] = {
	[RUN_RUNNING] = "running",
	[RUN_SUCCEEDED] = "succeeded",
	[RUN_FAILED] = "failed",
	[RUN_CANCELLED] = "cancelled",
	[RUN_ABANDONED] = "abandoned",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *part_status_name(enum part_status s)
{
	if ((size_t)s >= ARRAY_SIZE(part_status_names))
		return "unknown";
	return part_status_names[s];
}

int part_status_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(part_status_names); i++)
		if (!strcmp(part_status_names[i], name))
			return (int)i;
	return -1;
}

const char *run_status_name(enum run_status s)
{
	if ((size_t)s >= ARRAY_SIZE(run_status_names))
		return "unknown";
	return run_status_names[s];
}

int run_status_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(run_status_names); i++)
		if (!strcmp(run_status_names[i], name))
			return (int)i;
	return -1;
}

void partition_init(struct partition *p)
{
	memset(p, 0, sizeof(*p));
	p->status = PART_MISSING;
	p->size = -1;
}

void partition_release(struct partition *p)
{
	free(p->ref);
	free(p->version);
	free(p->job);
	free(p->run_id);
	free(p->error);
	free(p->published_run);
	free(p->ident);
	partition_init(p);
}

void partition_list_release(struct partition_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		partition_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

void run_record_init(struct run_record *r)
{
	memset(r, 0, sizeof(*r));
	strvec_init(&r->outputs);
}

void run_record_release(struct run_record *r)
{
	free(r->run_id);
	free(r->job);
	free(r->config_json);
	free(r->host);
	free(r->log_path);
	free(r->error);
	strvec_clear(&r->outputs);
	run_record_init(r);
}

void build_record_init(struct build_record *b)
{
	memset(b, 0, sizeof(*b));
	strvec_init(&b->refs);
}

void build_record_release(struct build_record *b)
{
	strvec_clear(&b->refs);
	free(b->requester);
	free(b->status);
	build_record_init(b);
}

void event_release(struct event *e)
{
	free(e->type);
	free(e->ref);
	free(e->run_id);
	free(e->payload);
	memset(e, 0, sizeof(*e));
}

void catalog_format_time(int64_t us, struct strbuf *out)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (us < 0 || !gmtime_r(&t, &tm)) {
		strbuf_addf(out, "%lld", (long long)us);
		return;
	}
	strbuf_addf(out, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void add_json_str(struct strbuf *out, const char *key, const char *val)
{
	strbuf_addf(out, ",\"%s\":", key);
	if (val) {
		strbuf_addch(out, '"');
		strbuf_addquoted(out, val);
		strbuf_addch(out, '"');
	} else {
		strbuf_addstr(out, "null");
	}
}

void event_to_jsonl(const struct event *e, struct strbuf *out)
{
	strbuf_addf(out, "{\"seq\":%lld,\"time_us\":%lld", (long long)e->seq,
		    (long long)e->time_us);
	strbuf_addstr(out, ",\"time\":\"");
	catalog_format_time(e->time_us, out);
	strbuf_addch(out, '"');
	if (e->build_id)
		strbuf_addf(out, ",\"build_id\":%lld", (long long)e->build_id);
	else
		strbuf_addstr(out, ",\"build_id\":null");
	add_json_str(out, "type", e->type);
	add_json_str(out, "ref", e->ref);
	add_json_str(out, "run_id", e->run_id);
	strbuf_addstr(out, ",\"payload\":");
	strbuf_addstr(out, e->payload && *e->payload ? e->payload : "null");
	strbuf_addstr(out, "}\n");
}

static void json_add_str_or_null(cJSON *o, const char *key, const char *val)
{
	if (val)
		cJSON_AddStringToObject(o, key, val);
	else
		cJSON_AddNullToObject(o, key);
}

cJSON *partition_to_json(const struct partition *p)
{
	cJSON *o = cJSON_CreateObject();

	json_add_str_or_null(o, "ref", p->ref);
	cJSON_AddStringToObject(o, "status", part_status_name(p->status));
	if (p->size >= 0)
		json_add_int64(o, "size", p->size);
	else
		cJSON_AddNullToObject(o, "size");
	json_add_str_or_null(o, "sha256", *p->sha256 ? p->sha256 : NULL);
	json_add_str_or_null(o, "build_key", *p->build_key ? p->build_key : NULL);
	json_add_str_or_null(o, "version", p->version);
	json_add_str_or_null(o, "job", p->job);
	json_add_str_or_null(o, "run_id", p->run_id);
	json_add_str_or_null(o, "published_run", p->published_run);
	json_add_int64(o, "created_us", p->created_us);
	json_add_int64(o, "updated_us", p->updated_us);
	json_add_str_or_null(o, "error", p->error);
	return o;
}

cJSON *run_record_to_json(const struct run_record *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *outs, *cfg = NULL;

	json_add_str_or_null(o, "run_id", r->run_id);
	if (r->build_id)
		json_add_int64(o, "build_id", r->build_id);
	else
		cJSON_AddNullToObject(o, "build_id");
	json_add_str_or_null(o, "job", r->job);
	cJSON_AddStringToObject(o, "status", run_status_name(r->status));
	json_add_int64(o, "pid", r->pid);
	json_add_str_or_null(o, "host", r->host);
	json_add_int64(o, "start_us", r->start_us);
	json_add_int64(o, "end_us", r->end_us);
	json_add_int64(o, "exit_status", r->exit_status);
	json_add_str_or_null(o, "log", r->log_path);
	json_add_str_or_null(o, "error", r->error);
	if (r->config_json)
		cfg = cJSON_Parse(r->config_json);
	if (cfg)
		cJSON_AddItemToObject(o, "config", cfg);
	else
		cJSON_AddNullToObject(o, "config");
	outs = cJSON_AddArrayToObject(o, "outputs");
	for (size_t i = 0; i < r->outputs.nr; i++)
		cJSON_AddItemToArray(outs, cJSON_CreateString(r->outputs.v[i]));
	return o;
}

void version_init(struct version *v)
{
	memset(v, 0, sizeof(*v));
	v->size = -1;
}

void version_release(struct version *v)
{
	free(v->ref);
	free(v->run_id);
	free(v->job);
	free(v->version);
	version_init(v);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void version_copy(struct version *dst, const struct version *src)
{
	*dst = *src;
	dst->ref = dup_or_null(src->ref);
	dst->run_id = dup_or_null(src->run_id);
	dst->job = dup_or_null(src->job);
	dst->version = dup_or_null(src->version);
}

void version_list_release(struct version_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		version_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

cJSON *version_to_json(const struct version *v)
{
	struct strbuf name = STRBUF_INIT;
	cJSON *o = cJSON_CreateObject();

	catalog_format_version_name(v->time_us, &name);
	json_add_str_or_null(o, "ref", v->ref);
	cJSON_AddStringToObject(o, "name", name.buf);
	json_add_str_or_null(o, "run_id", v->run_id);
	json_add_int64(o, "time_us", v->time_us);
	json_add_str_or_null(o, "build_key", *v->build_key ? v->build_key : NULL);
	json_add_str_or_null(o, "sha256", *v->sha256 ? v->sha256 : NULL);
	if (v->size >= 0)
		json_add_int64(o, "size", v->size);
	else
		cJSON_AddNullToObject(o, "size");
	json_add_str_or_null(o, "job", v->job);
	json_add_str_or_null(o, "version", v->version);
	cJSON_AddBoolToObject(o, "current", v->current != 0);
	strbuf_release(&name);
	return o;
}

void catalog_format_version_name(int64_t us, struct strbuf *out)
{
	int64_t s = us / 1000000, frac = us % 1000000;
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		s--;
	}
	t = (time_t)s;
	if (!gmtime_r(&t, &tm)) {
		strbuf_addf(out, "%lld", (long long)us);
		return;
	}
	strbuf_addf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The n digits at s as a number, or -1 if one is not a digit. */
static int64_t digits(const char *s, int n)
{
	int64_t v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int catalog_parse_version_name(const char *s, int64_t *us)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	struct strbuf again = STRBUF_INIT;
	int64_t v;
	int ret = -1;

	if (!s || strlen(s) != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return -1;
	v = days_from_civil(digits(s, 4), (int)digits(s + 5, 2), (int)digits(s + 8, 2));
	v = ((v * 24 + digits(s + 11, 2)) * 60 + digits(s + 14, 2)) * 60 + digits(s + 17, 2);
	v = v * 1000000 + digits(s + 20, 6);
	/* a day, hour, minute or second out of range prints otherwise */
	catalog_format_version_name(v, &again);
	if (!strcmp(again.buf, s)) {
		*us = v;
		ret = 0;
	}
	strbuf_release(&again);
	return ret;
}
