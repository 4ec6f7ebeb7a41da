package alerts_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/alerts"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/sqlstore"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

func TestEvaluate(t *testing.T) {
	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	open := &alerts.Alert{ID: "alr_1"}
	tests := []struct {
		name string
		c    alerts.Candidate
		want alerts.Action
	}{
		{"fresh heartbeat", alerts.Candidate{Online: true, StatusAt: ago(30 * time.Second)}, alerts.Keep},
		{"heartbeat just at threshold", alerts.Candidate{Online: true, StatusAt: ago(5 * time.Minute)}, alerts.Keep},
		{"heartbeats stopped", alerts.Candidate{Online: true, StatusAt: ago(5*time.Minute + time.Second)}, alerts.Open},
		{"fresh Last Will (a blip so far)", alerts.Candidate{Online: false, StatusAt: ago(10 * time.Second)}, alerts.Keep},
		{"Last Will, no return", alerts.Candidate{Online: false, StatusAt: ago(6 * time.Minute)}, alerts.Open},
		{"own threshold shorter", alerts.Candidate{Online: false, StatusAt: ago(90 * time.Second), Threshold: time.Minute}, alerts.Open},
		{"own threshold longer", alerts.Candidate{Online: true, StatusAt: ago(10 * time.Minute), Threshold: time.Hour}, alerts.Keep},
		{"still silent, already open", alerts.Candidate{Online: true, StatusAt: ago(time.Hour), Open: open}, alerts.Keep},
		{"returned", alerts.Candidate{Online: true, StatusAt: ago(time.Second), Open: open}, alerts.Close},
		{"retained Last Will re-read, still open", alerts.Candidate{Online: false, StatusAt: ago(time.Second), Open: open}, alerts.Keep},
		{"display deleted", alerts.Candidate{Gone: true, Open: open}, alerts.Close},
	}
	for _, tt := range tests {
		if got := alerts.Evaluate(t0, tt.c, alerts.DefaultThreshold); got != tt.want {
			t.Errorf("%s: Evaluate=%v, want %v", tt.name, got, tt.want)
		}
	}
}

// fixture is a migrated SQLite store with the root organisation and two
// districts.
type fixture struct {
	t    *testing.T
	dsn  string
	db   *sqlstore.DB
	a, b *orgs.Organisation
	clk  *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, dsn: "sqlite://" + filepath.Join(t.TempDir(), "marquee.db"), clk: &clock{t: t0}}
	f.db = f.open()
	f.a = f.mustOrg("district a")
	f.b = f.mustOrg("district b")
	return f
}

func (f *fixture) open() *sqlstore.DB {
	f.t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, f.dsn)
	if err != nil {
		f.t.Fatalf("Open: %v", err)
	}
	f.t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		f.t.Fatalf("Migrate: %v", err)
	}
	return db
}

func (f *fixture) mustOrg(name string) *orgs.Organisation {
	f.t.Helper()
	o := &orgs.Organisation{Name: name, ParentID: auth.RootOrgID, CreatedAt: t0}
	if err := f.db.CreateOrganisation(context.Background(), o); err != nil {
		f.t.Fatalf("CreateOrganisation: %v", err)
	}
	return o
}

func (f *fixture) mustDisplay(name, org string) string {
	f.t.Helper()
	d := &displays.Display{
		ID: marquee.NewID("dsp_"), OrgID: org, Name: name, Width: 384, Height: 192,
		Timezone: "Asia/Ho_Chi_Minh", TokenHash: auth.HashToken(marquee.NewID("tok_")),
		CreatedAt: t0, UpdatedAt: t0,
	}
	if err := f.db.CreateDisplay(context.Background(), d); err != nil {
		f.t.Fatalf("CreateDisplay: %v", err)
	}
	return d.ID
}

