package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSeedPlays(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSeedPlays(t, "sqlite://"+filepath.Join(t.TempDir(), "seed.db")) })
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("MARQUEE_TEST_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("MARQUEE_TEST_POSTGRES_DSN is not set; skipping the PostgreSQL seed (COPY) test")
		}
		schema := fmt.Sprintf("seed_%d", time.Now().UnixNano())
		pg, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		if _, err := pg.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatal(err)
		}
		defer pg.Exec("DROP SCHEMA " + schema + " CASCADE")
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		testSeedPlays(t, dsn+sep+"search_path="+schema)
	})
}

// testSeedPlays seeds plays into dsn, times the reports, then times them
// again on the seeded organisation at a fixed ingest rate.
func testSeedPlays(t *testing.T, dsn string) {
	var stdout, stderr bytes.Buffer
	args := []string{"seed", "plays", "--db", dsn, "--count", "900", "--displays", "6", "--orgs", "2", "--days", "2", "--batch", "250", "--baseline"}
	if code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("seed plays: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"loaded 900 plays over 6 displays and 2 days", "built their rollups in", "group_by=day, one organisation, idle: ", "group_by=display, one organisation, while ingesting: 3 rows", "monthly report ", "baseline: the same 30-day airtime per display from the raw plays (no rollups), idle: 3 rows"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Timing again at a fixed ingest rate, on the seeded organisation.
	org := regexp.MustCompile(`org_seed[0-9a-z]+_00`).FindString(out)
	stdout.Reset()
	if org == "" {
		t.Fatalf("no seeded organisation named in the output:\n%s", out)
	}
	args = []string{"seed", "plays", "--db", dsn, "--measure-org", org, "--displays", "6", "--ingest-rate", "1000"}
	if code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("seed plays --measure-org: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if m := regexp.MustCompile(`ingest during the reports: (\d+) plays in ([0-9.]+)(m?s) `).FindStringSubmatch(stdout.String()); m == nil {
		t.Errorf("no ingest figure:\n%s", stdout.String())
	} else if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("nothing ingested at 1,000 plays/s:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "group_by=display, one organisation, idle: 3 rows") {
		t.Errorf("the seeded organisation's report has not its 3 displays:\n%s", stdout.String())
	}
	for _, bad := range [][]string{{"seed", "rows"}, {"seed", "plays", "--db", dsn, "--count", "0"}, {"seed", "plays", "--db", dsn, "--ingest-rate", "-1"}, {"seed", "plays"}} {
		if code := run(context.Background(), bad, &stdout, &stderr, func(string) string { return "" }); code == 0 {
			t.Errorf("%q: exit 0, want an error", bad)
		}
	}
}
