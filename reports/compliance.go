package reports

import (
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/scheduler"
)

// ComplianceRow is one display's line of a compliance report: how long
// the schedule was planned on its screen within the period (the resolver
// run over the display's desired state), how long it was delivered (the
// played time of its plays that started within the period) and the gap,
// with the display's offline and unknown time in the period (status
// history) to explain it.
type ComplianceRow struct {
	DisplayID   string  `json:"display_id"`
	Name        string  `json:"name"`
	PlannedMS   int64   `json:"planned_ms"`
	DeliveredMS int64   `json:"delivered_ms"`
	GapMS       int64   `json:"gap_ms"` // PlannedMS - DeliveredMS; negative when more was played than planned
	Plays       int64   `json:"plays"`
	Completed   int64   `json:"completed"`
	Ratio       float64 `json:"ratio"` // DeliveredMS / PlannedMS; 0 when nothing was planned
	OfflineMS   int64   `json:"offline_ms"`
	UnknownMS   int64   `json:"unknown_ms"` // before the display's first recorded status
}

// Delivered is what a display's plays of one schedule add up to.
type Delivered struct {
	Plays, Completed, PlayedMS int64
}

// planChunk is the span of one Timeline call in PlannedMS: it bounds the
// entries held at once (10-second items make 8,640 a day).
const planChunk = 24 * time.Hour

// PlannedMS returns how long the items of scheduleID are on screen within
// [from, to) by the resolver's answer for st: the total of the timeline
// entries that show an item because of that schedule. A state the
// resolver refuses is an EINVALID error.
func PlannedMS(st *marquee.DesiredState, scheduleID string, from, to time.Time) (int64, error) {
	plan, err := scheduler.Compile(st)
	if err != nil {
		return 0, err
	}
	var ms int64
	for f := from; f.Before(to); f = f.Add(planChunk) {
		e := f.Add(planChunk)
		if e.After(to) {
			e = to
		}
		entries, _ := plan.Timeline(f, e, 0)
		for _, en := range entries {
			if en.Playlist != nil && en.Reason.Kind == marquee.ReasonSchedule && en.Reason.ScheduleID == scheduleID {
				ms += en.End.Sub(en.Start).Milliseconds()
			}
		}
	}
	return ms, nil
}

// Compliance completes row from its planned and delivered time.
func (row *ComplianceRow) Compliance(planned int64, d Delivered) {
	row.PlannedMS, row.DeliveredMS, row.Plays, row.Completed = planned, d.PlayedMS, d.Plays, d.Completed
	row.GapMS = planned - d.PlayedMS
	row.Ratio = 0
	if planned > 0 {
		row.Ratio = float64(d.PlayedMS) / float64(planned)
	}
}
