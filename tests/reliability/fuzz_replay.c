/*
 * Replays inputs through a libFuzzer target without libFuzzer: linked with
 * one tests/fuzz/fuzz_*.c, it feeds every file named on the command line
 * (directories: every file in them) to LLVMFuzzerTestOneInput. The targets
 * trap on a broken invariant; the sanitizer build catches memory errors.
 * So the seed corpora and every reproducer found by fuzzing stay regression
 * tests of the real decoders.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/array.h"
#include "core/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, size_t *nr)
{
	struct strbuf buf = STRBUF_INIT;
	FILE *f = fopen(path, "rbe");
	char chunk[65536];
	size_t n;
	int ret = -1;

	if (!f) {
		fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&buf, chunk, n);
	if (!ferror(f)) {
		/* an exact-size copy, so ASan sees reads past the end */
		uint8_t *data = xmalloc(buf.len ? buf.len : 1);

		memcpy(data, buf.buf, buf.len);
		LLVMFuzzerTestOneInput(data, buf.len);
		free(data);
		(*nr)++;
		ret = 0;
	} else {
		fprintf(stderr, "cannot read '%s': %s\n", path, strerror(errno));
	}
	fclose(f);
	strbuf_release(&buf);
	return ret;
}

static int replay(const char *path, size_t *nr)
{
	struct stat st;
	struct dirent **names;
	int n, ret = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "cannot stat '%s': %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, nr);
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "cannot list '%s': %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			char *p = xstrfmt("%s/%s", path, names[i]->d_name);

			if (replay(p, nr) < 0)
				ret = -1;
			free(p);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	size_t nr = 0;
	int ret = 0;

	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &nr) < 0)
			ret = 1;
	printf("%zu inputs replayed\n", nr);
	return ret || !nr;
}
