package fleet

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// What displays publish is outside input: the parsers must never panic,
// must refuse with EINVALID or ETOOLARGE, and what they accept must pass
// the same checks again (they are idempotent) and survive a round trip
// through the wire format unchanged.

const fuzzDisplay = "dsp_fuzz"

// fuzzNow is the server's clock in the fuzz targets.
var fuzzNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fuzzService is a Service with what the parsers use: topics, a clock, a
// logger and (zero) counters.
func fuzzService() *Service {
	return &Service{
		topics: mqtt.Topics{Prefix: "test/v1"},
		now:    func() time.Time { return fuzzNow },
		logger: slog.New(slog.DiscardHandler),
	}
}

// wantRefusal checks the error of a parser that refused its input.
func wantRefusal(t *testing.T, err error) {
	t.Helper()
	if code := marquee.ErrorCode(err); code != marquee.EINVALID && code != marquee.ETOOLARGE {
		t.Fatalf("refused with code %q: %v", code, err)
	}
}

// validText is what the store can keep in a text column on every dialect.
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func FuzzParsePlays(f *testing.F) {
	play := `{"seq":%d,"id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","display_id":"dsp_fuzz","media_id":"med_1","media_sha256":"ABCDEF",` +
		`"media_name":"Lễ hội","playlist_id":"pls_1","playlist_revision":3,"schedule_id":"sch_1","reason":"schedule",` +
		`"started_at":"2025-06-01T10:00:00.123456+07:00","ended_at":"2025-06-01T10:00:08.2Z","planned_ms":8000,"played_ms":7600,"completed":false}`
	for _, s := range []string{
		`{"format":1,"display_id":"dsp_fuzz","plays":[` + strings.Replace(play, "%d", "7", 1) + `,` + strings.Replace(play, "%d", "8", 1) + `]}`,
		`{"format":1,"display_id":"dsp_fuzz","plays":[{"seq":3,"id":"not-a-uuid"}]}`,
		`{"format":1,"display_id":"dsp_fuzz","plays":[]}`,
		`{"format":1,"display_id":"dsp_other","plays":[]}`,
		`{"format":2,"display_id":"dsp_fuzz"}`,
		`{"format":1,"display_id":"dsp_fuzz","plays":[{"seq":18446744073709551615,"id":"0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B","display_id":"dsp_fuzz","media_id":"m","media_sha256":"h","reason":"idle","started_at":"2019-12-31T23:59:59Z","ended_at":"2019-12-31T23:59:59Z"}]}`,
		`{"format":1,"display_id":"dsp_fuzz","plays":[{"seq":1,"id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","display_id":"dsp_fuzz","media_id":"m\u0000","media_sha256":"h","reason":"fallback","started_at":"2025-06-01T10:00:00Z","ended_at":"2025-06-01T09:00:00Z","planned_ms":-1}]}`,
		`[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		s := fuzzService()
		topic := s.topics.Plays(fuzzDisplay)
		u, err := s.parsePlays(mqtt.Message{Topic: topic, Payload: payload})
		if err != nil {
			if u != nil {
				t.Fatalf("refused, yet returned a unit: %v", err)
			}
			wantRefusal(t, err)
			return
		}
		if u == nil {
			return // an empty batch
		}
		if u.displayID != fuzzDisplay || u.minSeq > u.maxSeq || (u.minSeq == 0) != (u.maxSeq == 0) {
			t.Fatalf("unit of %q with sequences %d..%d", u.displayID, u.minSeq, u.maxSeq)
		}
		for _, p := range u.plays {
			again := p
			if err := checkPlay(&again, fuzzDisplay, fuzzNow); err != nil {
				t.Fatalf("an accepted play fails its check again: %v", err)
			}
			if diff := cmp.Diff(p, again); diff != "" {
				t.Fatalf("checking an accepted play changes it (-first +second):\n%s", diff)
			}
			if p.ID != strings.ToLower(p.ID) || p.StartedAt.Location() != time.UTC || p.StartedAt.Nanosecond()%int(time.Millisecond) != 0 ||
				p.Completed != marquee.IsCompleted(p.PlannedMS, p.PlayedMS) {
				t.Fatalf("accepted play is not normalised: %+v", p)
			}
			for _, text := range []string{p.ID, p.DisplayID, p.MediaID, p.MediaSHA256, p.MediaName, p.PlaylistID, p.ScheduleID, p.Reason} {
				if !validText(text) {
					t.Fatalf("accepted play has invalid text %q", text)
				}
			}
		}
		if len(u.plays) == 0 {
			return // only sequences to acknowledge
		}
		b := marquee.PlayBatch{Format: marquee.WireFormat, DisplayID: fuzzDisplay}
		for i, p := range u.plays {
			b.Plays = append(b.Plays, marquee.JournaledPlay{Seq: uint64(i + 1), Play: p})
		}
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		u2, err := s.parsePlays(mqtt.Message{Topic: topic, Payload: raw})
		if err != nil || u2 == nil {
			t.Fatalf("accepted plays, sent again, are refused: %v\n%s", err, raw)
		}
		if diff := cmp.Diff(u.plays, u2.plays); diff != "" {
			t.Fatalf("round trip changed the plays (-first +second):\n%s", diff)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{
		`{"format":1,"display_id":"dsp_fuzz","online":true,"state_revision":12,"current":{"media_id":"med_1","media_name":"Tin tức",` +
			`"playlist_id":"pls_1","playlist_revision":2,"schedule_id":"sch_1","reason":"schedule","since":"2025-06-01T18:59:00+07:00"},` +
			`"cache_bytes":1048576,"free_disk_bytes":2048,"uptime_s":3600,"version":"1.2.3","clock_offset_ms":-120,"sent_at":"2025-06-01T12:00:00Z"}`,
		`{"online":false}`,
		`{"format":0,"online":true,"current":{"reason":"idle"}}`,
		`{"format":1,"display_id":"dsp_other","online":true}`,
		`{"format":1,"online":true,"cache_bytes":-1}`,
		`{"format":1,"online":true,"version":"\u0000"}`,
		`{"format":1,"online":true,"current":{"playlist_revision":-5}}`,
		`{"format":2}`, `[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		s := fuzzService()
		topic := s.topics.Status(fuzzDisplay)
		st, err := s.parseStatus(mqtt.Message{Topic: topic, Payload: payload})
		if err != nil {
			if st != nil {
				t.Fatalf("refused, yet returned a status: %v", err)
			}
			wantRefusal(t, err)
			return
		}
		switch {
		case st.DisplayID != fuzzDisplay || !st.UpdatedAt.Equal(fuzzNow):
			t.Fatalf("status of %q updated at %v", st.DisplayID, st.UpdatedAt)
		case st.StateRevision < 0 || st.CacheBytes < 0 || st.FreeDiskBytes < 0 || st.UptimeSeconds < 0:
			t.Fatalf("negative figures accepted: %+v", st)
		case (st.LastSeen != nil) != st.Online || (!st.Online && st.Current != nil):
			t.Fatalf("online %v with last_seen %v and current %+v", st.Online, st.LastSeen, st.Current)
		}
		texts := []string{st.Version}
		if c := st.Current; c != nil {
			texts = append(texts, c.MediaID, c.MediaName, c.PlaylistID, c.ScheduleID, c.Reason)
			if c.PlaylistRevision < 0 || c.Since.Location() != time.UTC {
				t.Fatalf("current not checked or normalised: %+v", c)
			}
		}
		for _, text := range texts {
			if !validText(text) || len(text) > maxStatusText {
				t.Fatalf("accepted invalid text %q", text)
			}
		}
		raw, err := json.Marshal(marquee.Status{
			Format: marquee.WireFormat, DisplayID: fuzzDisplay, Online: st.Online, StateRevision: st.StateRevision,
			Current: st.Current, CacheBytes: st.CacheBytes, FreeDiskBytes: st.FreeDiskBytes, UptimeSeconds: st.UptimeSeconds,
			Version: st.Version, ClockOffsetMS: st.ClockOffsetMS, SentAt: fuzzNow,
		})
		if err != nil {
			t.Fatal(err)
		}
		st2, err := s.parseStatus(mqtt.Message{Topic: topic, Payload: raw})
		if err != nil {
			t.Fatalf("an accepted status, sent again, is refused: %v\n%s", err, raw)
		}
		if diff := cmp.Diff(st, st2); diff != "" {
			t.Fatalf("round trip changed the status (-first +second):\n%s", diff)
		}
	})
}

