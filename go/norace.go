// SPDX-License-Identifier: GPL-2.0 OR MIT

//go:build !race

package gosync

const raceEnabled = false

func raceRelease(p *uint64) {}
func raceAcquire(p *uint64) {}
