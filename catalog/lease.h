#ifndef DATABUILD_CATALOG_LEASE_H
#define DATABUILD_CATALOG_LEASE_H

#include "catalog/catalog.h"

/*
 * Per-partition leases as flock(2) on <root>/locks/<hh>/<sha256(ref)>.lock
 * (internal to catalog/; used by backends that keep leases on the local
 * machine). Each acquire opens its own descriptor (O_CLOEXEC), so two
 * acquires of one ref conflict even within one process, and the kernel
 * drops the lock when its holder dies. Same returns as
 * catalog_lease_acquire. Thread-safe. The lock file holds the holder's
 * pid, right-aligned in LEASE_PID_WIDTH characters and a newline, for
 * humans; nothing reads it.
 */
#define LEASE_PID_WIDTH 10

int flock_lease_acquire(const char *root, const char *ref, int wait,
			struct lease **out, struct strbuf *err);
void flock_lease_release(struct lease *l);
/* The lock file of ref under root, appended to out. */
void flock_lease_path(const char *root, const char *ref, struct strbuf *out);

#endif
