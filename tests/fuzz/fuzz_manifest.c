#include <stdint.h>
#include <string.h>

#include "model/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf err = STRBUF_INIT;
	struct manifest m;

	manifest_init(&m);
	if (manifest_parse(&m, (const char *)data, size, &err) == 0) {
		struct manifest again;
		cJSON *j = manifest_to_json(&m);
		char *text = cJSON_PrintUnformatted(j);

		manifest_init(&again);
		if (manifest_parse(&again, text, strlen(text), &err) < 0 ||
		    again.outputs_nr != m.outputs_nr || again.inputs_nr != m.inputs_nr)
			__builtin_trap();
		manifest_release(&again);
		cJSON_free(text);
		cJSON_Delete(j);
	}
	manifest_release(&m);
	strbuf_release(&err);
	return 0;
}
