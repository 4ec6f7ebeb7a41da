package reports

import (
	"time"

	"github.com/marquee-signage/marquee"
)

// MonthlyFilter selects the rollups of a monthly report: the hours of
// [From, To) (whole UTC hours), grouped into the days of Location (nil:
// Asia/Ho_Chi_Minh), whose UTC offsets must be whole hours.
type MonthlyFilter struct {
	From, To time.Time
	Location *time.Location
	// Within is the organisation whose subtree is reported; "" reports
	// the whole tree, plays of unknown displays included.
	Within string
}

// MonthlyRow is the rollups of one day, display and schedule ("" for the
// fallback) of a monthly report. Names are the current ones ("" for what
// was deleted).
type MonthlyRow struct {
	Day          string // YYYY-MM-DD in the report's zone
	DisplayID    string
	DisplayName  string
	ScheduleID   string
	ScheduleName string
	Plays        int64
	Completed    int64
	AirtimeMS    int64
}

// ParseMonth reads YYYY-MM as the month in loc: its first instant and the
// first instant of the next month. Anything else is EINVALID.
func ParseMonth(s string, loc *time.Location) (from, to time.Time, err error) {
	m, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return from, to, marquee.Errorf(marquee.EINVALID, "month must be YYYY-MM, such as 2025-06")
	}
	return m, m.AddDate(0, 1, 0), nil
}
