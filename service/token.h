#ifndef DATABUILD_SERVICE_TOKEN_H
#define DATABUILD_SERVICE_TOKEN_H

#include "store/store.h"
#include "core/strbuf.h"

/*
 * The store's service token: STORE/serve.token, 64 hex digits (32 random
 * bytes) and a newline, mode 0600, owned by the caller. Created if
 * absent; a token file that others may read (group or world permission
 * bits), that is not a regular file, or that does not hold a token is
 * refused.
 */
#define TOKEN_HEX_LEN 64

/* 0 with out (TOKEN_HEX_LEN + 1 bytes) set, or -1 with err naming the file. */
int token_load(const struct store *s, char *out, struct strbuf *err);

/* 1 if the len bytes at given equal token, in time independent of where they differ. */
int token_equal(const char *token, const char *given, size_t len);

#endif