func FuzzParseCmdResult(f *testing.F) {
	for _, s := range []string{
		`{"format":1,"id":"cmd_01j9","ok":true,"finished_at":"2025-06-01T12:00:00Z"}`,
		`{"format":1,"id":"cmd_01j9","ok":false,"error":"disk full: không đủ chỗ","finished_at":"2025-06-01T12:00:00Z"}`,
		`{"format":1,"id":"cmd_01j9","ok":false}`,
		`{"format":1,"id":"cmd_01j9","ok":false,"error":"` + strings.Repeat("é", 700) + `"}`,
		`{"format":1,"id":"cmd\u0000","ok":true}`,
		`{"format":1,"id":"","ok":true}`,
		`{"format":1,"id":"` + strings.Repeat("x", 65) + `","ok":true}`,
		`{"format":1,"id":"c","ok":false,"error":"a\u0000b"}`,
		`{"format":2,"id":"c"}`, `[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		s := fuzzService()
		topic := s.topics.CmdResult(fuzzDisplay)
		u, err := s.parseCmdResult(mqtt.Message{Topic: topic, Payload: payload})
		if err != nil {
			if u != nil {
				t.Fatalf("refused, yet returned an update: %v", err)
			}
			wantRefusal(t, err)
			return
		}
		switch {
		case u.DisplayID != fuzzDisplay || u.FinishedAt == nil || !u.FinishedAt.Equal(fuzzNow):
			t.Fatalf("update of %q finished at %v", u.DisplayID, u.FinishedAt)
		case u.ID == "" || len(u.ID) > maxCommandArgKey || !validText(u.ID):
			t.Fatalf("accepted command ID %q", u.ID)
		case u.Status == CommandOK && u.Error != "":
			t.Fatalf("a success with error %q", u.Error)
		case u.Status == CommandFailed && (u.Error == "" || len(u.Error) > maxResultError || !validText(u.Error)):
			t.Fatalf("a failure with error %q", u.Error)
		case u.Status != CommandOK && u.Status != CommandFailed:
			t.Fatalf("status %q", u.Status)
		}
		raw, err := json.Marshal(marquee.CommandResult{Format: marquee.WireFormat, ID: u.ID, OK: u.Status == CommandOK, Error: u.Error, FinishedAt: fuzzNow})
		if err != nil {
			t.Fatal(err)
		}
		u2, err := s.parseCmdResult(mqtt.Message{Topic: topic, Payload: raw})
		if err != nil {
			t.Fatalf("an accepted result, sent again, is refused: %v\n%s", err, raw)
		}
		if diff := cmp.Diff(u, u2); diff != "" {
			t.Fatalf("round trip changed the update (-first +second):\n%s", diff)
		}
	})
}
