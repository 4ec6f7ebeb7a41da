package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseRetention reads a retention period: a number of days ("400d"), a Go
// duration ("720h"), or "0" (keep for ever). Negative periods are refused.
func parseRetention(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days such as 400d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a period such as 400d or 720h (0 keeps for ever)", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: a retention cannot be negative", s)
	}
	return d, nil
}

// Retention declares a retention-period flag (see parseRetention).
func (f *envFlags) Retention(p *time.Duration, name, env, usage string) {
	if v, ok := f.envDefault(env); ok {
		d, err := parseRetention(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("$%s: %w", env, err))
		}
		*p = d
	}
	f.envs[name] = env
	f.fs.Func(name, fmt.Sprintf("%s, e.g. 400d; 0 keeps them for ever (default %s) ($%s)", usage, formatRetention(*p), env),
		func(s string) error {
			d, err := parseRetention(s)
			if err == nil {
				*p = d
			}
			return err
		})
}

// formatRetention writes d as parseRetention reads it.
func formatRetention(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
