package schedules_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

// ict is Vietnam's zone, the default of schedules.
var ict = mustZone("Asia/Ho_Chi_Minh")

// now is Monday 1 June 2026, midnight in Vietnam.
var now = time.Date(2026, 6, 1, 0, 0, 0, 0, ict)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// fixture is a schedules.Service over a fresh SQLite store with one
// playlist and three displays: lobby (tagged airport), gate (airport, gate)
// and street (untagged).
type fixture struct {
	svc                 *schedules.Service
	db                  *sqlstore.DB
	playlist            string
	lobby, gate, street *displays.Display
}

func newFixture(t *testing.T, cfg schedules.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "marquee.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	f := &fixture{svc: schedules.NewService(db, cfg), db: db}
	pl := &playlists.Playlist{OrgID: auth.RootOrgID, Name: "Campaign", CreatedBy: "usr_test"}
	if err := db.CreatePlaylist(ctx, pl); err != nil {
		t.Fatalf("CreatePlaylist: %v", err)
	}
	f.playlist = pl.ID
	dsvc := displays.NewService(db, displays.Config{})
	mk := func(name string, tags ...string) *displays.Display {
		d, _, err := dsvc.Create(ctx, displays.Input{OrgID: auth.RootOrgID, Name: name, Width: 384, Height: 192, Tags: tags})
		if err != nil {
			t.Fatalf("create display: %v", err)
		}
		return d
	}
	f.lobby, f.gate, f.street = mk("Lobby", "airport"), mk("Gate", "airport", "gate"), mk("Street")
	return f
}

// input returns a valid input: a campaign every day 07:00–17:00 in June
// 2026 on the airport displays; opts adjust it.
func (f *fixture) input(name string, opts ...func(*schedules.Input)) schedules.Input {
	in := schedules.Input{
		OrgID:      auth.RootOrgID,
		Name:       name,
		PlaylistID: f.playlist,
		Targets:    schedules.Targets{Tags: []string{"airport"}},
		Cron:       "0 7 * * *",
		Duration:   10 * time.Hour,
		StartsOn:   "2026-06-01",
		EndsOn:     "2026-06-30",
		Priority:   marquee.LayerCampaign,
	}
	for _, o := range opts {
		o(&in)
	}
	return in
}

func (f *fixture) mustCreate(t *testing.T, in schedules.Input) (*schedules.Schedule, *schedules.Report) {
	t.Helper()
	s, rep, err := f.svc.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("Create(%q): %v", in.Name, err)
	}
	return s, rep
}

func wantInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	if got := marquee.ErrorCode(err); got != marquee.EINVALID {
		t.Fatalf("err = %v (code %q), want invalid", err, got)
	}
	if got := marquee.ErrorMessage(err); !strings.Contains(got, msg) {
		t.Fatalf("message = %q, want it to say %q", got, msg)
	}
}

