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
