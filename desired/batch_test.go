package desired_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

// side is one database with its services and a builder over it.
type side struct {
	db        *sqlstore.DB
	store     desired.Store // what builder reads
	builder   *desired.Builder
	playlists *playlists.Service
	displays  *displays.Service
	schedules *schedules.Service
}

// twin copies f's database to a second file and returns f's side and the
// copy's, whose builder reads its store through wrap. Both share f's clock
// and media library (the copy holds the same media rows).
func (f *fixture) twin(wrap func(*sqlstore.DB) desired.Store) (orig, cp *side) {
	f.t.Helper()
	clock := func() time.Time { return f.now }
	path := filepath.Join(f.t.TempDir(), "copy.db")
	if _, err := f.db.SQL().ExecContext(f.ctx, `VACUUM INTO ?`, path); err != nil {
		f.t.Fatal(err)
	}
	db, err := sqlstore.Open(f.ctx, "sqlite://"+path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { db.Close() })
	orig = &side{db: f.db, store: f.db, builder: f.builder, playlists: f.playlists, displays: f.displays, schedules: f.schedules}
	cp = &side{db: db, store: wrap(db)}
	*cp = side{db: db, store: cp.store,
		builder:   desired.NewBuilder(cp.store, f.lib, admin.URLs{}, desired.Config{Now: clock}),
		playlists: playlists.NewService(db, db, playlists.Config{Now: clock}),
		displays:  displays.NewService(db, displays.Config{Now: clock}),
		schedules: schedules.NewService(db, schedules.Config{Now: clock}),
	}
	return orig, cp
}

// stores are the ways a Batch may find its store: sqlstore as it is (it
// finds displays and schedules in bulk), a store with no bulk method (every
// fallback), and one with every bulk method.
var stores = []struct {
	name string
	wrap func(*sqlstore.DB) desired.Store
}{
	{"sqlstore", func(db *sqlstore.DB) desired.Store { return db }},
	{"one-display methods only", func(db *sqlstore.DB) desired.Store { return plainStore{db} }},
	{"every bulk method", func(db *sqlstore.DB) desired.Store { return &bulkStore{DB: db} }},
}

// plainStore hides every optional method of the store.
type plainStore struct{ desired.Store }

// bulkStore gives sqlstore every bulk method of desired (one call per
// display underneath: what matters here is the Batch's side), and counts
// their calls.
type bulkStore struct {
	*sqlstore.DB
	mu                     sync.Mutex
	reaching, finds, saves int
}

func (s *bulkStore) FindLiveSchedulesReaching(ctx context.Context, ids []string) (map[string][]*schedules.Schedule, error) {
	s.mu.Lock()
	s.reaching++
	s.mu.Unlock()
	out := map[string][]*schedules.Schedule{}
	for _, id := range ids {
		scs, err := s.DB.FindLiveSchedulesForDisplay(ctx, id)
		if marquee.ErrorCode(err) == marquee.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if len(scs) > 0 {
			out[id] = scs
		}
	}
	return out, nil
}

