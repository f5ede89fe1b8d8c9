// SPDX-License-Identifier: GPL-2.0 OR MIT

package gosync

import (
	"os"
	"strings"
	"testing"
)

// testModes are the modes forModes runs a test in.
var testModes = []struct {
	name string
	f    Flags
}{
	{"standalone", Standalone},
	{"kernel", 0},
}

// forModes runs @fn as a subtest per mode: "standalone" (Flags
// Standalone) always, "kernel" (Flags 0) when the module answers (else
// it is skipped).  GOSYNC_GO_MODES ("kernel,standalone", "standalone",
// ...), when set, lists the modes to run: a listed mode that is not
// available FAILS instead of skipping (a VM run must not skip kernel mode
// silently), and an unlisted one is skipped.
func forModes(t *testing.T, fn func(t *testing.T, f Flags)) {
	t.Helper()
	env, set := os.LookupEnv("GOSYNC_GO_MODES")
	want := map[string]bool{}
	if set {
		for _, m := range strings.Split(env, ",") {
			m = strings.TrimSpace(m)
			if m == "" {
				continue
			}
			known := false
			for _, tm := range testModes {
				known = known || tm.name == m
			}
			if !known {
				t.Fatalf("GOSYNC_GO_MODES=%q: unknown mode %q", env, m)
			}
			want[m] = true
		}
	}
	for _, mode := range testModes {
		mode := mode
		t.Run(mode.name, func(t *testing.T) {
			if set && !want[mode.name] {
				t.Skipf("not in GOSYNC_GO_MODES=%q", env)
			}
			if mode.f&Standalone == 0 && !kernelMode() {
				_, _, err := device()
				if set {
					t.Fatalf("GOSYNC_GO_MODES=%q lists kernel mode, "+
						"but there is no gosync module: %v", env, err)
				}
				t.Skipf("kernel mode: no gosync module (%v)", err)
			}
			fn(t, mode.f)
		})
	}
}
