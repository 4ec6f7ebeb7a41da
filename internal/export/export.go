package export

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/marquee-signage/marquee"
)

// Lang selects the language of column titles and sheet names.
type Lang string

// Languages. The zero value means Vietnamese.
const (
	Vietnamese Lang = "vi"
	English    Lang = "en"
)

// ParseLang reads a lang query value: "" and "vi" are Vietnamese, "en" is
// English; anything else is EINVALID.
func ParseLang(s string) (Lang, error) {
	switch s {
	case "", "vi":
		return Vietnamese, nil
	case "en":
		return English, nil
	}
	return "", marquee.Errorf(marquee.EINVALID, "lang must be vi or en")
}

// Format is the encoding of a report.
type Format string

// Formats. JSON is not written by this package; it is the API's default.
const (
	JSON Format = "json"
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ParseFormat reads a format query value: "" and "json" are JSON; "csv"
// and "xlsx" are exports; anything else is EINVALID.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "json":
		return JSON, nil
	case "csv":
		return CSV, nil
	case "xlsx":
		return XLSX, nil
	}
	return "", marquee.Errorf(marquee.EINVALID, "format must be json, csv or xlsx")
}

// ContentType is the media type of f.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/json"
}

// Text is a user-facing string in both languages.
type Text struct {
	VI, EN string
}

// In returns the text in lang (Vietnamese for the zero Lang). An empty
// translation falls back to the other one.
func (t Text) In(lang Lang) string {
	if lang == English && t.EN != "" || t.VI == "" {
		return t.EN
	}
	return t.VI
}

// Table is one report table (one sheet in XLSX).
type Table struct {
	// Name names the sheet in XLSX; it is cut to Excel's 31 characters
	// and stripped of the characters Excel forbids. Unused for CSV.
	Name Text
	// Columns are the column titles, in order.
	Columns []Text
	// Rows must call emit once per row, in order, with one value per
	// column, and return emit's error if it fails. Values may be string,
	// Text (written in the export's language), the integer and float
	// types, bool, time.Time (written in the location of
	// Options.Location), time.Duration (written as seconds), nil (an empty
	// cell) or a fmt.Stringer.
	Rows func(emit func(row ...any) error) error
}

// Options control both writers. The zero value writes Vietnamese titles,
// Asia/Ho_Chi_Minh times and no byte-order mark.
type Options struct {
	Lang Lang
	// Location for time values; nil means Asia/Ho_Chi_Minh (UTC+7 if the
	// time zone database is missing).
	Location *time.Location
	// BOM starts a CSV with the UTF-8 byte-order mark, without which
	// Excel on Windows reads Vietnamese text as Windows-1252.
	BOM bool
}

// FlushEvery is how many CSV rows are written between flushes.
const FlushEvery = 256

// MaxXLSXRows is Excel's limit of rows per sheet, the title row included.
const MaxXLSXRows = 1_048_576

// DefaultLocation is Asia/Ho_Chi_Minh, or a fixed UTC+7 zone when the
// time zone database is not available.
var DefaultLocation = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return loc
	}
	return time.FixedZone("ICT", 7*3600)
}()

func (o Options) location() *time.Location {
	if o.Location != nil {
		return o.Location
	}
	return DefaultLocation
}

// TimeLayout is how CSV writes times (in Options.Location).
const TimeLayout = "2006-01-02 15:04:05"

