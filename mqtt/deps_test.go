package mqtt_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientStaysSmall: the player links package mqtt, so it must not pull
// in the embedded broker or anything server-side.
func TestClientStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/marquee-signage/marquee/mqtt").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/mochi-mqtt/", "github.com/marquee-signage/marquee/mqtt/broker", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx", "testing"} {
			if dep == bad || strings.HasPrefix(dep, bad) {
				t.Errorf("package mqtt depends on %s", dep)
			}
		}
	}
}