// status stores a status of display id received at the clock's now.
func (f *fixture) status(id string, online bool) {
	f.t.Helper()
	now := f.clk.Now()
	st := &fleet.DisplayStatus{DisplayID: id, Online: online, UpdatedAt: now}
	if online {
		st.LastSeen = &now
	}
	if _, err := f.db.SaveDisplayStatus(context.Background(), st); err != nil {
		f.t.Fatalf("SaveDisplayStatus: %v", err)
	}
}

func (f *fixture) service() *alerts.Service {
	return alerts.New(alerts.Config{Store: f.db, Now: f.clk.Now})
}

func (f *fixture) check(s *alerts.Service) alerts.CheckResult {
	f.t.Helper()
	res, err := s.Check(context.Background())
	if err != nil {
		f.t.Fatalf("Check: %v", err)
	}
	return res
}

func (f *fixture) alerts(s *alerts.Service, filter alerts.Filter) []*alerts.Alert {
	f.t.Helper()
	as, _, err := s.FindAlerts(context.Background(), filter)
	if err != nil {
		f.t.Fatalf("FindAlerts: %v", err)
	}
	return as
}

func TestDetectorSilentOpensAndReturnCloses(t *testing.T) {
	f := newFixture(t)
	d := f.mustDisplay("Gate", f.a.ID)
	s := f.service()
	f.status(d, true)

	f.clk.Add(4 * time.Minute)
	if got := f.check(s); got.Opened != 0 {
		t.Fatalf("after 4 min: opened %d, want 0", got.Opened)
	}
	f.clk.Add(90 * time.Second)
	if got := f.check(s); got.Opened != 1 {
		t.Fatalf("after 5.5 min: opened %d, want 1", got.Opened)
	}
	// Restart: a new service over the same store opens nothing more.
	f.clk.Add(time.Minute)
	s2 := f.service()
	if got := f.check(s2); got.Opened != 0 {
		t.Fatalf("after restart: opened %d, want 0", got.Opened)
	}
	open := f.alerts(s2, alerts.Filter{State: "open"})
	if got, want := len(open), 1; got != want {
		t.Fatalf("open alerts=%d, want %d", got, want)
	}
	a := open[0]
	if a.DisplayID != d || a.DisplayName != "Gate" || a.LastSeen == nil || !a.LastSeen.Equal(t0) || a.ClosedAt != nil {
		t.Fatalf("open alert=%+v", a)
	}
	if got, want := a.Duration, int64(60); got != want {
		t.Fatalf("duration=%d, want %d", got, want)
	}

	f.clk.Add(time.Minute)
	f.status(d, true) // back
	if got := f.check(s2); got.Closed != 1 {
		t.Fatalf("after return: closed %d, want 1", got.Closed)
	}
	closed := f.alerts(s2, alerts.Filter{State: "closed", DisplayID: d})
	if len(closed) != 1 || closed[0].ClosedAt == nil || closed[0].Duration != 120 {
		t.Fatalf("closed alerts=%+v", closed)
	}
	if got := len(f.alerts(s2, alerts.Filter{State: "open"})); got != 0 {
		t.Fatalf("open alerts after return=%d, want 0", got)
	}
}

func TestDetectorLastWill(t *testing.T) {
	f := newFixture(t)
	d := f.mustDisplay("Square", f.a.ID)
	s := f.service()
	f.status(d, true)

	// A blip: Last Will, back 10 s later; checks around it open nothing.
	f.clk.Add(time.Minute)
	f.status(d, false)
	f.clk.Add(5 * time.Second)
	f.check(s)
	f.clk.Add(5 * time.Second)
	f.status(d, true)
	f.clk.Add(30 * time.Second)
	if got := f.check(s); got.Opened != 0 {
		t.Fatalf("blip: opened %d, want 0", got.Opened)
	}

	// A Last Will with no return within the threshold opens one.
	f.status(d, false)
	f.clk.Add(4*time.Minute + 59*time.Second)
	if got := f.check(s); got.Opened != 0 {
		t.Fatalf("4m59s after Last Will: opened %d, want 0", got.Opened)
	}
	f.clk.Add(2 * time.Second)
	if got := f.check(s); got.Opened != 1 {
		t.Fatalf("5m01s after Last Will: opened %d, want 1", got.Opened)
	}
}

