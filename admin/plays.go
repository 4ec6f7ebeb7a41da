package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/internal/export"
)

// Plays reads the playback log (package fleet implements it, through an
// adapter in cmd/marquee).
type Plays interface {
	// FindPlays returns one page of plays matching f, newest first, and
	// the next cursor ("" on the last page). A malformed cursor is
	// EINVALID.
	FindPlays(ctx context.Context, f PlayFilter) ([]marquee.Play, string, error)
}

// PlayFilter selects plays; zero fields match everything. From is
// inclusive, To exclusive, on the start time.
type PlayFilter struct {
	DisplayID  string
	MediaID    string
	ScheduleID string
	From, To   time.Time
	Limit      int // 0 means the store's default
	Cursor     string
	// Within is set by the implementation from the actor's scope in ctx;
	// handlers leave it "".
	Within string
}

// maxFilterID bounds an ID given as a filter.
const maxFilterID = 128

// handleListPlays: GET /api/v1/plays?display_id=&media_id=&schedule_id=
// &from=&to=&limit=&cursor=&format=&lang= → plays with the wire field
// names, newest first (by start time, then ID). With format=csv or xlsx,
// every matching play is exported instead (limit and cursor are ignored).
func (s *Server) handleListPlays(c echo.Context) error {
	if s.plays == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "the playback log is not available on this server")
	}
	f := PlayFilter{
		DisplayID:  c.QueryParam("display_id"),
		MediaID:    c.QueryParam("media_id"),
		ScheduleID: c.QueryParam("schedule_id"),
		Cursor:     c.QueryParam("cursor"),
	}
	for name, v := range map[string]string{"display_id": f.DisplayID, "media_id": f.MediaID, "schedule_id": f.ScheduleID} {
		if len(v) > maxFilterID {
			return marquee.Errorf(marquee.EINVALID, "%s is longer than %d characters", name, maxFilterID)
		}
	}
	var err error
	if f.From, f.To, err = queryRange(c); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	format, err := export.ParseFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	if format != export.JSON {
		return s.exportPlays(c, f, format)
	}
	plays, next, err := s.plays.FindPlays(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if plays == nil {
		plays = []marquee.Play{}
	}
	return c.JSON(http.StatusOK, listResponse[marquee.Play]{Items: plays, NextCursor: next})
}

// playColumns are the columns of the playback log export.
var playColumns = []export.Text{
	{VI: "Mã lượt phát", EN: "Play ID"},
	{VI: "Mã màn hình", EN: "Display ID"},
	{VI: "Mã nội dung", EN: "Media ID"},
	{VI: "Tên nội dung", EN: "Media name"},
	{VI: "SHA-256 nội dung", EN: "Media SHA-256"},
	{VI: "Mã danh sách phát", EN: "Playlist ID"},
	{VI: "Phiên bản danh sách phát", EN: "Playlist revision"},
	{VI: "Mã lịch phát", EN: "Schedule ID"},
	{VI: "Lý do", EN: "Reason"},
	{VI: "Bắt đầu", EN: "Started at"},
	{VI: "Kết thúc", EN: "Ended at"},
	{VI: "Thời lượng dự kiến (giây)", EN: "Planned (s)"},
	{VI: "Thời lượng đã phát (giây)", EN: "Played (s)"},
	{VI: "Hoàn tất", EN: "Completed"},
}

// exportPlays writes every play matching f as CSV or XLSX, paging through
// the log maxListLimit plays at a time: a CSV is streamed page by page.
func (s *Server) exportPlays(c echo.Context, f PlayFilter, format export.Format) error {
	ctx := c.Request().Context()
	f.Limit = maxListLimit
	table := export.Table{
		Name:    export.Text{VI: "Nhật ký phát", EN: "Playback log"},
		Columns: playColumns,
		Rows: func(emit func(...any) error) error {
			return eachPage(func(cursor string) ([]marquee.Play, string, error) {
				f.Cursor = cursor
				return s.plays.FindPlays(ctx, f)
			}, func(p marquee.Play) error {
				return emit(p.ID, p.DisplayID, p.MediaID, p.MediaName, p.MediaSHA256, p.PlaylistID, p.PlaylistRevision,
					p.ScheduleID, p.Reason, p.StartedAt, p.EndedAt, float64(p.PlannedMS)/1000, float64(p.PlayedMS)/1000, p.Completed)
			})
		},
	}
	return s.writeExport(c, "plays", format, table)
}
