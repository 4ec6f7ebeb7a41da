package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/marquee-signage/marquee/reports"
	"github.com/marquee-signage/marquee/sqlstore"
)

// runRollups runs `marquee rollups rebuild`: it recomputes the airtime
// rollups of a period from the raw plays (after a bulk import, or a repair
// of plays by hand), one day per transaction, so a server may keep running.
func runRollups(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return errors.New("rollups: usage: marquee rollups rebuild --db DSN --from 2026-06-01 --to 2026-07-01 [--tz Asia/Ho_Chi_Minh]")
	}
	fs := flag.NewFlagSet("marquee rollups rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("db", getenv("MARQUEE_DB"), "database DSN (sqlite:///path or postgres://…) ($MARQUEE_DB)")
	fromS := fs.String("from", "", "first day to rebuild (YYYY-MM-DD in --tz, or an RFC 3339 time)")
	toS := fs.String("to", "", "day after the last to rebuild (YYYY-MM-DD in --tz, or an RFC 3339 time)")
	tz := fs.String("tz", reports.DefaultTimezone, "time zone of the dates")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil || *tz == "Local" {
		return fmt.Errorf("rollups rebuild: --tz must be an IANA time zone such as Asia/Ho_Chi_Minh")
	}
	from, err1 := parseDay(*fromS, loc)
	to, err2 := parseDay(*toS, loc)
	switch {
	case *dsn == "":
		return errors.New("rollups rebuild: --db is required")
	case err1 != nil || err2 != nil:
		return errors.New("rollups rebuild: --from and --to must be dates such as 2026-06-01 or RFC 3339 times")
	case !to.After(from):
		return errors.New("rollups rebuild: --to must be after --from")
	}
	db, err := sqlstore.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckSchema(ctx); err != nil {
		return err
	}
	began := time.Now()
	if err := db.RebuildRollups(ctx, from, to); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rebuilt the airtime rollups of %s to %s from the raw plays in %s\n",
		from.Format(time.RFC3339), to.Format(time.RFC3339), time.Since(began).Round(time.Millisecond))
	return nil
}

// parseDay reads YYYY-MM-DD (midnight in loc) or an RFC 3339 time.
func parseDay(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}
