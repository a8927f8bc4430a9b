#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "service/address.h"

/* PORT: decimal 0..65535. 0, or -1. */
static int port_parse(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5)
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int listen_addr_parse(const char *text, struct listen_addr *out, struct strbuf *err)
{
	const char *colon, *host = text;
	size_t host_len;
	char buf[64];
	int ret = -1;

	memset(out, 0, sizeof(*out));
	colon = strrchr(text, ':');
	if (!colon) {
		strbuf_addf(err, "listen address '%s': expected ADDR:PORT", text);
		goto out;
	}
	if (port_parse(colon + 1, &out->port) < 0) {
		strbuf_addf(err, "listen address '%s': port '%s' is not a number from 0 to 65535",
			    text, colon + 1);
		goto out;
	}
	host_len = (size_t)(colon - text);
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		out->ipv6 = 1;
		host++;
		host_len -= 2;
	}
	if (!host_len || host_len >= sizeof(buf)) {
		strbuf_addf(err, "listen address '%s': expected a numeric IPv4 address or "
			    "[IPv6] before the port", text);
		goto out;
	}
	memcpy(buf, host, host_len);
	buf[host_len] = '\0';
	if (out->ipv6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->ss;

		if (inet_pton(AF_INET6, buf, &a->sin6_addr) != 1) {
			strbuf_addf(err, "listen address '%s': '%s' is not an IPv6 address",
				    text, buf);
			goto out;
		}
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)out->port);
		out->len = sizeof(*a);
		out->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
		strcpy(out->host, "[");
		strcat(out->host, buf);
		strcat(out->host, "]");
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, buf, &a->sin_addr) != 1) {
			strbuf_addf(err, "listen address '%s': '%s' is not a numeric IPv4 address "
				    "(IPv6: [ADDR]:PORT)", text, buf);
			goto out;
		}
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)out->port);
		out->len = sizeof(*a);
		out->loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
		strcpy(out->host, buf);
	}
	ret = 0;
out:
	return ret;
}
