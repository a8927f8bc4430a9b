#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fingerprint.h"
#include "model/buildkey.h"

void keyer_init(struct keyer *k)
{
	strmap_init(&k->exe_hashes);
	strvec_init(&k->files);
}

void keyer_release(struct keyer *k)
{
	const char *key;
	void *value;

	for (size_t i = 0; strmap_next(&k->exe_hashes, &i, &key, &value);)
		free(value);
	strmap_clear(&k->exe_hashes);
	strvec_clear(&k->files);
}

const char *keyer_file_hash(struct keyer *k, const char *path, struct strbuf *err)
{
	char *hex = strmap_get(&k->exe_hashes, path);

	if (hex)
		return hex;
	hex = xmalloc(SHA256_HEX_SIZE);
	if (fingerprint_hash(path, hex, err) < 0) {
		free(hex);
		return NULL;
	}
	strmap_put(&k->exe_hashes, path, hex);
	return hex;
}

static void update_count(struct sha256 *h, const char *what, size_t n)
{
	char buf[32];

	sha256_update_str(h, what);
	snprintf(buf, sizeof(buf), "%zu", n);
	sha256_update_str(h, buf);
}

static int cmp_input(const void *a, const void *b, void *data)
{
	const struct job_config *c = data;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	return strcmp(c->inputs[i].ref, c->inputs[j].ref);
}

/*
 * An arg or env value that names an existing regular file, not under the
 * job's key_ignore: "file:" and its content hash go into the key. Values
 * that name no file leave the key as it was before files counted.
 */
static int named_file(struct keyer *k, const struct job *job, const char *value,
		      struct sha256 *h, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	const char *hex;
	struct stat st;
	int ret = 0;

	if (!*value || job_is_source(job) || strlen(value) > 4096)
		return 0;
	if (value[0] != '/' && job->graph_dir)
		strbuf_addf(&path, "%s/", job->graph_dir);
	strbuf_addstr(&path, value);
	if (stat(path.buf, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	for (size_t i = 0; i < job->key_ignore.nr; i++) {
		size_t n = strlen(job->key_ignore.v[i]);

		if (!strncmp(path.buf, job->key_ignore.v[i], n) &&
		    (path.buf[n] == '/' || !path.buf[n] || job->key_ignore.v[i][n - 1] == '/'))
			goto out;
	}
	if (!(hex = keyer_file_hash(k, path.buf, err))) {
		strbuf_addf(err, " (named in a config of job '%s')", job->label);
		ret = -1;
		goto out;
	}
	sha256_update_str(h, "file:");
	sha256_update_str(h, hex);
	strvec_pushf(&k->files, "%s %s", hex, path.buf);
out:
	strbuf_release(&path);
	return ret;
}

int keyer_compute(struct keyer *k, const struct job *job, const struct job_config *config,
		  const char *const *input_hashes, char out[SHA256_HEX_SIZE],
		  struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	struct sha256 h;
	size_t *order = NULL;
	char major[32], scratch[SHA256_HEX_SIZE];
	int ret = -1;

	strvec_clear(&k->files);
	sha256_init(&h);
	sha256_update_str(&h, "databuild-key-v1");
	sha256_update_str(&h, job->label);
	update_count(&h, "exec", job->exec.nr);
	for (size_t i = 0; i < job->exec.nr; i++) {
		const char *arg = job->exec.v[i];
		const char *hex = "";
		struct stat st;

		strbuf_reset(&path);
		if (arg[0] != '/' && job->graph_dir)
			strbuf_addf(&path, "%s/", job->graph_dir);
		strbuf_addstr(&path, arg);
		if (i == 0 || (*arg && stat(path.buf, &st) == 0 && S_ISREG(st.st_mode))) {
			if (!(hex = keyer_file_hash(k, i == 0 ? arg : path.buf, err))) {
				strbuf_addf(err, " (job '%s' exec)", job->label);
				goto out;
			}
			strvec_pushf(&k->files, "%s %s", hex, i == 0 ? arg : path.buf);
		}
		sha256_update_str(&h, arg);
		sha256_update_str(&h, hex);
	}
	update_count(&h, "args", config->args.nr);
	for (size_t i = 0; i < config->args.nr; i++) {
		sha256_update_str(&h, config->args.v[i]);
		if (named_file(k, job, config->args.v[i], &h, err) < 0)
			goto out;
	}
	update_count(&h, "env", config->env.nr);
	for (size_t i = 0; i < config->env.nr; i++) {
		const char *eq = strchr(config->env.v[i], '=');

		sha256_update_str(&h, config->env.v[i]);
		if (eq && named_file(k, job, eq + 1, &h, err) < 0)
			goto out;
	}
	snprintf(major, sizeof(major), "%ld", job->version.major);
	sha256_update_str(&h, "major");
	sha256_update_str(&h, major);
	update_count(&h, "inputs", config->inputs_nr);
	order = xcalloc(config->inputs_nr + 1, sizeof(*order));
	for (size_t i = 0; i < config->inputs_nr; i++)
		order[i] = i;
	qsort_r(order, config->inputs_nr, sizeof(*order), cmp_input, (void *)config);
	for (size_t i = 0; i < config->inputs_nr; i++) {
		size_t n = order[i];

		sha256_update_str(&h, config->inputs[n].ref);
		sha256_update_str(&h, input_hashes && input_hashes[n] ? input_hashes[n] : "");
	}
	ret = 0;
out:
	sha256_final(&h, ret ? scratch : out);
	free(order);
	strbuf_release(&path);
	return ret;
}
