package size

import "testing"

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"512", 512}, {"64MiB", 64 << 20}, {"1.5GB", 1_500_000_000}, {" 2gib ", 2 << 30}, {"1TiB", 1 << 40}} {
		if got, err := Parse(tc.in); err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "lots", "-1", "0", "5XB", "MiB"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if got, want := Format(64<<20), "64MiB"; got != want {
		t.Fatalf("Format=%q, want %q", got, want)
	}
	if got, want := Format(1500), "1500"; got != want {
		t.Fatalf("Format=%q, want %q", got, want)
	}
}
