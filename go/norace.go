// SPDX-License-Identifier: GPL-2.0 OR MIT

//go:build !race

package gosync

const raceEnabled = false

func raceRelease(*uint64) {}
func raceAcquire(*uint64) {}
func raceReceived()       {}
func raceDelivered()      {}
