// Package reports holds the vocabulary of the supervisors' reports (issue
// 6): what an airtime report asks for and what it returns. The store
// computes reports from the hourly rollups (sqlstore/rollups.go); the admin
// API serves them.
package reports

import (
	"fmt"
	"time"

	"github.com/marquee-signage/marquee"
)

// DefaultTimezone is the time zone of a report's days when none is given.
const DefaultTimezone = "Asia/Ho_Chi_Minh"

// Groupings of an airtime report.
const (
	ByDay          = "day"
	ByDisplay      = "display"
	ByMedia        = "media"
	BySchedule     = "schedule"
	ByOrganisation = "organisation"
	ByTag          = "tag" // a display's tag: a display with two tags counts in both
)

// GroupBys lists the valid groupings.
var GroupBys = []string{ByDay, ByDisplay, ByMedia, BySchedule, ByOrganisation, ByTag}

// AirtimeFilter selects the plays of an airtime report. Rollups are
// hourly: From and To must be whole UTC hours (From inclusive, To
// exclusive); empty ID fields match everything.
type AirtimeFilter struct {
	From, To       time.Time
	GroupBy        string         // one of GroupBys
	Location       *time.Location // the days of ByDay; nil means UTC
	DisplayID      string
	MediaID        string
	ScheduleID     string // "" matches all; the fallback's plays have none
	OrganisationID string // this organisation and those below it
	Tag            string // displays with this tag
	// Within is the actor's scope (auth.Scope.Within): "" the whole tree,
	// else only rollups of that organisation's subtree.
	Within string
}

// Validate returns EINVALID when f cannot be answered.
func (f AirtimeFilter) Validate() error {
	valid := false
	for _, g := range GroupBys {
		valid = valid || g == f.GroupBy
	}
	switch {
	case !valid:
		return marquee.Errorf(marquee.EINVALID, "group_by must be one of %v", GroupBys)
	case f.From.IsZero() || f.To.IsZero():
		return marquee.Errorf(marquee.EINVALID, "from and to are required")
	case !f.To.After(f.From):
		return marquee.Errorf(marquee.EINVALID, "to must be after from")
	case f.To.Sub(f.From) > MaxRange:
		return marquee.Errorf(marquee.EINVALID, "a report covers at most %d days", int(MaxRange/(24*time.Hour)))
	}
	return nil
}

// MaxRange bounds the period of one report.
const MaxRange = 400 * 24 * time.Hour

// AirtimeRow is one group of an airtime report.
type AirtimeRow struct {
	// Key is the group: a day (YYYY-MM-DD in the report's zone), or a
	// display, media, schedule or organisation ID, or a tag. Label is a
	// name for it when one is known (the media's name as played; the
	// display's, schedule's or organisation's current name).
	Key       string `json:"key"`
	Label     string `json:"label"`
	Plays     int64  `json:"plays"`
	Completed int64  `json:"completed"`
	AirtimeMS int64  `json:"airtime_ms"`
	Airtime   string `json:"airtime"` // AirtimeMS as h:mm:ss
}

// FormatAirtime returns ms as h:mm:ss (hours not bounded by 24), rounding
// down to the second.
func FormatAirtime(ms int64) string {
	s := ms / 1000
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
