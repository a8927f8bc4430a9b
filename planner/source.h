#ifndef DATABUILD_PLANNER_SOURCE_H
#define DATABUILD_PLANNER_SOURCE_H

#include <sys/stat.h>

#include "core/array.h"
#include "core/strbuf.h"
#include "model/graph.h"

/*
 * The partitions of source jobs (model/graph.h: a job with "source"):
 * files outside the store, found by matching the source's path pattern.
 * A source's domain is what exists. databuild never writes a source.
 *
 * A file belongs to a source when its path matches the pattern, it is a
 * regular file (symbolic links are followed), the ref it maps to is
 * valid, and that ref is in the job's partition space (its "partitions"
 * domains, if any). Missing directories along the way mean no partitions,
 * not an error; a directory that cannot be read is an error naming it.
 */

/*
 * Appends the refs of every file of j's source to refs, sorted (strcmp
 * order). Directories are read only where the pattern has a placeholder;
 * literal segments are followed directly. 0, or -1 with err
 * ("source of job 'packages': cannot read directory '/srv/drops': ...").
 */
int source_discover(const struct job *j, struct strvec *refs, struct strbuf *err);

/*
 * Whether ref's file exists: 1 (and *st filled when st is non-NULL), 0 if
 * it does not (or is not a regular file, or ref is not in j's space), -1
 * on another error (err names the path).
 */
int source_exists(const struct job *j, const char *ref, struct stat *st, struct strbuf *err);

#endif
