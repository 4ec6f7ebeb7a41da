package main

import (
	"bytes"
	"context"
	"path/filepath"
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
	if code := run(context.Background(), []string{"seed", "rows"}, &stdout, &stderr, func(string) string { return "" }); code == 0 {
		t.Error("seed rows: exit 0, want an error")
	}
}
