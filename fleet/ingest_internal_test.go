package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/marquee-signage/marquee"
)

// The ack bookkeeping: acks are cumulative, so one must never reach a
// sequence still queued or shed.
func TestAckBookkeeping(t *testing.T) {
	unit := func(id string, lo, hi uint64) *playUnit {
		return &playUnit{displayID: id, minSeq: lo, maxSeq: hi, plays: make([]marquee.Play, hi-lo+1)}
	}
	stored := func(*playUnit) bool { return true }
	type step struct {
		do   string // track, shed, commit, drop (committed, display unknown)
		u    *playUnit
		acks map[string]uint64 // scheduled after the step (then cleared)
	}
	none := map[string]uint64{}
	a1, a2, a3 := unit("a", 1, 10), unit("a", 11, 20), unit("a", 21, 30)
	a1again := unit("a", 1, 10)
	a1head, a1tail := unit("a", 1, 5), unit("a", 6, 10)
	b1 := unit("b", 1, 3)
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{
			{"track", a1, none}, {"commit", a1, map[string]uint64{"a": 10}},
			{"track", a2, none}, {"commit", a2, map[string]uint64{"a": 20}},
		}},
		{"later batch committed first waits", []step{
			{"track", a1, none}, {"track", a2, none}, {"track", b1, none},
			{"commit", a2, none}, {"commit", b1, map[string]uint64{"b": 3}},
			{"commit", a1, map[string]uint64{"a": 20}},
		}},
		{"a later unit does not hold an earlier ack", []step{
			{"track", a1, none}, {"track", a2, none}, {"commit", a1, map[string]uint64{"a": 10}},
			{"commit", a2, map[string]uint64{"a": 20}},
		}},
		{"shed unit holds acks until re-sent", []step{
			{"track", a1, none}, {"shed", a1, none},
			{"track", a2, none}, {"commit", a2, none},
			{"track", a3, none}, {"commit", a3, none},
			{"track", a1again, none}, {"commit", a1again, map[string]uint64{"a": 30}},
		}},
		{"hole filled in two parts", []step{
			{"track", a1, none}, {"shed", a1, none},
			{"track", a2, none}, {"commit", a2, none},
			{"track", a1head, none}, {"commit", a1head, none},
			{"track", a1tail, none}, {"commit", a1tail, map[string]uint64{"a": 20}},
		}},
		{"unknown display is never acked", []step{
			{"track", b1, none}, {"drop", b1, none},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in playIngest
			in.init()
			for i, st := range tt.steps {
				switch st.do {
				case "track":
					in.track(st.u)
				case "shed":
					in.shed(st.u)
				case "commit":
					in.committed([]*playUnit{st.u}, stored)
				case "drop":
					in.committed([]*playUnit{st.u}, func(*playUnit) bool { return false })
				}
				if diff := cmp.Diff(st.acks, in.toAck); diff != "" {
					t.Fatalf("step %d (%s %s %d..%d): acks (-want +got):\n%s", i, st.do, st.u.displayID, st.u.minSeq, st.u.maxSeq, diff)
				}
				in.toAck = map[string]uint64{}
			}
			if len(in.ackable) != 0 {
				t.Errorf("bookkeeping left behind: %+v", in.ackable)
			}
		})
	}
}

func TestCheckPlay(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	valid := func() marquee.Play {
		return marquee.Play{
			ID: "0F8FAD5B-D9CB-469F-A165-70867728950E", DisplayID: "dsp_a", MediaID: "med_a",
			MediaSHA256: strings.Repeat("AB", 32), MediaName: "Tết", PlaylistID: "pls_a", PlaylistRevision: 2,
			ScheduleID: "sch_a", Reason: marquee.ReasonSchedule,
			StartedAt: now.Add(-time.Minute), EndedAt: now.Add(-50 * time.Second),
			PlannedMS: 10_000, PlayedMS: 9_600, Completed: false,
		}
	}
	p := valid()
	if err := checkPlay(&p, "dsp_a", now); err != nil {
		t.Fatalf("valid play: %v", err)
	}
	if p.ID != "0f8fad5b-d9cb-469f-a165-70867728950e" || p.MediaSHA256 != strings.Repeat("ab", 32) {
		t.Errorf("not normalised: %s %s", p.ID, p.MediaSHA256)
	}
	if !p.Completed {
		t.Error("completed not recomputed: 9.6 s of 10 s is within 500 ms")
	}
	lie := valid()
	lie.PlayedMS, lie.Completed = 2_000, true
	if err := checkPlay(&lie, "dsp_a", now); err != nil || lie.Completed {
		t.Errorf("a client's completed=true for 2 s of 10 s was kept (err %v)", err)
	}
	for name, mutate := range map[string]func(p *marquee.Play){
		"another display":   func(p *marquee.Play) { p.DisplayID = "dsp_b" },
		"no display":        func(p *marquee.Play) { p.DisplayID = "" },
		"not a UUID":        func(p *marquee.Play) { p.ID = "play-1" },
		"no media":          func(p *marquee.Play) { p.MediaID = "" },
		"no hash":           func(p *marquee.Play) { p.MediaSHA256 = "" },
		"NUL in name":       func(p *marquee.Play) { p.MediaName = "a\x00b" },
		"bad UTF-8":         func(p *marquee.Play) { p.MediaName = "\xff" },
		"long ID":           func(p *marquee.Play) { p.MediaID = strings.Repeat("m", 129) },
		"unknown reason":    func(p *marquee.Play) { p.Reason = "because" },
		"ends before start": func(p *marquee.Play) { p.EndedAt = p.StartedAt.Add(-time.Millisecond) },
		"from 1970":         func(p *marquee.Play) { p.StartedAt, p.EndedAt = time.Unix(0, 0), time.Unix(10, 0) },
		"from the future":   func(p *marquee.Play) { p.StartedAt, p.EndedAt = now.Add(25*time.Hour), now.Add(26*time.Hour) },
		"lasts two days":    func(p *marquee.Play) { p.EndedAt = p.StartedAt.Add(48 * time.Hour) },
		"negative planned":  func(p *marquee.Play) { p.PlannedMS = -1 },
		"negative played":   func(p *marquee.Play) { p.PlayedMS = -1 },
		"negative revision": func(p *marquee.Play) { p.PlaylistRevision = -1 },
		"huge played":       func(p *marquee.Play) { p.PlayedMS = 1 << 50 },
	} {
		p := valid()
		mutate(&p)
		if err := checkPlay(&p, "dsp_a", now); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
	for _, reason := range []string{marquee.ReasonFallback, marquee.ReasonIdle} {
		p := valid()
		p.Reason, p.ScheduleID = reason, ""
		if err := checkPlay(&p, "dsp_a", now); err != nil {
			t.Errorf("reason %s: %v", reason, err)
		}
	}
}
