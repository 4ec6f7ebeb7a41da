package displays

import (
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/internal/label"
)

// validate checks and normalises in and returns a display holding the
// editable fields. Errors are EINVALID and name the field.
func validate(in Input) (*Display, error) {
	name, err := label.Name(in.Name)
	if err != nil {
		return nil, err
	}
	for _, side := range []struct {
		name string
		v    int
	}{{"width", in.Width}, {"height", in.Height}} {
		if side.v < 1 || side.v > MaxSide {
			return nil, marquee.Errorf(marquee.EINVALID, "%s must be from 1 to %d pixels, not %d", side.name, MaxSide, side.v)
		}
	}
	tz, err := CheckTimezone(in.Timezone)
	if err != nil {
		return nil, err
	}
	tags, err := label.Tags(in.Tags)
	if err != nil {
		return nil, err
	}
	loc, err := checkLocation(in.Location)
	if err != nil {
		return nil, err
	}
	return &Display{
		Name:               name,
		Width:              in.Width,
		Height:             in.Height,
		Timezone:           tz,
		Tags:               tags,
		Location:           loc,
		FallbackPlaylistID: strings.TrimSpace(in.FallbackPlaylistID),
	}, nil
}

// CheckTimezone returns tz, or DefaultTimezone when tz is empty, after
// checking that it is an IANA zone that loads (the marquee binary embeds
// time/tzdata, so this does not depend on the host). "Local" is refused: it would mean whatever zone the server
// runs in. Errors are EINVALID.
func CheckTimezone(tz string) (string, error) {
	tz = strings.TrimSpace(tz)
	if tz == "" {
		return DefaultTimezone, nil
	}
	if tz == "Local" {
		return "", marquee.Errorf(marquee.EINVALID, "timezone %q names the server's zone; use an IANA zone such as %s", tz, DefaultTimezone)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return "", marquee.Errorf(marquee.EINVALID, "timezone %q is not a known IANA zone (e.g. %s)", tz, DefaultTimezone)
	}
	return tz, nil
}

// checkLocation normalises a location: the address like a name (but
// optional), coordinates both or neither and within range. An empty location
// is nil.
func checkLocation(l *Location) (*Location, error) {
	if l == nil {
		return nil, nil
	}
	out := &Location{Latitude: clone(l.Latitude), Longitude: clone(l.Longitude)}
	if strings.TrimSpace(l.Address) != "" {
		addr, err := label.Name(l.Address)
		if err != nil {
			return nil, marquee.Errorf(marquee.EINVALID, "address is too long: at most %d characters", label.MaxNameRunes)
		}
		out.Address = addr
	}
	if (out.Latitude == nil) != (out.Longitude == nil) {
		return nil, marquee.Errorf(marquee.EINVALID, "location needs both latitude and longitude, or neither")
	}
	if lat := out.Latitude; lat != nil && !(*lat >= -90 && *lat <= 90) { // also refuses NaN
		return nil, marquee.Errorf(marquee.EINVALID, "latitude must be from -90 to 90 degrees, not %v", *lat)
	}
	if lon := out.Longitude; lon != nil && !(*lon >= -180 && *lon <= 180) {
		return nil, marquee.Errorf(marquee.EINVALID, "longitude must be from -180 to 180 degrees, not %v", *lon)
	}
	if out.Address == "" && out.Latitude == nil {
		return nil, nil
	}
	return out, nil
}

func clone(f *float64) *float64 {
	if f == nil {
		return nil
	}
	v := *f
	return &v
}
