package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestSeedPlays(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "seed.db")
	var stdout, stderr bytes.Buffer
	args := []string{"seed", "plays", "--db", dsn, "--count", "900", "--displays", "6", "--orgs", "2", "--days", "2", "--batch", "250"}
	if code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("seed plays: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"loaded 900 plays over 6 displays and 2 days", "built their rollups in", "group_by=day, one organisation, idle: ", "group_by=display, one organisation, while ingesting: 3 rows", "monthly report "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Timing again at a fixed ingest rate, on the seeded organisation.
	org := regexp.MustCompile(`org_seed[0-9a-z]+_00`).FindString(out)
	stdout.Reset()
	args = []string{"seed", "plays", "--db", dsn, "--measure-org", "org_x", "--displays", "6", "--ingest-rate", "1000"}
	if code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("seed plays --measure-org: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if m := regexp.MustCompile(`ingest during the reports: (\d+) plays in ([0-9.]+)(m?s) `).FindStringSubmatch(stdout.String()); m == nil {
		t.Errorf("no ingest figure:\n%s", stdout.String())
	} else if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("nothing ingested at 1,000 plays/s:\n%s", stdout.String())
	}
	_ = org
	for _, bad := range [][]string{{"seed", "rows"}, {"seed", "plays", "--db", dsn, "--count", "0"}, {"seed", "plays", "--db", dsn, "--ingest-rate", "-1"}, {"seed", "plays"}} {
		if code := run(context.Background(), bad, &stdout, &stderr, func(string) string { return "" }); code == 0 {
			t.Errorf("%q: exit 0, want an error", bad)
		}
	}
}
