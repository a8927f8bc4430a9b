#ifndef DATABUILD_CATALOG_RECOVER_H
#define DATABUILD_CATALOG_RECOVER_H

#include "catalog/catalog.h"

/*
 * Rebuilding a catalog from its store (`databuild recover`): every publish
 * wrote its manifest into <store>/manifests/ before renaming its data
 * into data/, so the store alone says what each published file is.
 *
 * For each ref that some manifest lists, the newest manifest whose sha256
 * equals the data file's hash now is the one it was published by; its run
 * is entered (with the run id it had) and published again, with the
 * file's identity. Outputs of newer manifests that never arrived (the
 * machine stopped between the manifest and the rename) are left out, and a
 * run none of whose outputs arrived is entered as abandoned. A ref whose
 * data file is missing or matches no manifest is entered from its newest
 * manifest and marked damaged, so that the next read or build rebuilds it.
 * Runs the catalog already knows are left as they are, so recovering twice
 * changes nothing. At the end the catalog takes the store's id.
 */
struct recover_stats {
	size_t manifests;    /* manifest files read */
	size_t runs;         /* runs entered */
	size_t abandoned;    /* of them, runs none of whose outputs arrived */
	size_t partitions;   /* partitions made live */
	size_t damaged;      /* partitions entered damaged */
	size_t skipped;      /* manifests of runs the catalog already had */
};

/*
 * c must have been opened with catalog_open_unchecked. report (may be
 * NULL) is called for each damaged partition with why. 0, or -1 with err
 * naming the manifest file or the catalog.
 */
int catalog_recover(struct catalog *c, struct recover_stats *st,
		    void (*report)(const char *ref, const char *why, void *arg), void *arg,
		    struct strbuf *err);

#endif
