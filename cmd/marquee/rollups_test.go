package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/reports"
	"github.com/marquee-signage/marquee/sqlstore"
)

// TestRollupsRebuild: after the rollups of a seeded database are emptied,
// `marquee rollups rebuild` over the seeded period restores the airtime
// the raw plays add up to; bad arguments are refused with a clear error.
func TestRollupsRebuild(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "r.db")
	var stdout, stderr bytes.Buffer
	env := func(string) string { return "" }
	if code := run(ctx, []string{"seed", "plays", "--db", dsn, "--count", "600", "--displays", "4", "--orgs", "1", "--days", "2", "--measure=false"}, &stdout, &stderr, env); code != 0 {
		t.Fatalf("seed: exit %d\n%s", code, stderr.String())
	}
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	total := func() int64 {
		t.Helper()
		rs, err := db.AirtimeReport(ctx, reports.AirtimeFilter{From: time.Now().AddDate(0, 0, -4), To: time.Now().Add(time.Hour), GroupBy: reports.ByDisplay})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, r := range rs {
			n += r.Plays
		}
		return n
	}
	if n := total(); n != 600 {
		t.Fatalf("seeded airtime counts %d plays, want 600", n)
	}
	for _, table := range []string{"play_rollups_hourly", "play_rollups_daily"} {
		if _, err := db.SQL().ExecContext(ctx, "DELETE FROM "+table); err != nil {
			t.Fatal(err)
		}
	}
	if n := total(); n != 0 {
		t.Fatalf("after emptying the rollups: %d plays, want 0", n)
	}
	from := time.Now().AddDate(0, 0, -3).Format(time.DateOnly)
	to := time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
	stdout.Reset()
	if code := run(ctx, []string{"rollups", "rebuild", "--db", dsn, "--from", from, "--to", to}, &stdout, &stderr, env); code != 0 {
		t.Fatalf("rollups rebuild: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "rebuilt the airtime rollups of ") {
		t.Errorf("output: %q", stdout.String())
	}
	if n := total(); n != 600 {
		t.Errorf("after the rebuild: %d plays, want 600", n)
	}
	for _, bad := range [][]string{
		{"rollups"},
		{"rollups", "rebuild", "--from", from, "--to", to},
		{"rollups", "rebuild", "--db", dsn, "--from", "yesterday", "--to", to},
		{"rollups", "rebuild", "--db", dsn, "--from", to, "--to", from},
		{"rollups", "rebuild", "--db", dsn, "--from", from, "--to", to, "--tz", "Mars/Olympus"},
	} {
		stderr.Reset()
		if code := run(ctx, bad, &stdout, &stderr, env); code != 1 || !strings.Contains(stderr.String(), "rollups") {
			t.Errorf("%q: exit %d, stderr %q; want 1 and an error naming the command", bad, code, stderr.String())
		}
	}
}
