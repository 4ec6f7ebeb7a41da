package scheduler

import (
	"strings"
	"testing"

	marquee "github.com/marquee-signage/marquee"
)

func TestCheckRule(t *testing.T) {
	base := marquee.Rule{ScheduleID: "sch_1", Name: "Sáng thứ 2", Playlist: ref("P"), Layer: marquee.LayerNormal, Cron: "0 7 * * 1", DurationMS: 3600e3}
	tests := []struct {
		name   string
		change func(*marquee.Rule)
		want   string // "" for valid; else a part of the message
	}{
		{"valid weekly", func(r *marquee.Rule) {}, ""},
		{"valid all day", func(r *marquee.Rule) { r.Cron, r.DurationMS = "", 0 }, ""},
		{"valid all day ignores duration", func(r *marquee.Rule) { r.Cron, r.DurationMS = "", -5 }, ""},
		{"valid names", func(r *marquee.Rule) { r.Cron = "0 7 * JAN-DEC MON-FRI" }, ""},
		{"valid question marks", func(r *marquee.Rule) { r.Cron = "0 7 ? * ?" }, ""},
		{"valid steps and lists", func(r *marquee.Rule) { r.Cron = "0,30 6-22/2 1-15 * *" }, ""},
		{"valid padded", func(r *marquee.Rule) { r.Cron = "  @daily " }, ""},
		{"valid @daily", func(r *marquee.Rule) { r.Cron = "@daily" }, ""},
		{"valid @midnight", func(r *marquee.Rule) { r.Cron = "@midnight" }, ""},
		{"valid @hourly", func(r *marquee.Rule) { r.Cron = "@hourly" }, ""},
		{"valid @weekly", func(r *marquee.Rule) { r.Cron = "@weekly" }, ""},
		{"valid @monthly", func(r *marquee.Rule) { r.Cron = "@monthly" }, ""},
		{"valid @yearly", func(r *marquee.Rule) { r.Cron = "@yearly" }, ""},
		{"valid @annually", func(r *marquee.Rule) { r.Cron = "@annually" }, ""},
		{"valid 31 days", func(r *marquee.Rule) { r.DurationMS = 31 * 24 * 3600e3 }, ""},
		{"valid zone", func(r *marquee.Rule) { r.Timezone = "Europe/Berlin" }, ""},
		{"valid range", func(r *marquee.Rule) { r.StartsOn, r.EndsOn = "2025-06-02", "2025-06-02" }, ""},
		{"valid Feb 29", func(r *marquee.Rule) { r.Cron = "0 0 29 2 *" }, ""},

		{"unknown layer", func(r *marquee.Rule) { r.Layer = "urgent" }, `priority "urgent" is not one of`},
		{"empty layer", func(r *marquee.Rule) { r.Layer = "" }, `priority "" is not one of`},
		{"unknown zone", func(r *marquee.Rule) { r.Timezone = "Mars/Olympus_Mons" }, `timezone "Mars/Olympus_Mons" is not a known IANA zone`},
		{"zone path", func(r *marquee.Rule) { r.Timezone = "../../etc/passwd" }, `is not a known IANA zone`},
		{"Local zone", func(r *marquee.Rule) { r.Timezone = "Local" }, `names the machine's zone`},
		{"bad start date", func(r *marquee.Rule) { r.StartsOn = "2025-02-30" }, `starts_on "2025-02-30" is not a date`},
		{"bad end date", func(r *marquee.Rule) { r.EndsOn = "2025/06/01" }, `ends_on "2025/06/01" is not a date`},
		{"words for a date", func(r *marquee.Rule) { r.StartsOn = "tomorrow" }, `starts_on "tomorrow" is not a date`},
		{"far future", func(r *marquee.Rule) { r.Cron, r.EndsOn = "", "9999-12-31" }, `ends_on 9999-12-31 is not between 2000-01-01 and 2199-12-31`},
		{"far past", func(r *marquee.Rule) { r.StartsOn = "1999-12-31" }, `starts_on 1999-12-31 is not between`},
		{"end before start", func(r *marquee.Rule) { r.StartsOn, r.EndsOn = "2025-06-02", "2025-06-01" }, `ends_on 2025-06-01 is before starts_on 2025-06-02`},
		{"no duration", func(r *marquee.Rule) { r.DurationMS = 0 }, `cron "0 7 * * 1" needs a positive duration_ms`},
		{"negative duration", func(r *marquee.Rule) { r.DurationMS = -1 }, `needs a positive duration_ms`},
		{"too long", func(r *marquee.Rule) { r.DurationMS = 31*24*3600e3 + 1 }, `is longer than 31 days`},
		{"four fields", func(r *marquee.Rule) { r.Cron = "0 7 * *" }, `cron "0 7 * *": expected 5 fields (minute hour day-of-month month day-of-week), found 4`},
		{"six fields", func(r *marquee.Rule) { r.Cron = "0 0 7 * * *" }, `expected 5 fields`},
		{"blank", func(r *marquee.Rule) { r.Cron = "   " }, `expected 5 fields`},
		{"@every", func(r *marquee.Rule) { r.Cron = "@every 1h" }, `@every is not allowed`},
		{"@every bad", func(r *marquee.Rule) { r.Cron = "@every" }, `@every is not allowed`},
		{"@reboot", func(r *marquee.Rule) { r.Cron = "@reboot" }, `unknown descriptor`},
		{"@Daily", func(r *marquee.Rule) { r.Cron = "@Daily" }, `unknown descriptor`},
		{"zone prefix", func(r *marquee.Rule) { r.Cron = "TZ=Asia/Ho_Chi_Minh 0 7 * * *" }, `must not name a zone`},
		{"CRON_TZ prefix", func(r *marquee.Rule) { r.Cron = "CRON_TZ=UTC 0 7 * * *" }, `must not name a zone`},
		// These panic robfig/cron v3.0.1's parser (robfig/cron#554, #470).
		{"panics: TZ=0", func(r *marquee.Rule) { r.Cron = "TZ=0" }, `must not name a zone`},
		{"panics: TZ=", func(r *marquee.Rule) { r.Cron = "TZ=" }, `must not name a zone`},
		{"panics: CRON_TZ=", func(r *marquee.Rule) { r.Cron = "CRON_TZ=" }, `must not name a zone`},
		{"panics: CRON_TZ=UTC", func(r *marquee.Rule) { r.Cron = "CRON_TZ=UTC" }, `must not name a zone`},
		{"panics: TZ=TZ=TZ=", func(r *marquee.Rule) { r.Cron = "TZ=TZ=TZ=" }, `must not name a zone`},
		{"minute 60", func(r *marquee.Rule) { r.Cron = "60 * * * *" }, `end of range (60) above maximum (59)`},
		{"hour 24", func(r *marquee.Rule) { r.Cron = "0 24 * * *" }, `above maximum (23)`},
		{"day 0", func(r *marquee.Rule) { r.Cron = "0 0 0 * *" }, `below minimum (1)`},
		{"month 13", func(r *marquee.Rule) { r.Cron = "0 0 * 13 *" }, `above maximum (12)`},
		{"weekday 7", func(r *marquee.Rule) { r.Cron = "0 0 * * 7" }, `above maximum (6)`},
		{"backwards range", func(r *marquee.Rule) { r.Cron = "5-1 * * * *" }, `beyond end of range`},
		{"step 0", func(r *marquee.Rule) { r.Cron = "*/0 * * * *" }, `step of range should be a positive number`},
		{"many hyphens", func(r *marquee.Rule) { r.Cron = "1-2-3 * * * *" }, `too many hyphens`},
		{"many slashes", func(r *marquee.Rule) { r.Cron = "1/2/3 * * * *" }, `too many slashes`},
		{"negative", func(r *marquee.Rule) { r.Cron = "-1 * * * *" }, `failed to parse int`},
		{"huge", func(r *marquee.Rule) { r.Cron = "99999999999999999999 * * * *" }, `failed to parse int`},
		{"huge step", func(r *marquee.Rule) { r.Cron = "0/9223372036854775807 * * * *" }, ""},
		{"letters", func(r *marquee.Rule) { r.Cron = "a b c d e" }, `failed to parse int`},
		{"bad name", func(r *marquee.Rule) { r.Cron = "0 0 * * FUNDAY" }, `failed to parse int`},
		{"empty list items", func(r *marquee.Rule) { r.Cron = ", , , , ," }, `never fires`},
		{"long", func(r *marquee.Rule) { r.Cron = "0 0 * * " + strings.Repeat("1,", 150) + "1" }, `is longer than 200 characters`},
		{"fullwidth digits", func(r *marquee.Rule) { r.Cron = "０ 7 * * *" }, `failed to parse int`},
		{"30 February", func(r *marquee.Rule) { r.Cron = "0 0 30 2 *" }, `cron "0 0 30 2 *" never fires`},
		{"31 April", func(r *marquee.Rule) { r.Cron = "0 0 31 4,6,9,11 *" }, `never fires`},
		{"not in range", func(r *marquee.Rule) { r.StartsOn, r.EndsOn = "2025-06-03", "2025-06-04" }, `cron "0 7 * * 1" never fires between starts_on 2025-06-03 and ends_on 2025-06-04 (Asia/Ho_Chi_Minh)`},
		{"skipped by DST in range", func(r *marquee.Rule) {
			r.Cron, r.Timezone, r.StartsOn, r.EndsOn = "30 2 * * *", "Europe/Berlin", "2025-03-30", "2025-03-30"
		}, `never fires between`},
		{"Feb 29 not in range", func(r *marquee.Rule) { r.Cron, r.StartsOn, r.EndsOn = "0 0 29 2 *", "2025-01-01", "2027-12-31" }, `never fires between`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.change(&r)
			err := CheckRule(r)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckRule: %v", err)
				}
				return
			}
			if got, want := marquee.ErrorCode(err), marquee.EINVALID; got != want {
				t.Fatalf("code %q (%v), want %q", got, err, want)
			}
			if got := marquee.ErrorMessage(err); !strings.Contains(got, tt.want) {
				t.Fatalf("message %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

// TestParseRecovers feeds robfig's parser the specs known to panic it,
// without our checks in front: the wrapper must turn each into an error.
func TestParseRecovers(t *testing.T) {
	for _, spec := range []string{"TZ=0", "TZ=", "CRON_TZ=", "CRON_TZ=UTC", "TZ=TZ=TZ=", "TZ=Europe/Rome"} {
		if _, err := parseStandard(spec); err == nil {
			t.Fatalf("parseStandard(%q): no error", spec)
		}
	}
	if _, err := parseStandard("@every 1h"); err == nil {
		t.Fatalf("parseStandard(@every): no error")
	}
}

// FuzzCheckRule: whatever the spec, CheckRule returns nil or EINVALID and
// never panics; a spec it accepts compiles and evaluates.
func FuzzCheckRule(f *testing.F) {
	for _, s := range []string{"0 7 * * 1-5", "@daily", "*/5 * * * *", "TZ=0", "CRON_TZ=", "0 0 30 2 *", "@every 1h", "1-2-3 * * * *", "0/1 0 1 JAN MON"} {
		f.Add(s, "Asia/Ho_Chi_Minh")
	}
	f.Add("0 0 * * 0", "Australia/Lord_Howe")
	f.Fuzz(func(t *testing.T, spec, zone string) {
		r := marquee.Rule{ScheduleID: "sch_1", Playlist: ref("P"), Layer: marquee.LayerNormal, Cron: spec, DurationMS: 3600e3, Timezone: zone}
		err := CheckRule(r)
		if err != nil {
			if marquee.ErrorCode(err) != marquee.EINVALID {
				t.Fatalf("CheckRule(%q): %v", spec, err)
			}
			return
		}
		p := mustCompile(t, stateOf([]marquee.Rule{r}, playlistOf("P", 10)))
		p.At(utc("2025-06-02T00:00:00Z"))
		p.Timeline(utc("2025-06-02T00:00:00Z"), utc("2025-06-02T01:00:00Z"), 100)
	})
}
