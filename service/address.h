#ifndef DATABUILD_SERVICE_ADDRESS_H
#define DATABUILD_SERVICE_ADDRESS_H

#include <sys/socket.h>
#include "core/strbuf.h"

/*
 * The address `databuild serve --listen` binds: "ADDR:PORT" with ADDR a
 * numeric IPv4 address or a bracketed IPv6 one ("[::1]:8707"), PORT
 * 0..65535 (0: any free port). Pure: no name lookups.
 */
struct listen_addr {
	struct sockaddr_storage ss;  /* the socket address, port included */
	socklen_t len;
	int ipv6;
	int loopback;                /* 127.0.0.0/8 or ::1 */
	char host[64];               /* as written in URLs: "127.0.0.1", "[::1]" */
	unsigned port;
};

/* 0 with out filled, or -1 with "listen address 'TEXT': <why>" in err. */
int listen_addr_parse(const char *text, struct listen_addr *out, struct strbuf *err);

#endif
