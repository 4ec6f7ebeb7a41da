// Package size parses and prints byte sizes for command-line flags
// ("512", "64MiB", "1.5GB"). Standard library only: both binaries use it.
package size

import (
	"fmt"
	"strconv"
	"strings"
)

var units = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1000, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1000 * 1000, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1000 * 1000 * 1000 * 1000, "tib": 1 << 40,
}

// Parse parses a positive size such as "512", "64MiB" or "1.5GB"
// (case-insensitive; KiB/MiB/GiB/TiB are powers of 1024, KB/MB/GB/TB of 1000).
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mul, ok := units[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("%q is not a size (use e.g. 512, 64MiB, 2GiB)", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	return int64(v * float64(mul)), nil
}

// Format prints n in the largest binary unit that divides it exactly.
func Format(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}
