#include <stdint.h>
#include <string.h>

#include "model/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf err = STRBUF_INIT;
	struct graph g;

	memset(&g, 0, sizeof(g));
	if (graph_load_text(&g, "/tmp/fuzz/databuild.json", (const char *)data, size, &err) == 0) {
		struct strbuf lerr = STRBUF_INIT;

		for (size_t i = 0; i < g.jobs_nr; i++)
			if (g.jobs[i].outputs_nr)
				(void)graph_lookup(&g, g.jobs[i].outputs[0].text, &lerr);
		strbuf_release(&lerr);
		graph_release(&g);
	}
	strbuf_release(&err);
	return 0;
}