// WriteCSV writes the title row and then each row of t to w as it is
// emitted, flushing every FlushEvery rows. An error from t.Rows or w is
// returned; by then part of the CSV may have been written.
func WriteCSV(w io.Writer, t Table, o Options) error {
	bw := bufio.NewWriter(w)
	if o.BOM {
		if _, err := bw.WriteString("\uFEFF"); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw := csv.NewWriter(bw)
	titles := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		titles[i] = c.In(o.Lang)
	}
	if err := cw.Write(titles); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	loc := o.location()
	rec := make([]string, len(t.Columns))
	n := 0
	flush := func() error {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		switch f := w.(type) {
		case interface{ FlushError() error }:
			return f.FlushError()
		case interface{ Flush() }: // http.Flusher, echo.Response
			f.Flush()
		}
		return nil
	}
	err := t.Rows(func(row ...any) error {
		if len(row) != len(rec) {
			return fmt.Errorf("row has %d values for %d columns", len(row), len(rec))
		}
		for i, v := range row {
			rec[i] = csvValue(v, o.Lang, loc)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		if n++; n%FlushEvery == 0 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func csvValue(v any, lang Lang, loc *time.Location) string {
	switch v := v.(type) {
	case nil:
		return ""
	case Text:
		return v.In(lang)
	case string:
		return v
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.In(loc).Format(TimeLayout)
	case time.Duration:
		return strconv.FormatFloat(v.Seconds(), 'f', -1, 64)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// WriteXLSX writes tables as the sheets of one workbook, in order. Rows
// are streamed into a temporary store as they are emitted; w receives the
// workbook only once every table has been read, so an error (including a
// table longer than MaxXLSXRows) leaves w untouched.
func WriteXLSX(w io.Writer, o Options, tables ...Table) error {
	if len(tables) == 0 {
		return marquee.Errorf(marquee.EINVALID, "a workbook needs at least one sheet")
	}
	f := excelize.NewFile()
	defer f.Close()
	loc := o.location()
	timeStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm:ss")})
	if err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	titleStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	used := map[string]bool{}
	for i, t := range tables {
		name := uniqueSheetName(SheetName(t.Name.In(o.Lang)), used)
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return fmt.Errorf("write xlsx: %w", err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return fmt.Errorf("write xlsx: %w", err)
		}
		if err := writeSheet(f, name, t, o.Lang, loc, titleStyle, timeStyle); err != nil {
			return fmt.Errorf("write xlsx sheet %q: %w", name, err)
		}
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}

func writeSheet(f *excelize.File, name string, t Table, lang Lang, loc *time.Location, titleStyle, timeStyle int) error {
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	titles := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		titles[i] = excelize.Cell{StyleID: titleStyle, Value: c.In(lang)}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	if err := sw.SetRow("A1", titles); err != nil {
		return err
	}
	r := 1
	cells := make([]any, len(t.Columns))
	err = t.Rows(func(row ...any) error {
		if len(row) != len(cells) {
			return fmt.Errorf("row has %d values for %d columns", len(row), len(cells))
		}
		if r >= MaxXLSXRows {
			return marquee.Errorf(marquee.EINVALID, "more than %d rows for one sheet: narrow the period or export as csv", MaxXLSXRows-1)
		}
		r++
		for i, v := range row {
			cells[i] = xlsxValue(v, lang, loc, timeStyle)
		}
		cell, err := excelize.CoordinatesToCellName(1, r)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, cells)
	})
	if err != nil {
		return err
	}
	return sw.Flush()
}

func xlsxValue(v any, lang Lang, loc *time.Location, timeStyle int) any {
	switch v := v.(type) {
	case Text:
		return v.In(lang)
	case time.Time:
		if v.IsZero() {
			return nil
		}
		return excelize.Cell{StyleID: timeStyle, Value: v.In(loc)}
	case time.Duration:
		return v.Seconds()
	case fmt.Stringer:
		return v.String()
	}
	return v
}

// SheetName makes s a valid Excel sheet name: the characters : \ / ? * [ ]
// become spaces, leading and trailing apostrophes and spaces are removed,
// and the result is cut to 31 characters ("-" if nothing is left).
func SheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) || r < 0x20 {
			return ' '
		}
		return r
	}, s)
	s = strings.Trim(s, "' ")
	if utf8.RuneCountInString(s) > 31 {
		s = strings.TrimRight(string([]rune(s)[:31]), "' ")
	}
	if s == "" {
		return "-"
	}
	return s
}

// uniqueSheetName appends " (2)", " (3)" … until name is unused (Excel
// compares sheet names without case) and records it.
func uniqueSheetName(name string, used map[string]bool) string {
	try := name
	for n := 2; used[strings.ToLower(try)]; n++ {
		suffix := fmt.Sprintf(" (%d)", n)
		r := []rune(name)
		if len(r)+len(suffix) > 31 {
			r = r[:31-len(suffix)]
		}
		try = string(r) + suffix
	}
	used[strings.ToLower(try)] = true
	return try
}

func ptr[T any](v T) *T { return &v }
