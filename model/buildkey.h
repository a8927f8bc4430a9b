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
 *   the config's args and env (in order),
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
};

void keyer_init(struct keyer *k);
void keyer_release(struct keyer *k);

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
