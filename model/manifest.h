#ifndef DATABUILD_MANIFEST_H
#define DATABUILD_MANIFEST_H

#include "store/store.h"
#include <stdint.h>
#include "model/jobconfig.h"

/*
 * PartitionManifest: what one job run produced, from what, how.
 *
 * JSON form (all members emitted; decode requires those marked *):
 *   {"run_id"*: "42", "job"*: "daily_summary", "version": "1.2.0",
 *    "build_key"*: "<sha256 hex>",
 *    "start_time"*: <µs since epoch>, "end_time"*: <µs since epoch>,
 *    "outputs"*: [{"ref": "r", "sha256": "<hex>", "size": 123}, ...],
 *    "inputs": [{"ref": "r", "dep_type": "materialize", "sha256": "<hex>",
 *               "run_id": "41"}, ...],
 *    "config"*: <JobConfig>,
 *    "log": "<path of the run's log file>", "host": "name"}
 * Inputs carry the content hash they were read with and the run (manifest)
 * that produced them, which makes manifests a merkle chain.
 * Strings that may be NULL (version, log, host, an input's run_id) are
 * emitted as null; an input's unknown sha256 is "". Decoding checks refs,
 * hashes (64 lowercase hex), sizes >= 0 and end_time >= start_time;
 * encode(decode(j)) == j for any j produced by encode.
 */
#define SHA256_HEX_LEN 64

/* 1 if s is exactly 64 lowercase hex digits. */
int sha256_hex_valid(const char *s);

struct manifest_output {
	char *ref;
	char sha256[SHA256_HEX_LEN + 1];
	int64_t size;
	/*
	 * The published file's identity in the store (store/store.h), set by
	 * the publisher after the rename and recorded by the catalog with the
	 * hash; not part of the manifest's JSON. "" if unknown.
	 */
	char ident[STORE_IDENT_MAX];
};

struct manifest_input {
	char *ref;
	enum dep_type type;
	char sha256[SHA256_HEX_LEN + 1];
	char *run_id;  /* may be NULL: unknown producer */
};

struct manifest {
	char *run_id;
	char *job;
	char *version;
	char build_key[SHA256_HEX_LEN + 1];
	int64_t start_time_us, end_time_us;
	struct manifest_output *outputs;
	size_t outputs_nr, outputs_alloc;
	struct manifest_input *inputs;
	size_t inputs_nr, inputs_alloc;
	struct job_config config;
	char *log_path;
	char *host;
	/*
	 * The files whose contents entered the build key (model/buildkey.h), as
	 * "HEX PATH"; in JSON "key_files": {"PATH": "HEX"}, optional (older
	 * manifests have none). Lets a later plan name the file that changed.
	 */
	struct strvec key_files;
};

void manifest_init(struct manifest *m);
void manifest_release(struct manifest *m);
struct manifest_output *manifest_add_output(struct manifest *m, const char *ref);
struct manifest_input *manifest_add_input(struct manifest *m, const char *ref);

/* m is initialised by the callee (and left empty on error). */
int manifest_from_json(struct manifest *m, const cJSON *obj,
		       const struct jpath *p, struct strbuf *err);
int manifest_parse(struct manifest *m, const char *text, size_t len, struct strbuf *err);
cJSON *manifest_to_json(const struct manifest *m);

#endif
