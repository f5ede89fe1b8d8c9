package gosync

import (
	"os"
	"strings"
	"testing"
)

func forModesLead(t *testing.T, fn func(t *testing.T, f Flags)) {
	want := os.Getenv("GOSYNC_GO_MODES")
	t.Run("kernel", func(t *testing.T) {
		if !kernelMode() {
			if strings.Contains(want, "kernel") {
				t.Fatal("kernel mode asked for, and no module")
			}
			t.Skip("no module")
		}
		fn(t, 0)
	})
	t.Run("standalone", func(t *testing.T) { fn(t, Standalone) })
}