func TestDetectorDisplayThreshold(t *testing.T) {
	f := newFixture(t)
	d := f.mustDisplay("Kiosk", f.a.ID)
	if _, err := f.db.SQL().Exec(`UPDATE displays SET offline_alert_after = 60 WHERE id = ?`, d); err != nil {
		t.Fatal(err)
	}
	s := f.service()
	f.status(d, true)
	f.clk.Add(61 * time.Second)
	if got := f.check(s); got.Opened != 1 {
		t.Fatalf("61 s with a 60 s threshold: opened %d, want 1", got.Opened)
	}
}

// receiver is a webhook endpoint that checks signatures and answers the
// statuses queued in fail first.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	fail   []int
	got    []alerts.Payload
	ids    []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if !alerts.Verify(r.secret, body, req.Header.Get(alerts.HeaderSignature)) {
		r.t.Errorf("bad signature %q", req.Header.Get(alerts.HeaderSignature))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if req.Header.Get(alerts.HeaderTimestamp) == "" {
		r.t.Errorf("no %s header", alerts.HeaderTimestamp)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, req.Header.Get(alerts.HeaderDelivery))
	if len(r.fail) > 0 {
		code := r.fail[0]
		r.fail = r.fail[1:]
		w.WriteHeader(code)
		return
	}
	var p alerts.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		r.t.Errorf("payload: %v", err)
	}
	r.got = append(r.got, p)
}

func (r *receiver) payloads() []alerts.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alerts.Payload(nil), r.got...)
}

func (f *fixture) mustWebhook(s *alerts.Service, ctx context.Context, url, secret, org string) {
	f.t.Helper()
	if err := s.CreateWebhook(ctx, &alerts.Webhook{URL: url, Secret: secret, OrgID: org}); err != nil {
		f.t.Fatalf("CreateWebhook: %v", err)
	}
}

func (f *fixture) flush(sender *alerts.Sender) int {
	f.t.Helper()
	n, err := sender.Flush(context.Background())
	if err != nil {
		f.t.Fatalf("Flush: %v", err)
	}
	return n
}

