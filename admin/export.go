package admin

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/internal/export"
)

// exportOptions reads lang= (vi, the default, or en) and bom= (a CSV
// starts with a UTF-8 byte-order mark for Excel unless bom=false).
func exportOptions(c echo.Context) (export.Options, error) {
	lang, err := export.ParseLang(c.QueryParam("lang"))
	if err != nil {
		return export.Options{}, err
	}
	bom := true
	if v := c.QueryParam("bom"); v != "" {
		if bom, err = strconv.ParseBool(v); err != nil {
			return export.Options{}, marquee.Errorf(marquee.EINVALID, "bom must be true or false")
		}
	}
	return export.Options{Lang: lang, BOM: bom}, nil
}

// writeExport answers with tables as a CSV (the first table only,
// streamed) or an XLSX workbook, as an attachment named
// name-YYYYMMDD-HHMMSS.csv|xlsx. A CSV that fails after its first bytes
// were sent cannot turn into an error response: the error is logged and
// the body is cut short (a client sees a truncated chunked response).
func (s *Server) writeExport(c echo.Context, name string, format export.Format, tables ...export.Table) error {
	opts, err := exportOptions(c)
	if err != nil {
		return err
	}
	file := fmt.Sprintf("%s-%s.%s", name, s.now().In(export.DefaultLocation).Format("20060102-150405"), format)
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", file))
	h.Set("Cache-Control", "no-store")
	switch format {
	case export.CSV:
		h.Set(echo.HeaderContentType, format.ContentType())
		w := &lazyWriter{c: c}
		if err := export.WriteCSV(w, tables[0], opts); err != nil {
			if !c.Response().Committed {
				return err
			}
			s.logger.ErrorContext(c.Request().Context(), "export csv", "name", name, "err", err)
			panic(http.ErrAbortHandler) // cut the response short rather than end it cleanly
		}
		if !c.Response().Committed {
			c.Response().WriteHeader(http.StatusOK)
		}
		return nil
	case export.XLSX:
		// WriteXLSX writes nothing before every row is read, so its
		// errors still become ordinary error responses.
		bw := &lazyWriter{c: c}
		buf := bufio.NewWriterSize(bw, 64<<10)
		if err := export.WriteXLSX(buf, opts, tables...); err != nil {
			return err
		}
		h.Set(echo.HeaderContentType, format.ContentType())
		return buf.Flush()
	}
	return marquee.Errorf(marquee.EINVALID, "format %q cannot be exported", format)
}

// lazyWriter commits the 200 status only at the first write, so that an
// error before any row still becomes a JSON error response.
type lazyWriter struct {
	c echo.Context
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	r := w.c.Response()
	if !r.Committed {
		r.WriteHeader(http.StatusOK)
	}
	return r.Write(p)
}

func (w *lazyWriter) Flush() { w.c.Response().Flush() }

// eachPage hands every item of a cursor-paged list to fn: find is called
// with "" and then with each next cursor it returns, until it returns "".
// Exports use it to stream a whole list a page at a time.
func eachPage[T any](find func(cursor string) ([]T, string, error), fn func(T) error) error {
	for cursor := ""; ; {
		items, next, err := find(cursor)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}
