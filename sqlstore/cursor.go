package sqlstore

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/marquee-signage/marquee"
)

// encodeTimeCursor is the cursor of a list ordered newest first by (time,
// id): the playback log and the audit log. It is opaque to clients.
func encodeTimeCursor(atMS int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(atMS, 10) + "." + id))
}

// decodeTimeCursor returns what a time cursor holds, or EINVALID. Every
// byte of the ID must satisfy idByte, so a forged cursor never reaches SQL
// with anything an ID could not hold.
func decodeTimeCursor(cursor string, idByte func(byte) bool) (atMS int64, id string, err error) {
	invalid := marquee.Errorf(marquee.EINVALID, "invalid cursor")
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", invalid
	}
	ms, id, ok := strings.Cut(string(b), ".")
	if !ok || id == "" || len(id) > 64 {
		return 0, "", invalid
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return 0, "", invalid
		}
	}
	atMS, err = strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return 0, "", invalid
	}
	return atMS, id, nil
}

// isIDByte reports whether c may appear in a Marquee ID (marquee.NewID:
// a lower-case prefix, "_" and a lower-case ULID).
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

// isUUIDByte reports whether c may appear in a lower-case UUID (play IDs).
func isUUIDByte(c byte) bool {
	return c >= 'a' && c <= 'f' || c >= '0' && c <= '9' || c == '-'
}
