/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gosync: internal declarations shared by the files of the module.
 */
#ifndef _GOSYNC_INTERNAL_H
#define _GOSYNC_INTERNAL_H

#include <linux/gosync.h>

/* Feature bits this build of the module reports in GOSYNC_IOC_INFO. */
#define GOSYNC_FEATURES		0ULL

#endif /* _GOSYNC_INTERNAL_H */
