#include <stdarg.h>
#include <string.h>

#include "service/internal.h"

void reply_headers(struct MHD_Response *r, const char *content_type)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, cJSON *body)
{
	return reply_json_with(conn, status, body, NULL, NULL);
}

enum MHD_Result reply_json_with(struct MHD_Connection *conn, unsigned status, cJSON *body,
				const char *header, const char *value)
{
	struct strbuf out = STRBUF_INIT;
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;
	char *text;

	json_print(body, &out);
	strbuf_addch(&out, '\n');
	cJSON_Delete(body);
	text = strbuf_detach(&out, &len);
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	reply_headers(r, "application/json");
	if (header)
		MHD_add_response_header(r, header, value);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result reply_error_buf(struct MHD_Connection *conn, unsigned status,
				const struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	cJSON *o = cJSON_CreateObject();

	strbuf_addbuf(&msg, err);
	strbuf_rtrim(&msg);
	cJSON_AddStringToObject(o, "error", msg.len ? msg.buf : "unknown error");
	strbuf_release(&msg);
	return reply_json(conn, status, o);
}

enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	enum MHD_Result ret;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	ret = reply_error_buf(conn, status, &msg);
	strbuf_release(&msg);
	return ret;
}
