package displays_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/sqlstore"
)

var now = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// mustService returns a Service over a fresh SQLite store whose clock reads
// now, and the store.
func mustService(t *testing.T) (*displays.Service, *sqlstore.DB) {
	svc, db, _ := mustServiceClock(t)
	return svc, db
}

// mustServiceClock is mustService with the service's clock.
func mustServiceClock(t *testing.T) (*displays.Service, *sqlstore.DB, *clock) {
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
	clk := &clock{t: now}
	return displays.NewService(db, displays.Config{Now: clk.Now}), db, clk
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

func valid() displays.Input {
	return displays.Input{OrgID: auth.RootOrgID, Name: "Facade", Width: 384, Height: 192}
}

func float(f float64) *float64 { return &f }

func TestCreateDefaultsAndNormalises(t *testing.T) {
	svc, db := mustService(t)
	ctx := context.Background()
	pl := &playlists.Playlist{OrgID: auth.RootOrgID, Name: "Fallback", CreatedBy: "usr_x"}
	if err := db.CreatePlaylist(ctx, pl); err != nil {
		t.Fatal(err)
	}
	in := displays.Input{
		OrgID: auth.RootOrgID, Name: "  Cổng\tchính  ", Width: 1536, Height: 256,
		Tags:               []string{"Airport", " district:SAM-SON ", "airport"},
		Location:           &displays.Location{Address: "  Sầm Sơn ", Latitude: float(19.73), Longitude: float(105.9)},
		FallbackPlaylistID: pl.ID,
	}
	d, token, err := svc.Create(ctx, in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(d.ID, "dsp_") || !strings.HasPrefix(token, "mqd_") || len(token) != 47 {
		t.Fatalf("ID %q, token %q", d.ID, token)
	}
	want := &displays.Display{
		ID: d.ID, OrgID: auth.RootOrgID, Name: "Cổngchính", Width: 1536, Height: 256,
		Timezone: "Asia/Ho_Chi_Minh", Tags: []string{"airport", "district:sam-son"},
		Location:           &displays.Location{Address: "Sầm Sơn", Latitude: float(19.73), Longitude: float(105.9)},
		FallbackPlaylistID: pl.ID, FallbackRevision: 1, TokenHash: auth.HashToken(token), CreatedAt: now, UpdatedAt: now,
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}
	got, err := svc.Get(ctx, d.ID)
	if err != nil || !cmp.Equal(got, d) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if strings.Contains(got.TokenHash, token) || got.TokenHash == token {
		t.Fatalf("the token itself is stored")
	}
	// An empty location is no location.
	d2, _, err := svc.Create(ctx, displays.Input{OrgID: auth.RootOrgID, Name: "x", Width: 1, Height: 1, Location: &displays.Location{Address: " "}})
	if err != nil || d2.Location != nil {
		t.Fatalf("empty location: %+v, %v", d2.Location, err)
	}
}

func TestValidation(t *testing.T) {
	svc, _ := mustService(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		edit func(*displays.Input)
		msg  string
	}{
		{"no name", func(in *displays.Input) { in.Name = " \t" }, "name is required"},
		{"long name", func(in *displays.Input) { in.Name = strings.Repeat("x", 256) }, "at most 255"},
		{"zero width", func(in *displays.Input) { in.Width = 0 }, "width must be from 1 to 16384 pixels, not 0"},
		{"huge height", func(in *displays.Input) { in.Height = 16385 }, "height must be from 1 to 16384 pixels, not 16385"},
		{"negative width", func(in *displays.Input) { in.Width = -192 }, "width must be from 1 to 16384"},
		{"unknown zone", func(in *displays.Input) { in.Timezone = "Asia/Hanoi_City" }, `timezone "Asia/Hanoi_City" is not a known IANA zone`},
		{"local zone", func(in *displays.Input) { in.Timezone = "Local" }, "server's zone"},
		{"path zone", func(in *displays.Input) { in.Timezone = "../../etc/passwd" }, "not a known IANA zone"},
		{"bad tag", func(in *displays.Input) { in.Tags = []string{"sân bay"} }, `tag "sân bay"`},
		{"empty tag", func(in *displays.Input) { in.Tags = []string{""} }, "a tag must be 1 to 64"},
		{"latitude", func(in *displays.Input) {
			in.Location = &displays.Location{Latitude: float(91), Longitude: float(105)}
		}, "latitude must be from -90 to 90 degrees, not 91"},
		{"longitude", func(in *displays.Input) {
			in.Location = &displays.Location{Latitude: float(19), Longitude: float(-180.5)}
		}, "longitude must be from -180 to 180 degrees, not -180.5"},
		{"NaN", func(in *displays.Input) {
			in.Location = &displays.Location{Latitude: float(math.NaN()), Longitude: float(0)}
		}, "latitude must be from -90 to 90"},
		{"half a position", func(in *displays.Input) {
			in.Location = &displays.Location{Latitude: float(19)}
		}, "both latitude and longitude"},
		{"long address", func(in *displays.Input) {
			in.Location = &displays.Location{Address: strings.Repeat("a", 300)}
		}, "address is too long"},
		{"missing fallback", func(in *displays.Input) { in.FallbackPlaylistID = "pls_missing" }, `fallback playlist "pls_missing" does not exist`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(&in)
			_, _, err := svc.Create(ctx, in)
			wantInvalid(t, err, tt.msg)
		})
	}
	// The edges are fine.
	in := valid()
	in.Width, in.Height, in.Timezone = 1, 16384, "Europe/Berlin"
	in.Location = &displays.Location{Latitude: float(-90), Longitude: float(180)}
	if _, _, err := svc.Create(ctx, in); err != nil {
		t.Fatalf("edge values: %v", err)
	}
	if ds, _, _ := svc.List(ctx, displays.Filter{}); len(ds) != 1 {
		t.Fatalf("refused creates stored displays: %d", len(ds))
	}
}

func TestAuthenticateAndRotate(t *testing.T) {
	svc, _ := mustService(t)
	ctx := context.Background()
	d, token, err := svc.Create(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	other, otherToken, err := svc.Create(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Authenticate(ctx, d.ID, token); err != nil || got.ID != d.ID {
		t.Fatalf("Authenticate = %v, %v", got, err)
	}
	unauthorized := func(id, tok string) {
		t.Helper()
		_, err := svc.Authenticate(ctx, id, tok)
		if marquee.ErrorCode(err) != marquee.EUNAUTHORIZED {
			t.Fatalf("Authenticate(%q, %q) = %v, want unauthorized", id, tok, err)
		}
		if got, want := marquee.ErrorMessage(err), "invalid display or token"; got != want {
			t.Fatalf("message = %q, want %q", got, want)
		}
	}
	unauthorized(d.ID, otherToken)           // another display's token
	unauthorized(other.ID, token)            // and the other way round
	unauthorized("dsp_missing", token)       // unknown display
	unauthorized(d.ID, "")                   // empty
	unauthorized(d.ID, token[:len(token)-1]) // truncated
	unauthorized(d.ID, auth.HashToken(token))
	unauthorized(d.ID, "mqt_"+token[4:]) // a user token's prefix
	unauthorized(d.ID, token+strings.Repeat("x", 1<<20))

	newToken, err := svc.RotateToken(ctx, d.ID)
	if err != nil {
		t.Fatalf("RotateToken: %v", err)
	}
	if newToken == token || !strings.HasPrefix(newToken, "mqd_") {
		t.Fatalf("new token %q", newToken)
	}
	unauthorized(d.ID, token) // the old one stops at once
	if _, err := svc.Authenticate(ctx, d.ID, newToken); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if _, err := svc.Authenticate(ctx, other.ID, otherToken); err != nil {
		t.Fatalf("other display's token after a rotation: %v", err)
	}
	if _, err := svc.RotateToken(ctx, "dsp_missing"); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("RotateToken(missing) = %v", err)
	}
}

func TestUpdateReplaces(t *testing.T) {
	svc, _, clk := mustServiceClock(t)
	ctx := context.Background()
	in := valid()
	in.Tags = []string{"a"}
	in.Location = &displays.Location{Address: "x"}
	d, token, err := svc.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	clk.t = now.Add(time.Hour)
	got, err := svc.Update(ctx, d.ID, displays.Input{Name: "New", Width: 192, Height: 96, Timezone: "UTC", OrgID: "org_ignored"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := &displays.Display{ID: d.ID, OrgID: d.OrgID, Name: "New", Width: 192, Height: 96, Timezone: "UTC",
		Tags: []string{}, TokenHash: d.TokenHash, CreatedAt: d.CreatedAt, UpdatedAt: clk.t}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after PUT (-want +got):\n%s", diff)
	}
	if _, err := svc.Authenticate(ctx, d.ID, token); err != nil {
		t.Fatalf("an update must keep the token: %v", err)
	}
	_, err = svc.Update(ctx, d.ID, displays.Input{Name: "x", Width: 0, Height: 1})
	wantInvalid(t, err, "width")
	_, err = svc.Update(ctx, "dsp_missing", valid())
	if marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("Update(missing) = %v", err)
	}
	if err := svc.Delete(ctx, d.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := svc.Authenticate(ctx, d.ID, token); marquee.ErrorCode(err) != marquee.EUNAUTHORIZED {
		t.Fatalf("a deleted display authenticates: %v", err)
	}
}

func TestListNormalisesTag(t *testing.T) {
	svc, _ := mustService(t)
	ctx := context.Background()
	in := valid()
	in.Tags = []string{"district:sầm-sơn"}
	if _, _, err := svc.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	ds, _, err := svc.List(ctx, displays.Filter{Tag: " DISTRICT:SẦM-SƠN "})
	if err != nil || len(ds) != 1 {
		t.Fatalf("List(tag) = %d, %v", len(ds), err)
	}
	if _, _, err := svc.List(ctx, displays.Filter{Limit: 501}); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Fatalf("List(limit 501) = %v", err)
	}
}
