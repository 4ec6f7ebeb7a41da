package loadtest_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/internal/loadtest"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

const adminPassword = "bench-test-admin-password-1234"

type displayAuth struct{ s *displays.Service }

func (a displayAuth) AuthenticateDisplay(ctx context.Context, id, token string) error {
	_, err := a.s.Authenticate(ctx, id, token)
	return err
}

// startServer wires a real server as `marquee serve` does — SQLite, media
// library, embedded broker, fleet service, admin API — on loopback ports,
// and returns its description for loadtest.Run. (cmd/marquee's Main cannot
// be imported; its own test runs the bench against it.)
func startServer(t *testing.T) loadtest.Server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	authSvc := auth.NewService(db, auth.Config{})
	if _, _, err := authSvc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	lib, err := media.NewLibrary(db, media.Config{Dir: filepath.Join(dir, "media"), FFprobePath: "-", FFmpegPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close(context.Background()) })
	ds := displays.NewService(db, displays.Config{})
	states := desired.NewBuilder(db, lib, admin.URLs{}, desired.Config{})

	const serverPassword = "bench-test-server-password"
	b, err := broker.New(broker.Config{TCPAddr: "127.0.0.1:0", Displays: displayAuth{ds}, ServerPassword: serverPassword})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	fl, err := fleet.New(fleet.Config{
		Store: db, States: states, Auth: authSvc,
		MQTT: mqtt.Config{BrokerURL: "tcp://" + b.Addr(), ClientID: "marquee-server-test", Username: broker.DefaultServerUsername,
			Password: serverPassword, CleanSession: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fl.Close(ctx)
	})
	srv, err := admin.NewServer(admin.Config{
		Library: lib, Auth: authSvc, Displays: ds, States: states, Changes: fl, Players: db,
		Orgs:      orgs.NewService(db, orgs.Config{}),
		Playlists: playlists.NewService(db, db, playlists.Config{}),
		Schedules: schedules.NewService(db, schedules.Config{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return loadtest.Server{
		URL: hs.URL, BrokerURL: "tcp://" + b.Addr(), Username: "admin", Password: adminPassword, InProcess: true,
		Stats: func() loadtest.ServerStats {
			fs, bs := fl.Stats(), b.Stats()
			return loadtest.ServerStats{PlayBatches: fs.Plays.Batches, PlaysStored: fs.Plays.Stored, Statuses: fs.Status.Received,
				BrokerClients: bs.ClientsConnected, BrokerDropped: bs.MessagesDropped, Retained: bs.Retained}
		},
	}
}
