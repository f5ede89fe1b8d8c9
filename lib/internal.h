/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: declarations shared by the library's files, not exported.
 */
#ifndef GOSYNC_INTERNAL_H
#define GOSYNC_INTERNAL_H

#include <stdbool.h>

#include "gosync.h"

#define GOSYNC_XSTR(x)	#x
#define GOSYNC_STR(x)	GOSYNC_XSTR(x)

/* The process-wide fd of /dev/gosync, opened on first use; or -errno. */
int gosync_dev_fd(void);

#endif /* GOSYNC_INTERNAL_H */
