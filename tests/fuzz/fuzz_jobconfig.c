#include <stdint.h>
#include <string.h>

#include "model/jobconfig.h"
#include "model/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf err = STRBUF_INIT;
	struct job_config_list l = JOB_CONFIG_LIST_INIT;

	if (job_config_list_parse(&l, (const char *)data, size, &err) == 0) {
		/* Every ref that decodes is a valid ref: none escapes the store. */
		for (size_t i = 0; i < l.nr; i++) {
			for (size_t k = 0; k < l.items[i].outputs.nr; k++)
				if (ref_validate(l.items[i].outputs.v[k], NULL) < 0)
					__builtin_trap();
			for (size_t k = 0; k < l.items[i].inputs_nr; k++)
				if (ref_validate(l.items[i].inputs[k].ref, NULL) < 0)
					__builtin_trap();
		}
		/* Whatever decodes must encode and decode to the same thing. */
		struct job_config_list again = JOB_CONFIG_LIST_INIT;
		cJSON *j = job_config_list_to_json(&l);
		char *text = cJSON_PrintUnformatted(j);

		if (job_config_list_parse(&again, text, strlen(text), &err) < 0 ||
		    again.nr != l.nr)
			__builtin_trap();
		for (size_t i = 0; i < l.nr; i++)
			if (!job_config_equal(&l.items[i], &again.items[i]))
				__builtin_trap();
		job_config_list_release(&again);
		cJSON_free(text);
		cJSON_Delete(j);
	}
	job_config_list_release(&l);
	strbuf_release(&err);
	return 0;
}
