#ifndef DATABUILD_JOBCONFIG_H
#define DATABUILD_JOBCONFIG_H

#include <cjson/cJSON.h>
#include "core/array.h"
#include "core/json.h"
#include "core/strbuf.h"

/*
 * JobConfig and DataDep: one fully parameterised run of a job.
 *
 * JSON form:
 *   {"outputs": ["ref", ...],
 *    "inputs": [{"dep_type": "materialize"|"query", "ref": "ref"}, ...],
 *    "args": ["arg", ...],
 *    "env": {"NAME": "value", ...}}
 * outputs is required and non-empty; inputs, args and env default to
 * empty. Unknown members are ignored. Every ref is validated with
 * ref_validate(); env names are non-empty and contain no '='.
 * Encoding emits members in the order above; decode(encode(x)) == x and
 * encode(decode(j)) == j for any j produced by encode.
 */
enum dep_type {
	DEP_MATERIALIZE,
	DEP_QUERY,
};

const char *dep_type_name(enum dep_type t);
/* DEP_MATERIALIZE / DEP_QUERY for "materialize" / "query", else -1. */
int dep_type_parse(const char *name);

struct data_dep {
	enum dep_type type;
	char *ref;
};

struct job_config {
	struct strvec outputs;
	struct data_dep *inputs;
	size_t inputs_nr, inputs_alloc;
	struct strvec args;
	struct strvec env;  /* "NAME=value", in JSON member order */
};

#define JOB_CONFIG_INIT { .outputs = STRVEC_INIT, .inputs = NULL, .inputs_nr = 0, \
			  .inputs_alloc = 0, .args = STRVEC_INIT, .env = STRVEC_INIT }

void job_config_init(struct job_config *c);
void job_config_release(struct job_config *c);
void job_config_copy(struct job_config *dst, const struct job_config *src);
void job_config_add_input(struct job_config *c, enum dep_type t, const char *ref);
/* Structural equality (same outputs, inputs, args, env, in order). */
int job_config_equal(const struct job_config *a, const struct job_config *b);

/*
 * Decodes one config object at path p (c is initialised by the callee and
 * left empty on error). 0 or -1 with err. Besides the rules above: no
 * duplicate outputs or inputs, and no ref both input and output.
 */
int job_config_from_json(struct job_config *c, const cJSON *obj,
			 const struct jpath *p, struct strbuf *err);
cJSON *job_config_to_json(const struct job_config *c);

/* A list of configs: the output of `configure`. */
struct job_config_list {
	struct job_config *items;
	size_t nr, alloc;
};

#define JOB_CONFIG_LIST_INIT { .items = NULL, .nr = 0, .alloc = 0 }

void job_config_list_release(struct job_config_list *l);
/* Appends an empty config and returns it. */
struct job_config *job_config_list_append(struct job_config_list *l);

/*
 * Decodes a JSON array of configs from text (as printed by configure).
 * Errors name the path: `[2].inputs[0].dep_type: expected "materialize"
 * or "query"`, or the syntax error's line and column.
 */
int job_config_list_from_json(struct job_config_list *l, const cJSON *arr,
			      const struct jpath *p, struct strbuf *err);
/*
 * On error, l keeps the configs decoded before the fault: release it.
 * The common shape (no escapes, no unknown or repeated members) is decoded
 * straight from the text; anything else goes through cJSON and the
 * decoders above, with the same result and the same messages.
 */
int job_config_list_parse(struct job_config_list *l, const char *text, size_t len,
			  struct strbuf *err);
cJSON *job_config_list_to_json(const struct job_config_list *l);

#endif
