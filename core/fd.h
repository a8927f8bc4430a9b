#ifndef DATABUILD_CORE_FD_H
#define DATABUILD_CORE_FD_H

#include <stddef.h>

/*
 * Writes all len bytes of buf to fd, retrying short writes and EINTR.
 * 0, or -1 with errno set by write(2) (nothing says how much was written).
 */
int write_all(int fd, const void *buf, size_t len);

#endif
