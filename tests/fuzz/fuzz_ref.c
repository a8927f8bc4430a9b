#include <stdint.h>
#include <string.h>

#include "core/array.h"
#include "model/pattern.h"
#include "model/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf err = STRBUF_INIT;
	struct pattern p;
	char *s = xstrndup((const char *)data, size);

	if (ref_validate(s, &err) == 0) {
		size_t n;

		/* A valid ref never escapes: no "..", no leading '/'. */
		if (s[0] == '/' || !strcmp(s, "..") || strstr(s, "/../") ||
		    !strncmp(s, "../", 3))
			__builtin_trap();
		n = ref_dataset_len(s);
		if (n > strlen(s))
			__builtin_trap();
		(void)ref_depth(s);
	}
	strbuf_reset(&err);
	if (pattern_parse(&p, s, &err) == 0) {
		struct strvec values = STRVEC_INIT;

		(void)pattern_match(&p, s, &values);
		(void)pattern_match_dir(&p, "");
		strvec_clear(&values);
		pattern_release(&p);
	}
	strbuf_release(&err);
	free(s);
	return 0;
}