func TestCreateDefaults(t *testing.T) {
	f := newFixture(t, schedules.Config{})
	s, rep := f.mustCreate(t, schedules.Input{
		OrgID: auth.RootOrgID, Name: " Giờ mở cửa ", PlaylistID: f.playlist,
		Targets: schedules.Targets{DisplayIDs: []string{f.street.ID, f.street.ID}, Tags: []string{"Gate"}},
	})
	// Created by the server itself (no actor): approved by the system at
	// once, the playlist's current revision pinned.
	at := now.UTC()
	want := &schedules.Schedule{
		ID: s.ID, OrgID: auth.RootOrgID, Name: "Giờ mở cửa", PlaylistID: f.playlist,
		Targets:  schedules.Targets{DisplayIDs: []string{f.street.ID}, Tags: []string{"gate"}},
		Priority: marquee.LayerNormal, Timezone: "Asia/Ho_Chi_Minh",
		CreatedAt: at, UpdatedAt: at,
		Approval: schedules.Approval{Status: schedules.StatusApproved, DecidedBy: schedules.SystemActor, DecidedAt: &at,
			Live: true, ApprovedRevision: 1, Approved: &schedules.Version{Name: "Giờ mở cửa", PlaylistID: f.playlist,
				PlaylistRevision: 1, Targets: schedules.Targets{DisplayIDs: []string{f.street.ID}, Tags: []string{"gate"}},
				Priority: marquee.LayerNormal, Timezone: "Asia/Ho_Chi_Minh", ApprovedBy: schedules.SystemActor, ApprovedAt: at}},
		PlaylistRevision: 1,
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(s.ID, "sch_") {
		t.Errorf("ID %q", s.ID)
	}
	got, err := f.svc.Get(context.Background(), s.ID)
	if err != nil || !cmp.Equal(got, s) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if diff := cmp.Diff([]string{f.gate.ID, f.street.ID}, rep.Displays); diff != "" {
		t.Errorf("displays reached (-want +got):\n%s", diff)
	}
	if len(rep.Conflicts) != 0 || rep.Conflicts == nil || rep.Truncated {
		t.Errorf("report = %+v, want no conflicts", rep)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t, schedules.Config{})
	for _, tt := range []struct {
		name string
		edit func(*schedules.Input)
		msg  string
	}{
		{"no name", func(in *schedules.Input) { in.Name = "" }, "name is required"},
		{"no playlist", func(in *schedules.Input) { in.PlaylistID = " " }, "playlist_id is required"},
		{"unknown playlist", func(in *schedules.Input) { in.PlaylistID = "pls_missing" }, `playlist "pls_missing" does not exist`},
		{"no targets", func(in *schedules.Input) { in.Targets = schedules.Targets{} }, "targets must name at least one display or tag"},
		{"unknown display", func(in *schedules.Input) { in.Targets.DisplayIDs = []string{"dsp_missing"} }, `display "dsp_missing" does not exist`},
		{"empty display id", func(in *schedules.Input) { in.Targets.DisplayIDs = []string{""} }, "empty ID"},
		{"bad tag", func(in *schedules.Input) { in.Targets.Tags = []string{"sân bay"} }, `tag "sân bay"`},
		{"four fields", func(in *schedules.Input) { in.Cron = "0 7 * *" }, "expected 5 fields"},
		{"six fields", func(in *schedules.Input) { in.Cron = "0 0 7 * * *" }, "expected 5 fields"},
		{"out of range", func(in *schedules.Input) { in.Cron = "61 7 * * *" }, "above maximum (59)"},
		{"TZ= panics robfig", func(in *schedules.Input) { in.Cron = "TZ=0" }, "must not name a zone"},
		{"CRON_TZ", func(in *schedules.Input) { in.Cron = "CRON_TZ=UTC 0 7 * * *" }, "must not name a zone"},
		{"@every", func(in *schedules.Input) { in.Cron = "@every 1h" }, "@every is not allowed"},
		{"never fires", func(in *schedules.Input) { in.Cron = "0 0 30 2 *" }, `cron "0 0 30 2 *" never fires`},
		{"never within dates", func(in *schedules.Input) {
			in.Cron, in.StartsOn, in.EndsOn = "0 7 * * 1-5", "2026-06-06", "2026-06-07" // a weekend
		}, "never fires between starts_on 2026-06-06 and ends_on 2026-06-07"},
		{"ends before starts", func(in *schedules.Input) { in.EndsOn = "2026-05-31" }, "ends_on 2026-05-31 is before starts_on 2026-06-01"},
		{"bad date", func(in *schedules.Input) { in.StartsOn = "2026-02-30" }, `starts_on "2026-02-30" is not a date`},
		{"cron without duration", func(in *schedules.Input) { in.Duration = 0 }, "a schedule with a cron needs a duration"},
		{"duration without cron", func(in *schedules.Input) { in.Cron = "" }, "duration needs a cron"},
		{"duration too long", func(in *schedules.Input) { in.Duration = 32 * 24 * time.Hour }, "longer than 31 days"},
		{"negative duration", func(in *schedules.Input) { in.Duration = -time.Hour }, "duration must be positive"},
		{"sub-millisecond", func(in *schedules.Input) { in.Duration = time.Hour + time.Microsecond }, "whole number of milliseconds"},
		{"unknown priority", func(in *schedules.Input) { in.Priority = "urgent" }, `priority "urgent" is not one of fallback, normal, campaign, takeover, emergency`},
		{"unknown zone", func(in *schedules.Input) { in.Timezone = "Mars/Olympus" }, `timezone "Mars/Olympus" is not a known IANA zone`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := f.input("x", tt.edit)
			_, _, err := f.svc.Create(context.Background(), in)
			wantInvalid(t, err, tt.msg)
			_, err = f.svc.Check(context.Background(), "", in)
			wantInvalid(t, err, tt.msg)
		})
	}
	if scs, _, _ := f.svc.List(context.Background(), schedules.Filter{}); len(scs) != 0 {
		t.Fatalf("refused creates stored %d schedules", len(scs))
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		msg  string
	}{
		{"", 0, ""},
		{"10h", 10 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"1.5s", 1500 * time.Millisecond, ""},
		{"10", 0, `duration "10" is not a duration such as "10h"`},
		{"ten hours", 0, "is not a duration"},
		{"-1h", 0, "must be positive"},
		{"0s", 0, "must be positive"},
		{"1us", 0, "whole number of milliseconds"},
	} {
		got, err := schedules.ParseDuration(tt.in)
		if tt.msg != "" {
			wantInvalid(t, err, tt.msg)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	// JSON: written as time.Duration.String, "" for zero; read back.
	for _, d := range []schedules.Duration{0, schedules.Duration(10 * time.Hour), schedules.Duration(90 * time.Minute)} {
		b, err := d.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back schedules.Duration
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Errorf("%v → %q → %v, %v", time.Duration(d), b, time.Duration(back), err)
		}
	}
}

func TestConflictShares(t *testing.T) {
	f := newFixture(t, schedules.Config{})
	// A: 07:00–17:00 daily in June on every airport display.
	a, _ := f.mustCreate(t, f.input("Summer campaign"))
	// B: 09:00–11:00 daily in June, on the lobby by ID and the street.
	b, rep := f.mustCreate(t, f.input("Festival", func(in *schedules.Input) {
		in.Targets = schedules.Targets{DisplayIDs: []string{f.lobby.ID, f.street.ID}}
		in.Cron, in.Duration = "0 9 * * *", 2*time.Hour
	}))
	want := []schedules.Conflict{{
		DisplayID: f.lobby.ID, DisplayName: "Lobby", ScheduleID: a.ID, ScheduleName: "Summer campaign",
		Kind:  schedules.ConflictShares,
		First: time.Date(2026, 6, 1, 9, 0, 0, 0, ict).UTC(),
		// Two hours a day, 30 days.
		OverlapMS: (60 * time.Hour).Milliseconds(),
	}}
	if diff := cmp.Diff(want, rep.Conflicts); diff != "" {
		t.Fatalf("conflicts of B (-want +got):\n%s", diff)
	}
	if got, want := rep.From, now.UTC(); !got.Equal(want) {
		t.Errorf("from = %v, want %v", got, want)
	}
	if got, want := rep.To, time.Date(2026, 7, 1, 0, 0, 0, 0, ict).UTC(); !got.Equal(want) {
		t.Errorf("to = %v, want the end of ends_on %v", got, want)
	}

	// Editing A (PUT) reports B on the lobby and leaves A's old self out.
	_, rep, err := f.svc.Update(context.Background(), a.ID, f.input("Summer campaign"))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if len(rep.Conflicts) != 1 || rep.Conflicts[0].ScheduleID != b.ID || rep.Conflicts[0].DisplayID != f.lobby.ID {
		t.Fatalf("conflicts of A's edit = %+v, want B on the lobby", rep.Conflicts)
	}
	// A dry run of the same edit says the same and changes nothing.
	before, _ := f.svc.Get(context.Background(), a.ID)
	rep2, err := f.svc.Check(context.Background(), a.ID, f.input("Renamed", func(in *schedules.Input) { in.Priority = marquee.LayerNormal }))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(rep2.Conflicts) != 1 || rep2.Conflicts[0].Kind != schedules.ConflictPreemptedBy {
		t.Fatalf("check of A as normal = %+v, want preempted_by B", rep2.Conflicts)
	}
	if after, _ := f.svc.Get(context.Background(), a.ID); !cmp.Equal(before, after) {
		t.Fatalf("Check changed the schedule:\n%+v\n%+v", before, after)
	}
}

func TestConflictEmergencyPreempts(t *testing.T) {
	f := newFixture(t, schedules.Config{})
	campaign, _ := f.mustCreate(t, f.input("Campaign"))
	emergency := f.input("Storm warning", func(in *schedules.Input) {
		in.Priority = marquee.LayerEmergency
		in.Cron, in.Duration = "", 0 // all day
		in.StartsOn, in.EndsOn = "2026-06-10", "2026-06-10"
		in.Targets = schedules.Targets{Tags: []string{"gate"}}
	})
	rep, err := f.svc.Check(context.Background(), "", emergency)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := []schedules.Conflict{{
		DisplayID: f.gate.ID, DisplayName: "Gate", ScheduleID: campaign.ID, ScheduleName: "Campaign",
		Kind:      schedules.ConflictPreempts,
		First:     time.Date(2026, 6, 10, 7, 0, 0, 0, ict).UTC(),
		OverlapMS: (10 * time.Hour).Milliseconds(),
	}}
	if diff := cmp.Diff(want, rep.Conflicts); diff != "" {
		t.Fatalf("conflicts of the emergency (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{f.gate.ID}, rep.Displays); diff != "" {
		t.Errorf("displays (-want +got):\n%s", diff)
	}
	// Check saved nothing.
	if scs, _, _ := f.svc.List(context.Background(), schedules.Filter{}); len(scs) != 1 {
		t.Fatalf("Check stored a schedule: %d schedules", len(scs))
	}

	em, _ := f.mustCreate(t, emergency)
	// From the campaign's side: on the gate it is pre-empted by the
	// emergency; on the lobby nothing overlaps it.
	_, rep, err = f.svc.Update(context.Background(), campaign.ID, f.input("Campaign"))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want = []schedules.Conflict{{
		DisplayID: f.gate.ID, DisplayName: "Gate", ScheduleID: em.ID, ScheduleName: "Storm warning",
		Kind:      schedules.ConflictPreemptedBy,
		First:     time.Date(2026, 6, 10, 7, 0, 0, 0, ict).UTC(),
		OverlapMS: (10 * time.Hour).Milliseconds(),
	}}
	if diff := cmp.Diff(want, rep.Conflicts); diff != "" {
		t.Fatalf("conflicts of the campaign (-want +got):\n%s", diff)
	}
}

func TestConflictHorizon(t *testing.T) {
	f := newFixture(t, schedules.Config{Horizon: 10 * 24 * time.Hour})
	// An all-day schedule with no end, on the lobby.
	other, _ := f.mustCreate(t, f.input("Always", func(in *schedules.Input) {
		in.Cron, in.Duration, in.StartsOn, in.EndsOn = "", 0, "", ""
	}))
	// The horizon is capped: 10 days from now.
	_, rep := f.mustCreate(t, f.input("Open", func(in *schedules.Input) {
		in.Cron, in.Duration, in.EndsOn = "", 0, ""
	}))
	if len(rep.Conflicts) != 2 {
		t.Fatalf("conflicts = %+v, want the lobby and the gate", rep.Conflicts)
	}
	if got, want := rep.Conflicts[0].OverlapMS, (240 * time.Hour).Milliseconds(); got != want || rep.Conflicts[0].ScheduleID != other.ID {
		t.Fatalf("overlap = %d ms, want %d (the 10-day horizon)", got, want)
	}
	// A schedule that starts later is checked from its start: a campaign
	// booked for September is compared in September.
	rep2, err := f.svc.Check(context.Background(), "", f.input("September", func(in *schedules.Input) {
		in.StartsOn, in.EndsOn = "2026-09-01", "2026-09-03"
	}))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got, want := rep2.From, time.Date(2026, 9, 1, 0, 0, 0, 0, ict).UTC(); !got.Equal(want) {
		t.Errorf("from = %v, want %v", got, want)
	}
	if len(rep2.Conflicts) != 4 { // Always and Open, on the lobby and the gate
		t.Fatalf("September conflicts = %+v, want 4", rep2.Conflicts)
	}
	for _, c := range rep2.Conflicts {
		if c.OverlapMS != (30 * time.Hour).Milliseconds() {
			t.Fatalf("September conflict %+v, want 3×10 h of overlap", c)
		}
	}
	// A schedule that has ended has nothing left to conflict with.
	rep3, err := f.svc.Check(context.Background(), "", f.input("Past", func(in *schedules.Input) {
		in.StartsOn, in.EndsOn = "2026-05-01", "2026-05-31"
	}))
	if err != nil || len(rep3.Conflicts) != 0 {
		t.Fatalf("past schedule: %+v, %v", rep3, err)
	}
}

func TestConflictReportIsCapped(t *testing.T) {
	f := newFixture(t, schedules.Config{MaxReportDisplays: 1})
	f.mustCreate(t, f.input("A"))
	_, rep := f.mustCreate(t, f.input("B"))
	if !rep.Truncated || len(rep.Displays) != 1 || len(rep.Conflicts) != 1 {
		t.Fatalf("report = %+v, want one display examined and truncated", rep)
	}

	f = newFixture(t, schedules.Config{MaxConflicts: 3})
	for i := range 3 {
		f.mustCreate(t, f.input(fmt.Sprintf("S%d", i)))
	}
	_, rep = f.mustCreate(t, f.input("Last"))
	if !rep.Truncated || len(rep.Conflicts) != 3 || len(rep.Displays) != 2 {
		t.Fatalf("report = %+v, want 3 of 6 conflicts and truncated", rep)
	}
}

func TestConflictSkipsBrokenStoredSchedules(t *testing.T) {
	f := newFixture(t, schedules.Config{})
	// A stored schedule that no longer checks (the store does not parse
	// crons): it cannot play, so it conflicts with nothing.
	broken := &schedules.Schedule{
		OrgID: auth.RootOrgID, Name: "Broken", PlaylistID: f.playlist,
		Targets: schedules.Targets{Tags: []string{"airport"}}, Cron: "0 0 30 2 *",
		Duration: schedules.Duration(time.Hour), Priority: marquee.LayerCampaign, Timezone: "Asia/Ho_Chi_Minh",
	}
	if err := f.db.CreateSchedule(context.Background(), broken); err != nil {
		t.Fatal(err)
	}
	a, _ := f.mustCreate(t, f.input("A"))
	_, rep := f.mustCreate(t, f.input("B"))
	for _, c := range rep.Conflicts {
		if c.ScheduleID != a.ID {
			t.Fatalf("conflict with %s, want only A", c.ScheduleName)
		}
	}
}

func TestUpdateAndDelete(t *testing.T) {
	f := newFixture(t, schedules.Config{})
	ctx := context.Background()
	s, _ := f.mustCreate(t, f.input("A"))
	got, _, err := f.svc.Update(ctx, s.ID, f.input("B", func(in *schedules.Input) {
		in.Cron, in.Duration, in.Priority, in.Timezone = "", 0, "", "Europe/Berlin"
		in.Targets = schedules.Targets{DisplayIDs: []string{f.street.ID}}
	}))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got.Name != "B" || got.Cron != "" || got.Priority != marquee.LayerNormal || got.Timezone != "Europe/Berlin" ||
		!cmp.Equal(got.Targets, schedules.Targets{DisplayIDs: []string{f.street.ID}, Tags: []string{}}) || got.CreatedAt != s.CreatedAt {
		t.Fatalf("after PUT: %+v", got)
	}
	_, _, err = f.svc.Update(ctx, s.ID, f.input("C", func(in *schedules.Input) { in.Cron = "0 0 30 2 *" }))
	wantInvalid(t, err, "never fires")
	_, _, err = f.svc.Update(ctx, "sch_missing", f.input("C"))
	if marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("Update(missing) = %v", err)
	}
	if err := f.svc.Delete(ctx, s.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := f.svc.Delete(ctx, s.ID); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("Delete again = %v", err)
	}
}

func TestList(t *testing.T) {
	f := newFixture(t, schedules.Config{})
	ctx := context.Background()
	a, _ := f.mustCreate(t, f.input("A"))
	b, _ := f.mustCreate(t, f.input("B", func(in *schedules.Input) {
		in.Priority = marquee.LayerEmergency
		in.Targets = schedules.Targets{DisplayIDs: []string{f.street.ID}, Tags: []string{"District:Sầm-Sơn"}}
	}))
	ids := func(scs []*schedules.Schedule) []string {
		out := []string{}
		for _, s := range scs {
			out = append(out, s.ID)
		}
		return out
	}
	for _, tt := range []struct {
		f    schedules.Filter
		want []string
	}{
		{schedules.Filter{}, []string{b.ID, a.ID}},
		{schedules.Filter{DisplayID: f.lobby.ID}, []string{a.ID}},
		{schedules.Filter{DisplayID: f.street.ID}, []string{b.ID}},
		{schedules.Filter{Tag: " DISTRICT:SẦM-SƠN"}, []string{b.ID}},
		{schedules.Filter{Priority: marquee.LayerCampaign}, []string{a.ID}},
		{schedules.Filter{PlaylistID: f.playlist, Limit: 1}, []string{b.ID}},
	} {
		scs, _, err := f.svc.List(ctx, tt.f)
		if err != nil || !cmp.Equal(ids(scs), tt.want) {
			t.Errorf("List(%+v) = %v, %v; want %v", tt.f, ids(scs), err, tt.want)
		}
	}
	_, _, err := f.svc.List(ctx, schedules.Filter{Priority: "urgent"})
	wantInvalid(t, err, "priority")
}
