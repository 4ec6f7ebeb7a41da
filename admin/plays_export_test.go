package admin_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/marquee-signage/marquee"
)

// readCSV reads an export response, checks its status and type and strips
// the byte-order mark.
func readCSV(t *testing.T, resp *http.Response) [][]string {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status=%d, want 200: %s", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/csv; charset=utf-8"; got != want {
		t.Fatalf("Content-Type=%q, want %q", got, want)
	}
	body, ok := bytes.CutPrefix(body, []byte("\uFEFF"))
	if !ok {
		t.Errorf("csv has no byte-order mark")
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("parse csv: %v", err)
	}
	return recs
}

// readXLSX opens an XLSX export response.
func readXLSX(t *testing.T, resp *http.Response) *excelize.File {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status=%d, want 200: %s", resp.StatusCode, body)
	}
	if !strings.Contains(resp.Header.Get("Content-Disposition"), ".xlsx") {
		t.Errorf("Content-Disposition=%q", resp.Header.Get("Content-Disposition"))
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("open xlsx: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestExportPlays(t *testing.T) {
	fs := newFleetStack(t)
	base := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	var all []marquee.Play
	for i := range 1203 { // more than two pages of the store
		p := marquee.Play{
			ID: newUUID(), DisplayID: []string{"dsp_a", "dsp_b"}[i%2], MediaID: "med_x",
			MediaSHA256: strings.Repeat("ab", 32), MediaName: "Tết, \"khai trương\"", PlaylistID: "pls_a", PlaylistRevision: 2,
			ScheduleID: "sch_a", Reason: marquee.ReasonSchedule, StartedAt: base.Add(time.Duration(i) * time.Second),
			PlannedMS: 10_000, PlayedMS: 9_000, Completed: false,
		}
		p.EndedAt = p.StartedAt.Add(9 * time.Second)
		all = append(all, p)
	}
	if _, err := fs.db.InsertPlays(context.Background(), all, base); err != nil {
		t.Fatal(err)
	}

	recs := readCSV(t, fs.get("/api/v1/plays?format=csv&display_id=dsp_a"))
	if got, want := len(recs), 1+602; got != want {
		t.Fatalf("csv records=%d, want %d", got, want)
	}
	if got, want := recs[0][0], "Mã lượt phát"; got != want {
		t.Errorf("first title=%q, want %q", got, want)
	}
	newest := all[1202]
	if got, want := recs[1], []string{newest.ID, "dsp_a", "med_x", "Tết, \"khai trương\"", newest.MediaSHA256, "pls_a", "2",
		"sch_a", "schedule", "2026-03-01 08:20:02", "2026-03-01 08:20:11", "10", "9", "false"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("first row=%q, want %q", got, want)
	}

	en := readCSV(t, fs.get("/api/v1/plays?format=csv&lang=en&from=2026-03-01T01:00:00Z&to=2026-03-01T01:00:10Z"))
	if got, want := len(en), 11; got != want {
		t.Errorf("csv records in 10 s=%d, want %d", got, want)
	}
	if got, want := en[0][0], "Play ID"; got != want {
		t.Errorf("English title=%q, want %q", got, want)
	}

	f := readXLSX(t, fs.get("/api/v1/plays?format=xlsx&lang=en"))
	if got, want := strings.Join(f.GetSheetList(), ","), "Playback log"; got != want {
		t.Fatalf("sheets=%q, want %q", got, want)
	}
	rows, err := f.GetRows("Playback log")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), 1+1203; got != want {
		t.Errorf("xlsx rows=%d, want %d", got, want)
	}

	for _, q := range []string{"format=pdf", "format=csv&lang=fr", "format=csv&bom=maybe"} {
		wantError(t, fs.get("/api/v1/plays?"+q), http.StatusBadRequest, "invalid")
	}
}
