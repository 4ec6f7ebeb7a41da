package reports

import (
	"slices"
	"time"

	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/internal/export"
)

// MonthlyTables are the sheets of the monthly report of month (its first
// instant, in the report's zone) for organisation orgID ("" for the
// whole tree) named orgName: a summary, one sheet per campaign (the
// fallback as one more) and one per display.
func MonthlyTables(month time.Time, orgID, orgName string, rows []MonthlyRow) []export.Table {
	var (
		plays, completed, airtime int64
		schedules, displays       []string
		names                     = map[string]string{}
	)
	for _, r := range rows {
		plays, completed, airtime = plays+r.Plays, completed+r.Completed, airtime+r.AirtimeMS
		if !slices.Contains(schedules, r.ScheduleID) {
			schedules = append(schedules, r.ScheduleID)
		}
		if !slices.Contains(displays, r.DisplayID) {
			displays = append(displays, r.DisplayID)
		}
		names["s:"+r.ScheduleID], names["d:"+r.DisplayID] = r.ScheduleName, r.DisplayName
	}
	slices.Sort(schedules)
	slices.Sort(displays)
	if orgID == "" {
		orgID = auth.RootOrgID
	}
	org := orgID
	if orgName != "" {
		org = orgName + " (" + orgID + ")"
	}
	summary := [][2]any{
		{export.Text{VI: "Tháng", EN: "Month"}, month.Format("2006-01")},
		{export.Text{VI: "Đơn vị", EN: "Organisation"}, org},
		{export.Text{VI: "Múi giờ", EN: "Time zone"}, month.Location().String()},
		{export.Text{VI: "Số lịch phát", EN: "Campaigns"}, len(schedules)},
		{export.Text{VI: "Số màn hình", EN: "Displays"}, len(displays)},
		{export.Text{VI: "Lượt phát", EN: "Plays"}, plays},
		{export.Text{VI: "Lượt phát hoàn tất", EN: "Completed plays"}, completed},
		{export.Text{VI: "Thời lượng phát (giờ)", EN: "Airtime (h)"}, Hours(airtime)},
	}
	tables := []export.Table{{
		Name:    export.Text{VI: "Tổng hợp", EN: "Summary"},
		Columns: []export.Text{{VI: "Mục", EN: "Item"}, {VI: "Giá trị", EN: "Value"}},
		Rows: func(emit func(...any) error) error {
			for _, kv := range summary {
				if err := emit(kv[0], kv[1]); err != nil {
					return err
				}
			}
			return nil
		},
	}}
	for _, id := range schedules {
		sheet := export.Text{VI: "Lịch " + names["s:"+id], EN: "Campaign " + names["s:"+id]}
		if id == "" {
			sheet = export.Text{VI: "Nội dung dự phòng", EN: "Fallback"}
		}
		tables = append(tables, monthlySheet(sheet,
			export.Text{VI: "Màn hình", EN: "Display"}, rows, func(r MonthlyRow) (bool, string, string) {
				return r.ScheduleID == id, r.DisplayID, r.DisplayName
			}))
	}
	for _, id := range displays {
		tables = append(tables, monthlySheet(export.Text{VI: "Màn hình " + names["d:"+id], EN: "Display " + names["d:"+id]},
			export.Text{VI: "Lịch phát", EN: "Campaign"}, rows, func(r MonthlyRow) (bool, string, string) {
				return r.DisplayID == id, r.ScheduleID, r.ScheduleName
			}))
	}
	return tables
}

// monthlySheet is one campaign's or display's sheet: per day, the other
// dimension (displays of a campaign, campaigns of a display) with its
// plays, completed plays and airtime.
func monthlySheet(name, other export.Text, rows []MonthlyRow, pick func(MonthlyRow) (keep bool, id, label string)) export.Table {
	return export.Table{
		Name: name,
		Columns: []export.Text{{VI: "Ngày", EN: "Day"}, {VI: "Mã " + other.VI, EN: other.EN + " ID"}, {VI: "Tên " + other.VI, EN: other.EN + " name"},
			{VI: "Lượt phát", EN: "Plays"}, {VI: "Lượt phát hoàn tất", EN: "Completed plays"}, {VI: "Thời lượng phát (giờ)", EN: "Airtime (h)"}},
		Rows: func(emit func(...any) error) error {
			for _, r := range rows {
				keep, id, label := pick(r)
				if !keep {
					continue
				}
				if err := emit(r.Day, id, label, r.Plays, r.Completed, Hours(r.AirtimeMS)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// Hours is a duration in milliseconds as hours, rounded to 0.001 h: the
// airtime and uptime columns of exports.
func Hours(ms int64) float64 { return float64((ms+1800)/3600) / 1000 }
