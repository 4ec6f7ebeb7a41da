// Package label normalises the names and tags that people give to media,
// playlists, displays and schedules, so that every object follows the same
// rules: names are NFC-composed text without control characters (data only,
// never paths); tags are lower-case words that address groups of things,
// such as "airport" or "district:sam-son".
package label

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/marquee-signage/marquee"
)

// Limits on names and tags.
const (
	MaxNameRunes = 255
	MaxTagRunes  = 64
	MaxTags      = 50
)

// Name trims name, replaces invalid UTF-8, drops control
// characters and composes it to NFC (so "ế" typed on any system is one
// rune). Names are shown, never used as paths, so "../x" is fine. An empty
// or over-long result is EINVALID.
func Name(name string) (string, error) {
	name = norm.NFC.String(strings.ToValidUTF8(name, "\uFFFD"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" {
		return "", marquee.Errorf(marquee.EINVALID, "name is required")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameRunes {
		return "", marquee.Errorf(marquee.EINVALID, "name is %d characters long; at most %d", n, MaxNameRunes)
	}
	return name, nil
}

// Tags trims, NFC-composes and lower-cases each tag, then
// deduplicates and sorts them. Each tag must be 1..MaxTagRunes letters, digits, ':', '-', '_' or
// '.', and there may be at most MaxTags; otherwise EINVALID. The result is
// never nil.
func Tags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(norm.NFC.String(strings.TrimSpace(t)))
		if err := checkTag(t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, marquee.Errorf(marquee.EINVALID, "%d tags; at most %d", len(out), MaxTags)
	}
	return out, nil
}

func checkTag(t string) error {
	n := utf8.RuneCountInString(t)
	if n == 0 || n > MaxTagRunes {
		return marquee.Errorf(marquee.EINVALID, "a tag must be 1 to %d characters long", MaxTagRunes)
	}
	if !utf8.ValidString(t) {
		return marquee.Errorf(marquee.EINVALID, "a tag must be valid text")
	}
	for i, r := range t {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(":-_.", r) ||
			(i > 0 && unicode.IsMark(r)) // combining accents of decomposed Vietnamese
		if !ok {
			return marquee.Errorf(marquee.EINVALID,
				"tag %q: only letters, digits, ':', '-', '_' and '.' are allowed", t)
		}
	}
	return nil
}