func (s *bulkStore) FindDisplayStates(ctx context.Context, ids []string) (map[string]*desired.Stored, error) {
	s.mu.Lock()
	s.finds++
	s.mu.Unlock()
	out := map[string]*desired.Stored{}
	for _, id := range ids {
		st, err := s.DB.FindDisplayState(ctx, id)
		if marquee.ErrorCode(err) == marquee.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, nil
}

func (s *bulkStore) SaveDisplayStates(ctx context.Context, saves []desired.StateSave) ([]error, error) {
	s.mu.Lock()
	s.saves++
	s.mu.Unlock()
	errs := make([]error, len(saves))
	for i, sv := range saves {
		errs[i] = s.DB.SaveDisplayState(ctx, sv.State, sv.PrevRevision)
	}
	return errs, nil
}

// fleetFixture makes a mixed fleet: three screen sizes, several tags, three
// timezones, with and without fallbacks, reached by tag and by ID, by
// expiring, expired and open-ended rules, over images (two with the same
// bytes), a video and items with validity dates. It returns the display
// IDs and the playlists and schedules the mutations of the tests edit.
func fleetFixture(f *fixture) (ids []string, pl, fb *playlists.Playlist, byTag *schedules.Schedule, red, blue *media.Item) {
	f.t.Helper()
	red = f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	blue = f.png("Xanh", color.NRGBA{B: 255, A: 255}, 64, 32)
	twin := f.png("Đỏ bản sao", color.NRGBA{R: 255, A: 255}, 64, 32) // red's bytes: one asset
	clip := f.video()
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	pl = f.playlist("Chiến dịch", playlists.Item{MediaID: red.ID, Fit: "fit"}, playlists.Item{MediaID: clip.ID},
		playlists.Item{MediaID: twin.ID, Fit: "stretch", ValidFrom: &from, ValidUntil: &until})
	fb = f.playlist("Mặc định", playlists.Item{MediaID: blue.ID}, playlists.Item{MediaID: twin.ID})
	other := f.playlist("Chợ", playlists.Item{MediaID: twin.ID, DurationMS: 7000}, playlists.Item{MediaID: red.ID})

	sizes := [][2]int{{192, 96}, {384, 192}, {96, 48}}
	zones := []string{"", "Asia/Ho_Chi_Minh", "Europe/Berlin"}
	tagSets := [][]string{{"airport"}, {"market"}, {"airport", "market"}, nil}
	for i := range 24 {
		in := displays.Input{OrgID: "org_root", Name: fmt.Sprintf("Màn hình %d", i),
			Width: sizes[i%3][0], Height: sizes[i%3][1], Timezone: zones[i%len(zones)], Tags: tagSets[i%len(tagSets)]}
		if i%5 == 0 {
			in.FallbackPlaylistID = fb.ID
		}
		d, _, err := f.displays.Create(f.ctx, in)
		if err != nil {
			f.t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	byTag = f.schedule(schedules.Input{Name: "Sân bay", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"airport"}},
		Cron: "0 7 * * 1-5", Duration: 10 * time.Hour, StartsOn: "2025-06-05", EndsOn: "2025-12-31", Priority: marquee.LayerCampaign})
	f.schedule(schedules.Input{Name: "Chợ tháng 6", PlaylistID: other.ID, Targets: schedules.Targets{Tags: []string{"market"}},
		Cron: "0 22 * * *", Duration: 4 * time.Hour, StartsOn: "2025-06-01", EndsOn: "2025-06-30", Timezone: "Europe/Berlin"})
	f.schedule(schedules.Input{Name: "Đã hết", PlaylistID: other.ID, Targets: schedules.Targets{Tags: []string{"airport", "market"}},
		StartsOn: "2025-01-01", EndsOn: "2025-02-01"}) // expired: in no state
	f.schedule(schedules.Input{Name: "Khẩn", PlaylistID: fb.ID, Targets: schedules.Targets{DisplayIDs: []string{ids[3], ids[7], ids[20]}},
		Cron: "30 12 * * *", Duration: 15 * time.Minute, Priority: marquee.LayerEmergency})
	return ids, pl, fb, byTag, red, blue
}

// TestStatesMatchState: for a mixed fleet, building every display in a
// batch gives exactly what building them one by one gives — the state
// JSON, whether it changed, and the stored row and index — on the first
// build, after each kind of change, and when nothing changed; and the
// revisions move only on a real change. Both build from approved versions
// only: an edit of a playlist or a schedule changes no state until it is
// approved, a schedule never approved none at all, and an approval pins
// the playlist revision that plays (as setting a display's fallback pins
// the fallback's).
func TestStatesMatchState(t *testing.T) {
	for _, store := range stores {
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ids, pl, fb, byTag, red, blue := fleetFixture(f)
			one, batch := f.twin(store.wrap)

			compare := func(step string, wantChanged int) {
				t.Helper()
				// A shuffled order with a repeat: results follow ids.
				order := append(slices.Clone(ids[12:]), ids[:12]...)
				order = append(order, ids[5])
				res := batch.builder.States(f.ctx, order)
				if len(res) != len(order) {
					t.Fatalf("%s: %d results for %d displays", step, len(res), len(order))
				}
				changed := 0
				for i, id := range order[:len(ids)] {
					r := res[i]
					st, ch, err := one.builder.State(f.ctx, id)
					if err != nil || r.Err != nil {
						t.Fatalf("%s: %s: one by one %v, batch %v", step, id, err, r.Err)
					}
					if r.DisplayID != id {
						t.Fatalf("%s: result %d is for %s, want %s", step, i, r.DisplayID, id)
					}
					want, got := mustJSON(t, st), mustJSON(t, r.State)
					if !bytes.Equal(want, got) {
						t.Fatalf("%s: %s: batch state differs from the one-by-one state:\n%s", step, id, cmp.Diff(string(want), string(got)))
					}
					if ch != r.Changed {
						t.Fatalf("%s: %s: changed %v one by one, %v in the batch", step, id, ch, r.Changed)
					}
					if r.JSON != nil && !bytes.Equal(r.JSON, got) {
						t.Fatalf("%s: %s: Result.JSON is not the state's JSON", step, id)
					}
					if r.Changed && r.JSON == nil {
						t.Fatalf("%s: %s: changed without JSON", step, id)
					}
					if r.Changed {
						changed++
					}
					sameStored(t, step, one.db, batch.db, id)
				}
				if res[len(ids)].State != res[slices.Index(order, ids[5])].State {
					t.Fatalf("%s: the repeated display has two results", step)
				}
				if changed != wantChanged {
					t.Fatalf("%s: %d states changed, want %d", step, changed, wantChanged)
				}
			}
			both := func(fn func(s *side)) { fn(one); fn(batch) }

			compare("first build", len(ids))
			compare("nothing changed", 0)

			editor, approver := as(f.ctx, "usr_editor", auth.RoleEditor), as(f.ctx, "usr_approver", auth.RoleApprover)
			approve := func(s *side, id string) {
				t.Helper()
				if _, err := s.schedules.Submit(editor, id); err != nil {
					t.Fatalf("submit: %v", err)
				}
				if _, err := s.schedules.Approve(approver, id); err != nil {
					t.Fatalf("approve: %v", err)
				}
			}
			both(func(s *side) {
				if _, err := s.playlists.Update(f.ctx, pl.ID, playlists.Input{Name: "Chiến dịch 2", Items: []playlists.Item{
					{MediaID: blue.ID, Fit: "fill"}, {MediaID: red.ID, DurationMS: 3000}}}); err != nil {
					t.Fatal(err)
				}
			})
			compare("playlist edited: the approved revision keeps playing", 0)
			both(func(s *side) { approve(s, byTag.ID) })
			compare("schedule approved again with the playlist's new revision", 12) // the airport displays
			both(func(s *side) {
				if _, _, err := s.schedules.Update(editor, byTag.ID, schedules.Input{Name: "Sân bay", PlaylistID: fb.ID,
					Targets: schedules.Targets{Tags: []string{"market"}}}); err != nil {
					t.Fatal(err)
				}
			})
			compare("schedule retargeted by an editor: the approved version keeps playing", 0)
			drafts := map[*side]string{} // each side makes its own ID
			both(func(s *side) {
				sc, _, err := s.schedules.Create(editor, schedules.Input{OrgID: "org_root", Name: "Nháp", PlaylistID: pl.ID,
					Targets: schedules.Targets{Tags: []string{"airport", "market"}}, Priority: marquee.LayerEmergency})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.schedules.Submit(editor, sc.ID); err != nil {
					t.Fatal(err)
				}
				drafts[s] = sc.ID
			})
			compare("a new schedule, pending approval", 0)
			both(func(s *side) { approve(s, byTag.ID) })
			compare("schedule retargeted from the airport to the market, approved", 18)
			both(func(s *side) {
				if _, err := s.schedules.Reject(approver, drafts[s], "not now"); err != nil {
					t.Fatal(err)
				}
			})
			compare("the new schedule rejected", 0)
			both(func(s *side) {
				if _, err := s.db.UpdateMedia(f.ctx, blue.ID, media.Update{Name: ptr("Xanh dương")}, f.now); err != nil {
					t.Fatal(err)
				}
			})
			compare("media renamed", 17) // in the fallback playlist: the market, fallback and emergency displays
			both(func(s *side) {
				if _, err := s.displays.Update(f.ctx, ids[1], displays.Input{Name: "To hơn", Width: 384, Height: 192,
					Timezone: "Asia/Tokyo", Tags: []string{"airport"}}); err != nil {
					t.Fatal(err)
				}
			})
			compare("display resized, rezoned and retagged", 1)
			both(func(s *side) {
				if _, err := s.playlists.Update(f.ctx, fb.ID, playlists.Input{Name: "Mặc định 2", Items: []playlists.Item{
					{MediaID: red.ID}}}); err != nil {
					t.Fatal(err)
				}
			})
			compare("fallback playlist edited: the pinned revision keeps playing", 0)
			both(func(s *side) {
				if _, err := s.displays.Update(f.ctx, ids[0], displays.Input{Name: "Màn hình 0", Width: 192, Height: 96,
					Tags: []string{"airport"}, FallbackPlaylistID: fb.ID}); err != nil {
					t.Fatal(err)
				}
			})
			compare("fallback set again: the playlist's new revision pinned", 1)
			f.now = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC) // the June market rule has expired
			compare("a rule expired", 11)                       // the market displays (one was retagged)
			compare("nothing changed again", 0)
			if bs, ok := batch.store.(*bulkStore); ok && (bs.reaching == 0 || bs.finds == 0 || bs.saves == 0) {
				t.Fatalf("the bulk methods were not used: %d reaching, %d finds, %d saves", bs.reaching, bs.finds, bs.saves)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameStored fails unless the display's stored state and index are the same
// in both databases (but for the time they were saved).
func sameStored(t *testing.T, step string, a, b *sqlstore.DB, id string) {
	t.Helper()
	ctx := context.Background()
	sa, err := a.FindDisplayState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.FindDisplayState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Revision != sb.Revision || sa.Hash != sb.Hash || !bytes.Equal(sa.JSON, sb.JSON) ||
		!sa.NextPruneAt.Equal(sb.NextPruneAt) || sa.IndexVersion != sb.IndexVersion {
		t.Fatalf("%s: %s: stored states differ: one by one revision %d next prune %v, batch revision %d next prune %v",
			step, id, sa.Revision, sa.NextPruneAt, sb.Revision, sb.NextPruneAt)
	}
	if ra, rb := refs(t, a, id), refs(t, b, id); !cmp.Equal(ra, rb) {
		t.Fatalf("%s: %s: stored references differ (-one by one +batch):\n%s", step, id, cmp.Diff(ra, rb))
	}
}

func refs(t *testing.T, db *sqlstore.DB, id string) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT ref_id FROM display_state_refs WHERE display_id = ? ORDER BY ref_id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestBatchNeverStoresOlderContent: a display saved by another build after
// the batch loaded a playlist is built afresh, so the batch neither goes
// back to the older playlist revision nor bumps the revision.
func TestBatchNeverStoresOlderContent(t *testing.T) {
	f := newFixture(t)
	red := f.png("Đỏ", color.NRGBA{R: 255, A: 255}, 64, 32)
	pl := f.playlist("A", playlists.Item{MediaID: red.ID})
	a := f.display("A", 192, 96, "x")
	b := f.display("B", 192, 96, "x")
	sc := f.schedule(schedules.Input{Name: "S", PlaylistID: pl.ID, Targets: schedules.Targets{Tags: []string{"x"}}})

	batch := f.builder.NewBatch()
	if r := batch.States(f.ctx, []string{a.ID}); r[0].Err != nil || r[0].State.Playlists[0].Revision != 1 {
		t.Fatalf("first: %+v", r[0])
	}
	// The playlist changes and is approved; a player fetches b's state
	// meanwhile.
	if _, err := f.playlists.Update(f.ctx, pl.ID, playlists.Input{Name: "A2", Items: []playlists.Item{{MediaID: red.ID, DurationMS: 4000}}}); err != nil {
		t.Fatal(err)
	}
	reapprove(t, f.ctx, f.schedules, sc.ID)
	fresh, changed := f.state(b.ID)
	if !changed || fresh.Playlists[0].Revision != 2 {
		t.Fatalf("b fetched: playlist revision %d changed=%v", fresh.Playlists[0].Revision, changed)
	}
	r := batch.States(f.ctx, []string{b.ID})[0]
	if r.Err != nil || r.Changed || r.State.Revision != fresh.Revision || r.State.Playlists[0].Revision != 2 {
		t.Fatalf("batch after b was saved: err %v changed %v revision %d playlist revision %d; want %d, playlist 2, unchanged",
			r.Err, r.Changed, r.State.Revision, r.State.Playlists[0].Revision, fresh.Revision)
	}
	// A new batch sees the new revision for every display.
	if r := f.builder.States(f.ctx, []string{a.ID})[0]; r.Err != nil || !r.Changed || r.State.Playlists[0].Revision != 2 {
		t.Fatalf("a in a new batch: %+v", r)
	}

	// The same through another Builder (another server on the database),
	// whose saves this Builder sees by their time only.
	c := f.display("C", 192, 96, "x")
	batch = f.builder.NewBatch()
	if r := batch.States(f.ctx, []string{a.ID}); r[0].Err != nil || r[0].State.Playlists[0].Revision != 2 {
		t.Fatalf("again: %+v", r[0])
	}
	if _, err := f.playlists.Update(f.ctx, pl.ID, playlists.Input{Name: "A3", Items: []playlists.Item{{MediaID: red.ID, DurationMS: 5000}}}); err != nil {
		t.Fatal(err)
	}
	reapprove(t, f.ctx, f.schedules, sc.ID)
	f.now = f.now.Add(time.Second)
	other := desired.NewBuilder(f.db, f.lib, admin.URLs{}, desired.Config{Now: func() time.Time { return f.now }})
	fresh, _, err := other.State(f.ctx, c.ID)
	if err != nil || fresh.Playlists[0].Revision != 3 {
		t.Fatalf("c through the other builder: %v, %v", fresh, err)
	}
	r = batch.States(f.ctx, []string{c.ID})[0]
	if r.Err != nil || r.Changed || r.State.Revision != fresh.Revision || r.State.Playlists[0].Revision != 3 {
		t.Fatalf("batch after another builder saved c: err %v changed %v revision %d playlist revision %d; want %d, playlist 3, unchanged",
			r.Err, r.Changed, r.State.Revision, r.State.Playlists[0].Revision, fresh.Revision)
	}
}

// TestStatesFailuresStayPerDisplay: a display that does not exist fails on
// its own, as State fails for it; the others build. A cancelled context
// fails them all.
func TestStatesFailuresStayPerDisplay(t *testing.T) {
	for _, store := range stores {
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ids, _, _, _, _, _ := fleetFixture(f)
			_, s := f.twin(store.wrap)
			if err := s.displays.Delete(f.ctx, ids[2]); err != nil {
				t.Fatal(err)
			}
			res := s.builder.States(f.ctx, []string{ids[0], ids[2], "dsp_nosuch", ids[3]})
			for i, r := range res {
				notFound := i == 1 || i == 2
				if notFound != (marquee.ErrorCode(r.Err) == marquee.ENOTFOUND) || notFound != (r.State == nil) {
					t.Fatalf("result %d (%s): state %v err %v", i, r.DisplayID, r.State != nil, r.Err)
				}
				if _, _, err := s.builder.State(f.ctx, r.DisplayID); marquee.ErrorCode(err) != marquee.ErrorCode(r.Err) {
					t.Fatalf("%s: State says %v, the batch %v", r.DisplayID, err, r.Err)
				}
			}
			ctx, cancel := context.WithCancel(f.ctx)
			cancel()
			for _, r := range s.builder.States(ctx, ids[:3]) {
				if r.Err == nil {
					t.Fatalf("%s built with a cancelled context", r.DisplayID)
				}
			}
		})
	}
}

// TestStatesReindexKeepsRevision: as State, a batch records the index of a
// state stored before it existed, keeping its revision.
func TestStatesReindexKeepsRevision(t *testing.T) {
	f := newFixture(t)
	ids, pl, _, _, _, _ := fleetFixture(f)
	first := f.builder.States(f.ctx, ids)
	if _, err := f.db.SQL().Exec(`DELETE FROM display_state_refs`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SQL().Exec(`UPDATE display_states SET index_version = 0`); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.builder.States(f.ctx, ids) {
		if r.Err != nil || r.Changed || r.State.Revision != first[i].State.Revision {
			t.Fatalf("%s: err %v changed %v revision %d, want %d", r.DisplayID, r.Err, r.Changed, r.State.Revision, first[i].State.Revision)
		}
		if st, err := f.db.FindDisplayState(f.ctx, r.DisplayID); err != nil || st.IndexVersion != desired.IndexVersion {
			t.Fatalf("%s: index version %v (%v)", r.DisplayID, st, err)
		}
	}
	got, err := f.db.FindDisplaysReferencing(f.ctx, pl.ID)
	if err != nil || len(got) != 12 {
		t.Fatalf("after re-index, %d displays reference the airport playlist (%v), want 12", len(got), err)
	}
}

// TestStatesConcurrent: batches and one-display builds of overlapping
// displays at once neither deadlock nor conflict, and a display's revision
// moves once per change.
func TestStatesConcurrent(t *testing.T) {
	f := newFixture(t)
	ids, pl, _, byTag, red, _ := fleetFixture(f)
	f.builder.States(f.ctx, ids)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for round := range 3 {
		if _, err := f.playlists.Update(f.ctx, pl.ID, playlists.Input{Name: "A", Items: []playlists.Item{{MediaID: red.ID, DurationMS: int64(1000 + round)}}}); err != nil {
			t.Fatal(err)
		}
		reapprove(t, f.ctx, f.schedules, byTag.ID)
		for g := range 4 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				order := slices.Clone(ids)
				if g%2 == 1 {
					slices.Reverse(order)
				}
				for _, r := range f.builder.States(f.ctx, order) {
					if r.Err != nil {
						errs <- r.Err
					}
				}
			}()
			go func() {
				defer wg.Done()
				for _, id := range ids[g*6 : g*6+6] {
					if _, _, err := f.builder.State(f.ctx, id); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The airport displays changed three times after their first build.
	for _, r := range f.builder.States(f.ctx, ids) {
		want := int64(1)
		for _, p := range r.State.Playlists {
			if p.PlaylistID == pl.ID {
				want = 4
			}
		}
		if r.Err != nil || r.Changed || r.State.Revision != want {
			t.Fatalf("%s: err %v changed %v revision %d, want %d", r.DisplayID, r.Err, r.Changed, r.State.Revision, want)
		}
	}
}
