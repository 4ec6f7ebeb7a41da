package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	marquee "github.com/marquee-signage/marquee"
)

func TestConflicts(t *testing.T) {
	candidate := marquee.Rule{ScheduleID: "sch_new", Layer: marquee.LayerCampaign, Cron: "0 7 * * 1-5", DurationMS: 10 * 3600e3, StartsOn: "2025-06-02", EndsOn: "2025-06-06"}
	others := []marquee.Rule{
		{ScheduleID: "sch_night", Layer: marquee.LayerTakeover, Cron: "0 22 * * *", DurationMS: 4 * 3600e3}, // never overlaps
		{ScheduleID: "sch_emer", Layer: marquee.LayerEmergency, StartsOn: "2025-06-04", EndsOn: "2025-06-04"},
		{ScheduleID: "sch_camp", Layer: marquee.LayerCampaign, Cron: "0 12 * * *", DurationMS: 2 * 3600e3},
		{ScheduleID: "sch_camp", Layer: marquee.LayerCampaign, Cron: "0 13 * * *", DurationMS: 2 * 3600e3}, // same schedule: 12:00-15:00
		{ScheduleID: "sch_new", Layer: marquee.LayerNormal},                                                // the candidate's old version
		{ScheduleID: "sch_norm", Layer: marquee.LayerNormal},
	}
	got, err := Conflicts(candidate, others, at(hcm, "2025-06-01 00:00:00"), at(hcm, "2025-06-10 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Conflict{
		{ScheduleID: "sch_norm", Kind: ConflictPreempts, First: at(hcm, "2025-06-02 07:00:00").UTC(), Overlap: 50 * time.Hour},
		{ScheduleID: "sch_camp", Kind: ConflictShares, First: at(hcm, "2025-06-02 12:00:00").UTC(), Overlap: 15 * time.Hour},
		{ScheduleID: "sch_emer", Kind: ConflictPreemptedBy, First: at(hcm, "2025-06-04 07:00:00").UTC(), Overlap: 10 * time.Hour},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("conflicts (-want +got):\n%s", d)
	}

	// Clipped to the range.
	got, err = Conflicts(candidate, others[1:2], at(hcm, "2025-06-04 16:00:00"), at(hcm, "2025-06-05 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Conflict{{ScheduleID: "sch_emer", Kind: ConflictPreemptedBy, First: at(hcm, "2025-06-04 16:00:00").UTC(), Overlap: time.Hour}}, got); d != "" {
		t.Fatalf("clipped (-want +got):\n%s", d)
	}

	bad := marquee.Rule{ScheduleID: "sch_bad", Name: "Tối", Layer: marquee.LayerNormal, Cron: "0 25 * * *", DurationMS: 1}
	if _, err := Conflicts(candidate, []marquee.Rule{bad}, at(hcm, "2025-06-01 00:00:00"), at(hcm, "2025-06-10 00:00:00")); marquee.ErrorCode(err) != marquee.EINVALID || !strings.Contains(marquee.ErrorMessage(err), `rule "Tối" (sch_bad): cron "0 25 * * *"`) {
		t.Fatalf("bad other: %v", err)
	}
	if _, err := Conflicts(bad, nil, at(hcm, "2025-06-01 00:00:00"), at(hcm, "2025-06-10 00:00:00")); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Fatalf("bad candidate: %v", err)
	}
}

func TestDayStart(t *testing.T) {
	tests := []struct {
		zone, date string
		want       time.Time
	}{
		{"Asia/Ho_Chi_Minh", "2025-06-05", utc("2025-06-04T17:00:00Z")},
		{"Europe/Berlin", "2025-10-26", utc("2025-10-25T22:00:00Z")},
		{"America/Santiago", "2025-09-07", utc("2025-09-07T04:00:00Z")}, // midnight is skipped: the day starts at 01:00
		{"UTC", "9999-12-31", maxTime},
		{"UTC", "1000-01-01", minTime},
	}
	for _, tt := range tests {
		d, _ := time.Parse(time.DateOnly, tt.date)
		if got := timeOf(dayStart(d, mustZone(tt.zone))); !got.Equal(tt.want) {
			t.Fatalf("dayStart(%s, %s) = %v, want %v", tt.date, tt.zone, got, tt.want)
		}
	}
}
