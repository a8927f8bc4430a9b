#ifndef DATABUILD_BUILDKEY_H
#define DATABUILD_BUILDKEY_H

#include "model/graph.h"
#include "core/hash.h"
#include "model/jobconfig.h"
#include "core/strmap.h"

/*
 * Build keys: what decides whether a live partition is still fresh
 * (docs/design/model.md, "Build keys"; docs/design/planner.md, "Pruning
 * and freshness"). The build key of a run is SHA-256 over, each field framed:
 *   "databuild-key-v1", the job label,
 *   the exec argv, and for every argv element that names an existing
 *   regular file (argv[0] always resolved) that file's content hash,
 *   the config's args and env (in order), and after each arg or env value
 *   that names an existing regular file (relative ones against the graph's
 *   directory, where jobs run) "file:" and that file's content hash, unless
 *   it lies under one of the job's "key_ignore" prefixes (source jobs:
 *   their args carry the file's identity instead),
 *   the job's MAJOR version only,
 *   for each input ref in sorted order: the ref and its content sha256.
 * Outputs of one run share its key. Minor and patch versions never enter;
 * a rebuilt input with identical bytes yields the same key (early cutoff).
 *
 * struct keyer caches executable hashes per path for its lifetime, so a
 * plan hashes each executable once. Not thread-safe.
 */
struct keyer {
	struct strmap exe_hashes;  /* path -> heap char[65]; failures are not cached */
	/*
	 * The files that entered the last keyer_compute's key, as "HEX PATH"
	 * (64 hex digits, a space, the absolute path), exec argv first: what a
	 * manifest records so that a later plan can say which file changed.
	 */
	struct strvec files;
};

void keyer_init(struct keyer *k);
void keyer_release(struct keyer *k);
/* The content hash of the file at path (cached), or NULL with err. */
const char *keyer_file_hash(struct keyer *k, const char *path, struct strbuf *err);

/*
 * input_hashes: for config->inputs[i], the content sha256 hex of that input
 * (same order as config->inputs; NULL array or NULL entries count as "").
 * Relative exec argv elements are resolved against job->graph_dir.
 * Writes the key (64 hex digits) to out. Returns 0, or -1 with err if an
 * executable or a file named in exec cannot be read.
 */
int keyer_compute(struct keyer *k, const struct job *job, const struct job_config *config,
		  const char *const *input_hashes, char out[SHA256_HEX_SIZE],
		  struct strbuf *err);

#endif
