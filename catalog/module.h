#ifndef DATABUILD_CATALOG_MODULE_H
#define DATABUILD_CATALOG_MODULE_H

#include "catalog/backend.h"

/*
 * Catalog backends built as loadable modules (internal to catalog/).
 *
 * A backend whose client library is heavy (PostgreSQL: libpq and its
 * Kerberos, LDAP and TLS libraries) is a shared object of its own, loaded
 * with dlopen the first time a location of its scheme is opened, so that
 * no other invocation pays for loading it. The module carries its own
 * copies of what it needs from core/, model/ and catalog/ (query*.c,
 * records.c, rows.c) and exports its entry point, CATALOG_MODULE_SYMBOL
 * (a struct catalog_module), and the sentinels of core/ (module.map;
 * host.list says why). A module is used only by the databuild version it
 * was built with (same CATALOG_MODULE_ABI and version string).
 *
 * Where a module is looked for, first match wins:
 *   1. $DATABUILD_MODULE_DIR, when set and not empty (tests, development);
 *   2. the directory of the running executable (/proc/self/exe);
 *   3. the build tree's catalog/ directory, when the executable lives in
 *      the meson build tree it was built in;
 *   4. the install directory, <libdir>/databuild.
 * Only 1, or the first of 2-4 where the file exists, is tried: when none
 * has it, the error names the install directory's path.
 */

#define CATALOG_MODULE_ABI 2
#define CATALOG_MODULE_SYMBOL "databuild_catalog_module"
#define CATALOG_MODULE_DIR_ENV "DATABUILD_MODULE_DIR"
/* The PostgreSQL backend's file name. */
#define CATALOG_PG_MODULE "databuild-postgres.so"

struct catalog_module {
	unsigned abi;             /* CATALOG_MODULE_ABI of the module's build */
	const char *version;      /* DATABUILD_VERSION of the module's build */
	const struct catalog_ops *ops;
	/*
	 * Opens c on conninfo (the location as given), with c->location set
	 * to the location as printed in messages and c->ops to ops; sets
	 * c->impl. On failure frees all it made (catalog_pg_open's contract).
	 */
	int (*open)(struct catalog *c, const char *conninfo, struct strbuf *err);
};

/*
 * The module file (e.g. CATALOG_PG_MODULE) into *out (the module's, for
 * the life of the process: it is never unloaded; loading it again finds
 * the loaded copy). Thread-safe. -1 with err "catalog
 * 'location': cannot load the backend module 'PATH': dlerror()" when it is
 * missing, cannot be loaded, lacks the symbol or is of another build.
 */
int catalog_module_load(const char *file, const char *location,
			const struct catalog_module **out, struct strbuf *err);

#endif
