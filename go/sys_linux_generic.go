// SPDX-License-Identifier: GPL-2.0 OR MIT

//go:build arm64 || riscv64

package gosync

// System call numbers the syscall package (frozen) does not name: the
// generic table's (arm64, riscv64).  Built and vetted here, not run.
const (
	sysMemfdCreate = 279
	sysFutexWaitv  = 449
)
