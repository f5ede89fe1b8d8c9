// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

// System call numbers the syscall package (frozen) does not name.
const (
	sysMemfdCreate = 319
	sysFutexWaitv  = 449
)
