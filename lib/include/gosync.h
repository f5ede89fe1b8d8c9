/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libgosync: Go-style channels and synchronisation for C and for IPC
 * between processes, on top of the gosync kernel module (/dev/gosync).
 *
 * Conventions (as liburing): every function that can fail returns a
 * negative errno value and never sets errno; nothing here starts a thread,
 * exits, aborts or prints on the caller's behalf.  Every function is
 * thread-safe unless its man page says otherwise.
 */
#ifndef GOSYNC_H
#define GOSYNC_H

#include <stddef.h>
#include <stdint.h>
#include <linux/gosync.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOSYNC_VERSION_MAJOR	0
#define GOSYNC_VERSION_MINOR	1
#define GOSYNC_VERSION_PATCH	0

/* The library's version as "MAJOR.MINOR.PATCH". */
const char *gosync_version(void);

/*
 * Ask the loaded module what it implements (GOSYNC_IOC_INFO).
 * 0 on success; -ENODEV when /dev/gosync does not exist (module not loaded);
 * -EINVAL for a NULL @info; any other -errno of open(2) or ioctl(2).
 */
int gosync_info(struct gosync_info *info);

#ifdef __cplusplus
}
#endif

#endif /* GOSYNC_H */
