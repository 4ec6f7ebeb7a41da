package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/fleet"
)

func init() {
	conformance = append(conformance, []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"CommandLifecycle", testCommandLifecycle},
		{"CommandUnknownDisplay", testCommandUnknownDisplay},
		{"CommandPagination", testCommandPagination},
	}...)
}

func newCommand(displayID, typ string) *fleet.Command {
	return &fleet.Command{DisplayID: displayID, Type: typ, IssuedBy: "usr_a", IssuedAt: t0, Status: fleet.CommandPending}
}

func mustCreateCommand(t *testing.T, db *DB, c *fleet.Command) *fleet.Command {
	t.Helper()
	if err := db.CreateCommand(context.Background(), c); err != nil {
		t.Fatalf("CreateCommand: %v", err)
	}
	return c
}

func testCommandLifecycle(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("lobby"))
	other := mustCreateDisplay(t, db, newDisplay("other"))
	c := newCommand(d.ID, marquee.CmdResyncMedia)
	c.Args = map[string]string{"reason": "Tết"}
	mustCreateCommand(t, db, c)
	if c.ID == "" || c.IssuedAt != t0.UTC().Truncate(time.Millisecond) {
		t.Fatalf("stored command = %+v", c)
	}
	got, err := db.FindCommandByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Fatalf("FindCommandByID (-want +got):\n%s", diff)
	}

	update := func(u fleet.CommandUpdate, want bool) {
		t.Helper()
		if ok, err := db.UpdateCommandStatus(ctx, u); err != nil || ok != want {
			t.Fatalf("UpdateCommandStatus(%+v) = %v, %v; want %v", u, ok, err, want)
		}
	}
	sent := fleet.CommandUpdate{ID: c.ID, DisplayID: d.ID, From: []string{fleet.CommandPending}, Status: fleet.CommandSent}
	update(sent, true)
	update(sent, false) // no longer pending
	fin := t0.Add(time.Second).UTC().Truncate(time.Millisecond)
	// Another display's answer does not touch it.
	update(fleet.CommandUpdate{ID: c.ID, DisplayID: other.ID, Status: fleet.CommandOK, FinishedAt: &fin}, false)
	update(fleet.CommandUpdate{ID: "cmd_nope", DisplayID: d.ID, Status: fleet.CommandOK, FinishedAt: &fin}, false)
	update(fleet.CommandUpdate{ID: c.ID, DisplayID: d.ID, Status: fleet.CommandFailed, Error: "disk full", FinishedAt: &fin}, true)
	got, err = db.FindCommandByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *c
	want.Status, want.Error, want.FinishedAt = fleet.CommandFailed, "disk full", &fin
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Fatalf("after the result (-want +got):\n%s", diff)
	}
	_, err = db.FindCommandByID(ctx, "cmd_nope")
	wantCode(t, err, marquee.ENOTFOUND)

	// Deleting the display drops its commands.
	if err := db.DeleteDisplay(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "commands"); n != 0 {
		t.Fatalf("commands after the display was deleted = %d, want 0", n)
	}
}

func testCommandUnknownDisplay(t *testing.T, db *DB) {
	ctx := context.Background()
	wantCode(t, db.CreateCommand(ctx, newCommand("dsp_nope", marquee.CmdClearCache)), marquee.ENOTFOUND)
	_, _, err := db.FindCommands(ctx, "dsp_nope", 0, "")
	wantCode(t, err, marquee.ENOTFOUND)
}

func testCommandPagination(t *testing.T, db *DB) {
	ctx := context.Background()
	d := mustCreateDisplay(t, db, newDisplay("lobby"))
	other := mustCreateDisplay(t, db, newDisplay("other"))
	var want []string
	for range 7 {
		c := mustCreateCommand(t, db, newCommand(d.ID, marquee.CmdReloadState))
		mustCreateCommand(t, db, newCommand(other.ID, marquee.CmdReloadState))
		want = append([]string{c.ID}, want...)
	}
	for _, limit := range []int{1, 3, 7, 10} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var got []string
			cursor := ""
			for page := 0; page < 10; page++ {
				cs, next, err := db.FindCommands(ctx, d.ID, limit, cursor)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cs {
					got = append(got, c.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("IDs (-want +got):\n%s", diff)
			}
		})
	}
	cs, next, err := db.FindCommands(ctx, mustCreateDisplay(t, db, newDisplay("quiet")).ID, 0, "")
	if err != nil || cs == nil || len(cs) != 0 || next != "" {
		t.Fatalf("FindCommands(no commands) = %v, %q, %v; want empty", cs, next, err)
	}
	_, _, err = db.FindCommands(ctx, d.ID, 0, "!!!")
	wantCode(t, err, marquee.EINVALID)
}