func TestWebhookSignedRetriedDelivered(t *testing.T) {
	f := newFixture(t)
	rcv := &receiver{t: t, secret: "s3cret", fail: []int{500, 500}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := f.service()
	f.mustWebhook(s, context.Background(), srv.URL, "s3cret", f.a.ID)
	d := f.mustDisplay("Gate", f.a.ID)
	f.status(d, true)
	f.clk.Add(6 * time.Minute)
	f.check(s)

	sender := &alerts.Sender{Store: f.db, Now: f.clk.Now, BaseDelay: time.Second}
	if got := f.flush(sender); got != 0 {
		t.Fatalf("first attempt (500): delivered %d", got)
	}
	if got := f.flush(sender); got != 0 {
		t.Fatalf("before the back-off ends: delivered %d", got)
	}
	f.clk.Add(time.Second)
	if got := f.flush(sender); got != 0 {
		t.Fatalf("second attempt (500): delivered %d", got)
	}
	f.clk.Add(time.Second) // back-off after the 2nd failure is 2 s
	if got := f.flush(sender); got != 0 {
		t.Fatalf("1 s into a 2 s back-off: delivered %d", got)
	}
	f.clk.Add(time.Second)
	if got := f.flush(sender); got != 1 {
		t.Fatalf("third attempt: delivered %d, want 1", got)
	}
	ps := rcv.payloads()
	if len(ps) != 1 || ps[0].Event != alerts.EventOpened {
		t.Fatalf("payloads=%+v", ps)
	}
	var a alerts.Alert
	if err := json.Unmarshal(ps[0].Alert, &a); err != nil || a.DisplayID != d {
		t.Fatalf("alert=%+v, %v", a, err)
	}
	// The idempotency ID is the same on every attempt.
	if len(rcv.ids) != 3 || rcv.ids[0] != rcv.ids[2] || rcv.ids[0] != ps[0].ID {
		t.Fatalf("delivery ids=%v, payload id %s", rcv.ids, ps[0].ID)
	}
	if got := f.flush(sender); got != 0 {
		t.Fatalf("after delivery: delivered %d again", got)
	}

	// The return is posted as alert.closed.
	f.status(d, true)
	f.check(s)
	if got := f.flush(sender); got != 1 {
		t.Fatalf("closed: delivered %d, want 1", got)
	}
	if ps := rcv.payloads(); len(ps) != 2 || ps[1].Event != alerts.EventClosed {
		t.Fatalf("payloads=%+v", ps)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	f := newFixture(t)
	rcv := &receiver{t: t, secret: "k", fail: []int{500, 500, 500, 500}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := f.service()
	f.mustWebhook(s, context.Background(), srv.URL, "k", f.a.ID)
	f.status(f.mustDisplay("Gate", f.a.ID), true)
	f.clk.Add(6 * time.Minute)
	f.check(s)
	sender := &alerts.Sender{Store: f.db, Now: f.clk.Now, MaxAttempts: 2}
	f.flush(sender)
	f.clk.Add(time.Hour)
	f.flush(sender)
	f.clk.Add(time.Hour)
	f.flush(sender)
	if got := len(rcv.ids); got != 2 {
		t.Fatalf("attempts=%d, want 2 (MaxAttempts)", got)
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	rcv := &receiver{t: t, secret: "k", fail: []int{503}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := f.service()
	f.mustWebhook(s, context.Background(), srv.URL, "k", f.a.ID)
	f.status(f.mustDisplay("Gate", f.a.ID), true)
	f.clk.Add(6 * time.Minute)
	f.check(s)
	if got := f.flush(&alerts.Sender{Store: f.db, Now: f.clk.Now}); got != 0 {
		t.Fatalf("delivered %d, want 0", got)
	}
	f.db.Close()

	// A new process: a new store handle and a new sender.
	f.db = f.open()
	f.clk.Add(time.Minute)
	if got := f.flush(&alerts.Sender{Store: f.db, Now: f.clk.Now}); got != 1 {
		t.Fatalf("after restart: delivered %d, want 1", got)
	}
	if got := len(rcv.payloads()); got != 1 {
		t.Fatalf("payloads=%d, want 1", got)
	}
}

func TestScopeByOrganisation(t *testing.T) {
	f := newFixture(t)
	rootRcv := &receiver{t: t, secret: "root"}
	aRcv := &receiver{t: t, secret: "a"}
	bRcv := &receiver{t: t, secret: "b"}
	for _, r := range []*receiver{rootRcv, aRcv, bRcv} {
		srv := httptest.NewServer(r)
		defer srv.Close()
		r.secret = r.secret + "-secret"
		switch r {
		case rootRcv:
			f.mustWebhook(f.service(), context.Background(), srv.URL, r.secret, auth.RootOrgID)
		case aRcv:
			f.mustWebhook(f.service(), asOrg(f.a.ID), srv.URL, r.secret, "")
		case bRcv:
			f.mustWebhook(f.service(), asOrg(f.b.ID), srv.URL, r.secret, "")
		}
	}
	s := f.service()
	// A district admin may not create a webhook for another district.
	if err := s.CreateWebhook(asOrg(f.a.ID), &alerts.Webhook{URL: "https://example.com/", OrgID: f.b.ID}); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Fatalf("webhook in another district: %v, want %s", err, marquee.EINVALID)
	}
	dA := f.mustDisplay("A", f.a.ID)
	f.status(dA, true)
	f.clk.Add(6 * time.Minute)
	f.check(s)
	if got := f.flush(&alerts.Sender{Store: f.db, Now: f.clk.Now}); got != 2 {
		t.Fatalf("delivered %d, want 2 (root and district a)", got)
	}
	if len(rootRcv.payloads()) != 1 || len(aRcv.payloads()) != 1 || len(bRcv.payloads()) != 0 {
		t.Fatalf("root %d, a %d, b %d payloads; want 1, 1, 0", len(rootRcv.payloads()), len(aRcv.payloads()), len(bRcv.payloads()))
	}

	count := func(ctx context.Context) int {
		as, _, err := s.FindAlerts(ctx, alerts.Filter{})
		if err != nil {
			t.Fatalf("FindAlerts: %v", err)
		}
		return len(as)
	}
	if got := count(asOrg(f.a.ID)); got != 1 {
		t.Fatalf("district a sees %d alerts, want 1", got)
	}
	if got := count(asOrg(f.b.ID)); got != 0 {
		t.Fatalf("district b sees %d alerts, want 0", got)
	}
	if got := count(context.Background()); got != 1 {
		t.Fatalf("root sees %d alerts, want 1", got)
	}

	ws, err := s.FindWebhooks(asOrg(f.b.ID))
	if err != nil || len(ws) != 1 || ws[0].Secret != "" || ws[0].OrgID != f.b.ID {
		t.Fatalf("district b's webhooks=%+v, %v", ws, err)
	}
	all, _ := s.FindWebhooks(context.Background())
	var aID string
	for _, w := range all {
		if w.OrgID == f.a.ID {
			aID = w.ID
		}
	}
	if err := s.DeleteWebhook(asOrg(f.b.ID), aID); marquee.ErrorCode(err) != marquee.ENOTFOUND {
		t.Fatalf("district b deleting a's webhook: %v, want %s", err, marquee.ENOTFOUND)
	}
	if err := s.DeleteWebhook(asOrg(f.a.ID), aID); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
}

func TestCreateWebhookValidates(t *testing.T) {
	f := newFixture(t)
	s := f.service()
	for _, u := range []string{"", "ftp://example.com/x", "file:///etc/passwd", "/relative", "https://user:pw@example.com/", "gopher://x"} {
		if err := s.CreateWebhook(context.Background(), &alerts.Webhook{URL: u}); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("url %q: %v, want %s", u, err, marquee.EINVALID)
		}
	}
	if err := s.CreateWebhook(context.Background(), &alerts.Webhook{URL: "https://example.com/", Events: []string{"alert.exploded"}}); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Errorf("bad event: %v", err)
	}
	w := &alerts.Webhook{URL: "https://example.com/hook"}
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if len(w.Secret) != 64 || len(w.Events) != 2 || w.OrgID != auth.RootOrgID {
		t.Fatalf("webhook=%+v: want a generated secret, both events, the root organisation", w)
	}
}

func asOrg(id string) context.Context {
	return auth.NewContext(context.Background(), auth.Actor{Scope: auth.NewScope(id, nil)})
}

func TestBackoff(t *testing.T) {
	s := &alerts.Sender{BaseDelay: time.Second, MaxDelay: time.Minute}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 30: time.Minute} {
		if got := s.Backoff(n); got != want {
			t.Errorf("Backoff(%d)=%v, want %v", n, got, want)
		}
	}
}

func TestDetectorIgnoresServerDowntime(t *testing.T) {
	f := newFixture(t)
	d := f.mustDisplay("Gate", f.a.ID)
	f.status(d, true)
	// The server was down for an hour; it restarts and the display's
	// heartbeats resume within the threshold.
	f.clk.Add(time.Hour)
	det := &alerts.Detector{Store: f.db, Now: f.clk.Now, Started: f.clk.Now()}
	f.clk.Add(30 * time.Second)
	if res, err := det.Check(context.Background()); err != nil || res.Opened != 0 {
		t.Fatalf("30 s after start: %+v, %v; want nothing opened", res, err)
	}
	// A display that stays silent is reported once the threshold has
	// passed since the start.
	f.clk.Add(5 * time.Minute)
	if res, err := det.Check(context.Background()); err != nil || res.Opened != 1 {
		t.Fatalf("5.5 min after start: %+v, %v; want 1 opened", res, err)
	}
}

func TestDetectorClosesAlertOfDeletedDisplay(t *testing.T) {
	f := newFixture(t)
	d := f.mustDisplay("Gate", f.a.ID)
	s := f.service()
	f.status(d, true)
	f.clk.Add(6 * time.Minute)
	f.check(s)
	if err := f.db.DeleteDisplay(context.Background(), d); err != nil {
		t.Fatalf("DeleteDisplay: %v", err)
	}
	if got := f.check(s); got.Closed != 1 {
		t.Fatalf("closed %d, want 1", got.Closed)
	}
	as := f.alerts(s, alerts.Filter{DisplayID: d})
	if len(as) != 1 || as[0].ClosedAt == nil || as[0].DisplayName != "Gate" {
		t.Fatalf("alerts=%+v", as)
	}
}

func TestServiceLoops(t *testing.T) {
	f := newFixture(t)
	rcv := &receiver{t: t, secret: "k"}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := alerts.New(alerts.Config{Store: f.db, Now: f.clk.Now, CheckEvery: 10 * time.Millisecond, SendEvery: 10 * time.Millisecond})
	f.mustWebhook(s, context.Background(), srv.URL, "k", "")
	f.status(f.mustDisplay("Gate", f.a.ID), true)
	s.Start(context.Background())
	f.clk.Add(6 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for len(rcv.payloads()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if ps := rcv.payloads(); len(ps) != 1 || ps[0].Event != alerts.EventOpened {
		t.Fatalf("payloads=%+v", ps)
	}
}

// TestPruneOutbox: delivered deliveries leave the outbox after
// KeepDelivered, given-up ones after KeepFailed; pending ones stay.
func TestPruneOutbox(t *testing.T) {
	f := newFixture(t)
	ok := &receiver{t: t, secret: "ok"}
	bad := &receiver{t: t, secret: "bad", fail: []int{500, 500, 500}}
	for _, r := range []*receiver{ok, bad} {
		srv := httptest.NewServer(r)
		defer srv.Close()
		f.mustWebhook(f.service(), context.Background(), srv.URL, r.secret, f.a.ID)
	}
	s := f.service()
	d := f.mustDisplay("Gate", f.a.ID)
	f.status(d, true)
	f.clk.Add(6 * time.Minute)
	f.check(s)
	if got := f.flush(&alerts.Sender{Store: f.db, Now: f.clk.Now, MaxAttempts: 1}); got != 1 {
		t.Fatalf("delivered %d, want 1 (the other given up)", got)
	}
	states := func() map[string]int {
		t.Helper()
		rows, err := f.db.SQL().Query(`SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var st string
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				t.Fatal(err)
			}
			out[st] = n
		}
		return out
	}
	prune := func(want int64) {
		t.Helper()
		if n, err := s.Prune(context.Background()); err != nil || n != want {
			t.Fatalf("Prune = %d, %v; want %d", n, err, want)
		}
	}
	if got := states(); got["delivered"] != 1 || got["failed"] != 1 {
		t.Fatalf("outbox = %v, want one delivered and one failed", got)
	}
	prune(0)
	f.clk.Add(alerts.KeepDelivered + time.Minute)
	prune(1)
	if got := states(); got["delivered"] != 0 || got["failed"] != 1 {
		t.Fatalf("after %s: outbox = %v, want the failed one only", alerts.KeepDelivered, got)
	}
	// The display returns: two closing deliveries wait, never pruned.
	f.status(d, true)
	f.check(s)
	f.clk.Add(alerts.KeepFailed)
	prune(1)
	f.clk.Add(alerts.KeepFailed)
	prune(0)
	if got := states(); got["pending"] != 2 || len(got) != 1 {
		t.Fatalf("outbox = %v, want the two pending deliveries only", got)
	}
}
