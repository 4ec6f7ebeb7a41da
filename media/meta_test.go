package media

import (
	"slices"
	"strings"
	"testing"

	"github.com/marquee-signage/marquee"
)

func TestNormaliseName(t *testing.T) {
	tests := []struct{ in, want, wantCode string }{
		{"  Tết sale 2026  ", "Tết sale 2026", ""},
		{"../../etc/passwd", "../../etc/passwd", ""},
		{"a\x00b\tc\nd\u0085e", "abcde", ""},
		{"bad \xff utf8", "bad \uFFFD utf8", ""},
		{strings.Repeat("ằ", 255), strings.Repeat("ằ", 255), ""},
		{strings.Repeat("ằ", 256), "", marquee.EINVALID},
		{"   ", "", marquee.EINVALID},
		{"\x01\x02", "", marquee.EINVALID},
	}
	for _, tt := range tests {
		got, err := normaliseName(tt.in)
		if code := marquee.ErrorCode(err); code != tt.wantCode || got != tt.want {
			t.Errorf("normaliseName(%q) = %q, %v; want %q, code %q", tt.in, got, err, tt.want, tt.wantCode)
		}
	}
}

func TestNormaliseTags(t *testing.T) {
	tests := []struct {
		in       []string
		want     []string
		wantCode string
	}{
		{nil, []string{}, ""},
		{[]string{" Lobby ", "lobby", "SALE:tet", "a.b-c_d", "khuyến-mãi"},
			[]string{"a.b-c_d", "khuyến-mãi", "lobby", "sale:tet"}, ""},
		{[]string{"khuye\u0302\u0301n", "khuyến"}, []string{"khuyến"}, ""}, // NFD and NFC are one tag
		{[]string{"ok", ""}, nil, marquee.EINVALID},
		{[]string{"two words"}, nil, marquee.EINVALID},
		{[]string{"semi;colon"}, nil, marquee.EINVALID},
		{[]string{"../x"}, nil, marquee.EINVALID},
		{[]string{strings.Repeat("x", 65)}, nil, marquee.EINVALID},
		{[]string{strings.Repeat("x", 64)}, []string{strings.Repeat("x", 64)}, ""},
		{manyTags(51), nil, marquee.EINVALID},
		{append(manyTags(50), "T0", "t1"), manyTags(50), ""}, // duplicates do not count
	}
	for _, tt := range tests {
		got, err := normaliseTags(tt.in)
		if code := marquee.ErrorCode(err); code != tt.wantCode || !slices.Equal(got, tt.want) ||
			(err == nil && got == nil) {
			t.Errorf("normaliseTags(%q) = %q, %v; want %q, code %q", tt.in, got, err, tt.want, tt.wantCode)
		}
	}
}

func manyTags(n int) []string {
	var tags []string
	for i := range n {
		tags = append(tags, "t"+strings.Repeat("x", i/10)+string(rune('0'+i%10)))
	}
	slices.Sort(tags)
	return tags
}
