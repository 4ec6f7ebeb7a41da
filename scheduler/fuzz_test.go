package scheduler

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseCron feeds cron specs, which users type, to the spec parser and
// to robfig's parser behind its panic guard. Neither may panic. A spec
// that parses has none of the refused forms, parses the same with other
// surrounding space, and yields fire times that are whole minutes on the
// rule's wall clock, strictly increasing, and found again when asked from
// just before (next is a function of the instant, nothing else). The zone
// has DST, so the walk crosses a transition.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{
		"0 7 * * 1-5", "*/5 * * * *", "30 2 * * *", "0 0 29 2 *", "0 0 30 2 *", "59 23 31 12 *",
		"0 0 * * 7", "0/1 0 1 JAN MON", "15,45 8-18/2 * 1,6,12 SUN-SAT",
		"@daily", "@hourly", "@weekly", "@monthly", "@yearly", "@annually", "@midnight",
		"@every 1h", "@reboot", "@", "TZ=0", "TZ=", "CRON_TZ=", "CRON_TZ=UTC 0 0 * * *", "TZ=Europe/Rome",
		"", "   ", "* * * *", "* * * * * *", "60 * * * *", "5-1 * * * *", "*/0 * * * *", "1-2-3 * * * *",
		"? ? ? ? ?", "0 0 L * *", "H * * * *", "0 0 1 13 *", "-1 * * * *", "0 0 * * 8",
		strings.Repeat("1,", 120) + "1 * * * *", "\x00 * * * *", "٣ * * * *",
	} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	// The Saturday before the spring-forward night of 2025.
	start := instant(time.Date(2025, 3, 29, 0, 0, 0, 0, loc))
	f.Fuzz(func(t *testing.T, spec string) {
		_, _ = parseStandard(spec) // the guard on its own
		c, err := parseCron(spec, loc)
		if err != nil {
			if c != nil || err.Error() == "" {
				t.Fatalf("parseCron(%q) = %v, %v", spec, c, err)
			}
			return
		}
		trimmed := strings.TrimSpace(spec)
		for _, refused := range []string{"TZ=", "CRON_TZ=", "@every"} {
			if strings.HasPrefix(trimmed, refused) {
				t.Fatalf("parseCron(%q) accepted a %s spec", spec, refused)
			}
		}
		if len(trimmed) > maxCronLen {
			t.Fatalf("parseCron accepted a spec of %d bytes", len(trimmed))
		}
		c2, err := parseCron("\t"+trimmed+" ", loc)
		if err != nil {
			t.Fatalf("parseCron(%q) succeeded, but not with other spaces around: %v", spec, err)
		}
		x := start
		for range 8 {
			n := c.next(x)
			if n == never {
				return
			}
			if n <= x {
				t.Fatalf("%q: next(%v) = %v, not after", spec, timeOf(x), timeOf(n))
			}
			if wall := time.Unix(0, n).In(loc); wall.Second() != 0 || wall.Nanosecond() != 0 {
				t.Fatalf("%q: fires at %v, not a whole minute", spec, wall)
			}
			if again := c.next(n - 1); again != n {
				t.Fatalf("%q: next(%v) = %v, but next just before it = %v", spec, timeOf(x), timeOf(n), timeOf(again))
			}
			if other := c2.next(x); other != n {
				t.Fatalf("%q: the same spec with other spaces fires at %v, not %v", spec, timeOf(other), timeOf(n))
			}
			x = n
		}
	})
}
