package export_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/marquee-signage/marquee/internal/export"
)

func sample(n int) export.Table {
	return export.Table{
		Name:    export.Text{VI: "Lượt phát", EN: "Plays"},
		Columns: []export.Text{{VI: "Màn hình", EN: "Display"}, {VI: "Bắt đầu", EN: "Started"}, {VI: "Thời lượng (giây)", EN: "Duration (s)"}, {VI: "Hoàn tất", EN: "Completed"}},
		Rows: func(emit func(...any) error) error {
			start := time.Date(2025, 6, 1, 1, 0, 0, 0, time.UTC)
			for i := range n {
				if err := emit("Cổng, \"A\"", start.Add(time.Duration(i)*time.Minute), 1500*time.Millisecond, i%2 == 0); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// countingWriter records how many writes reached it, to prove streaming.
type countingWriter struct {
	bytes.Buffer
	flushes int
}

func (w *countingWriter) Flush() { w.flushes++ }

func TestWriteCSV(t *testing.T) {
	var w countingWriter
	if err := export.WriteCSV(&w, sample(2*export.FlushEvery+1), export.Options{BOM: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := w.flushes, 3; got != want {
		t.Errorf("flushes=%d, want %d", got, want)
	}
	data, ok := bytes.CutPrefix(w.Bytes(), []byte("\uFEFF"))
	if !ok {
		t.Fatalf("no BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(recs), 2*export.FlushEvery+2; got != want {
		t.Fatalf("records=%d, want %d", got, want)
	}
	want := [][]string{
		{"Màn hình", "Bắt đầu", "Thời lượng (giây)", "Hoàn tất"},
		{"Cổng, \"A\"", "2025-06-01 08:00:00", "1.5", "true"},
		{"Cổng, \"A\"", "2025-06-01 08:01:00", "1.5", "false"},
	}
	if diff := cmp.Diff(want, recs[:3]); diff != "" {
		t.Errorf("csv (-want +got):\n%s", diff)
	}
}

func TestWriteCSVEnglishUTC(t *testing.T) {
	var b bytes.Buffer
	if err := export.WriteCSV(&b, sample(1), export.Options{Lang: export.English, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "Display,Started,Duration (s),Completed\n\"Cổng, \"\"A\"\"\",2025-06-01 01:00:00,1.5,true\n"; got != want {
		t.Errorf("csv=%q, want %q", got, want)
	}
}

func TestWriteCSVRowsError(t *testing.T) {
	boom := errors.New("boom")
	tb := sample(0)
	tb.Rows = func(emit func(...any) error) error { return boom }
	if err := export.WriteCSV(&bytes.Buffer{}, tb, export.Options{}); !errors.Is(err, boom) {
		t.Fatalf("err=%v, want boom", err)
	}
	tb.Rows = func(emit func(...any) error) error { return emit("one") }
	if err := export.WriteCSV(&bytes.Buffer{}, tb, export.Options{}); err == nil {
		t.Fatal("short row accepted")
	}
}

func TestWriteXLSX(t *testing.T) {
	second := sample(3)
	second.Name = export.Text{VI: "Màn hình: Cổng [A]/B*?", EN: "Displays"}
	third := sample(1) // same name as the first: made unique
	var b bytes.Buffer
	if err := export.WriteXLSX(&b, export.Options{}, sample(5), second, third); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if diff := cmp.Diff([]string{"Lượt phát", "Màn hình  Cổng  A  B", "Lượt phát (2)"}, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	rows, err := f.GetRows("Lượt phát")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), 6; got != want {
		t.Fatalf("rows=%d, want %d", got, want)
	}
	if diff := cmp.Diff([]string{"Màn hình", "Bắt đầu", "Thời lượng (giây)", "Hoàn tất"}, rows[0]); diff != "" {
		t.Errorf("titles (-want +got):\n%s", diff)
	}
	if got, want := rows[1][1], "2025-06-01 08:00:00"; got != want {
		t.Errorf("time cell=%q, want %q", got, want)
	}
	if got, want := rows[1][2], "1.5"; got != want {
		t.Errorf("duration cell=%q, want %q", got, want)
	}
}

func TestWriteXLSXRowsErrorWritesNothing(t *testing.T) {
	tb := sample(0)
	tb.Rows = func(emit func(...any) error) error { return errors.New("boom") }
	var b bytes.Buffer
	if err := export.WriteXLSX(&b, export.Options{}, tb); err == nil {
		t.Fatal("no error")
	}
	if b.Len() != 0 {
		t.Errorf("wrote %d bytes after an error", b.Len())
	}
}

func TestSheetName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Plays", "Plays"},
		{"", "-"},
		{"'[]'", "-"},
		{strings.Repeat("ầ", 40), strings.Repeat("ầ", 31)},
	} {
		if got := export.SheetName(tc.in); got != tc.want {
			t.Errorf("SheetName(%q)=%q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	if l, err := export.ParseLang(""); err != nil || l != export.Vietnamese {
		t.Errorf("ParseLang(\"\")=%v, %v", l, err)
	}
	if _, err := export.ParseLang("fr"); err == nil {
		t.Error("ParseLang(fr) accepted")
	}
	if f, err := export.ParseFormat("xlsx"); err != nil || f != export.XLSX {
		t.Errorf("ParseFormat(xlsx)=%v, %v", f, err)
	}
	if _, err := export.ParseFormat("pdf"); err == nil {
		t.Error("ParseFormat(pdf) accepted")
	}
}

func TestTextCells(t *testing.T) {
	tb := export.Table{
		Name:    export.Text{VI: "Tổng hợp", EN: "Summary"},
		Columns: []export.Text{{VI: "Mục", EN: "Item"}, {VI: "Giá trị", EN: "Value"}},
		Rows: func(emit func(...any) error) error {
			return emit(export.Text{VI: "Lượt phát", EN: "Plays"}, 3)
		},
	}
	var b bytes.Buffer
	if err := export.WriteCSV(&b, tb, export.Options{Lang: export.English}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "Item,Value\nPlays,3\n"; got != want {
		t.Errorf("csv=%q, want %q", got, want)
	}
	b.Reset()
	if err := export.WriteXLSX(&b, export.Options{}, tb); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Tổng hợp", "A2"); v != "Lượt phát" {
		t.Errorf("A2=%q, want Lượt phát", v)
	}
}
