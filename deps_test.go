package marquee_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/marquee-signage/marquee"

// deps returns the non-test imports (transitively) of pkg, and whether each
// is in the standard library.
func deps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	m := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, std, _ := strings.Cut(line, " ")
		m[path] = std == "true"
	}
	return m
}

// TestImportRules enforces docs/architecture.md: dependencies point inward.
// The root package speaks only the standard library; domain packages never
// reach for an adapter, an HTTP framework or a database driver.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	for path, std := range deps(t, module) {
		if !std && path != module {
			t.Errorf("root package imports %s; it may import only the standard library", path)
		}
	}
	forbidden := map[string][]string{
		module + "/media":    {module + "/sqlstore", module + "/admin", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx"},
		module + "/auth":     {module + "/sqlstore", module + "/admin", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx"},
		module + "/sqlstore": {module + "/admin", "github.com/labstack/echo"},
		module + "/admin":    {module + "/sqlstore", "modernc.org/sqlite", "github.com/jackc/pgx"},

		// playlists declares the media lookup it needs instead of
		// importing media (and with it, image decoding).
		module + "/playlists": {module + "/sqlstore", module + "/admin", module + "/media", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx"},
		module + "/displays":  {module + "/sqlstore", module + "/admin", module + "/media", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx"},
		module + "/schedules": {module + "/sqlstore", module + "/admin", module + "/media", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx"},
		module + "/desired":   {module + "/sqlstore", module + "/admin", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx"},
		module + "/orgs":      {module + "/sqlstore", module + "/admin", module + "/media", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx"},

		// The resolver is pure: the player links it, so it must stay free
		// of everything server-side.
		module + "/scheduler": {module + "/sqlstore", module + "/admin", module + "/media", module + "/desired", "github.com/labstack/echo", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/disintegration/imaging"},
	}
	for pkg, bad := range forbidden {
		for path := range deps(t, pkg) {
			for _, b := range bad {
				if path == b || strings.HasPrefix(path, b+"/") {
					t.Errorf("%s imports %s, which docs/architecture.md forbids", pkg, path)
				}
			}
		}
	}
}

// TestPlayerStaysSmall: the player binary links none of the server's
// weight — no HTTP framework, no SQL, no image processing, no broker, no
// fonts — and its journal and cache use the standard library only.
func TestPlayerStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	banned := []string{
		"github.com/labstack/echo", "database/sql", "modernc.org/sqlite", "github.com/jackc/pgx",
		"github.com/disintegration/imaging", "golang.org/x/image", "github.com/mochi-mqtt",
		"github.com/go-fonts",
		module + "/mqtt/broker", module + "/sqlstore", module + "/admin", module + "/media",
		module + "/desired", module + "/fleet", module + "/internal/banner", module + "/internal/demo",
	}
	for path := range deps(t, module+"/cmd/marquee-player") {
		for _, b := range banned {
			if path == b || strings.HasPrefix(path, b+"/") {
				t.Errorf("cmd/marquee-player links %s", path)
			}
		}
	}
	for _, pkg := range []string{module + "/player/journal", module + "/player/cache"} {
		for path, std := range deps(t, pkg) {
			if !std && path != pkg && path != module {
				t.Errorf("%s imports %s; it may import only the standard library and the root package", pkg, path)
			}
		}
	}
}
