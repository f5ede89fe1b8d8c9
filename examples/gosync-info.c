// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync-info: print what the loaded gosync module implements.
 *
 *   $ gosync-info
 *   libgosync 0.1.0, module ABI 1, features 0x0
 *
 * Exits 1 with the reason when the module is not loaded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gosync.h>

int main(void)
{
	struct gosync_info info;
	int ret = gosync_info(&info);

	if (ret < 0) {
		fprintf(stderr, "gosync-info: %s%s\n", strerror(-ret),
			ret == -ENODEV ? " (is gosync.ko loaded?)" : "");
		return 1;
	}
	printf("libgosync %s, module ABI %u, features 0x%" PRIx64 "\n",
	       gosync_version(), info.abi_version, (uint64_t)info.features);
	return 0;
}
