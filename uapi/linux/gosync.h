/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * gosync: Go-style channels and synchronisation objects for C and for IPC
 * between processes.  The ABI of /dev/gosync.
 *
 * Rules every struct here follows (Documentation/process/botching-up-ioctls):
 *  - fixed-width types only, pointers passed as __u64, sizes multiples of 8;
 *  - every struct has a flags word; unknown flags fail with EINVAL;
 *  - reserved fields must be zero on input (EINVAL otherwise) and are
 *    written as zero on output, so they can gain meaning later;
 *  - additions that userspace must be able to detect get a GOSYNC_FEAT_* bit.
 */
#ifndef _UAPI_LINUX_GOSYNC_H
#define _UAPI_LINUX_GOSYNC_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define GOSYNC_DEVICE_NAME	"gosync"	/* the node is /dev/gosync */

/* Bumped only for incompatible changes; additions are feature bits. */
#define GOSYNC_ABI_VERSION	1

/*
 * ioctl numbers: one magic (0xB8, unused in ioctl-number.rst), split by the
 * kind of fd the ioctl is issued on.
 *   0x00-0x1f  /dev/gosync
 */
#define GOSYNC_IOC_MAGIC	0xB8

/**
 * struct gosync_info - what the loaded module implements
 * @flags:	in: must be 0 (no flags are defined yet)
 * @abi_version: out: GOSYNC_ABI_VERSION of the module
 * @features:	out: GOSYNC_FEAT_* bits of what the module implements
 * @resv:	in: must be 0; out: 0
 *
 * GOSYNC_IOC_INFO on /dev/gosync fills it.  Errors: EFAULT for a bad
 * pointer, EINVAL for unknown flags or a non-zero reserved word.
 */
struct gosync_info {
	__u32 flags;
	__u32 abi_version;
	__u64 features;
	__u64 resv[6];
};

#define GOSYNC_INFO_FLAGS	0	/* every valid flag of gosync_info */

#define GOSYNC_IOC_INFO		_IOWR(GOSYNC_IOC_MAGIC, 0x00, struct gosync_info)

#endif /* _UAPI_LINUX_GOSYNC_H */
