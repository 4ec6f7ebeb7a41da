package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/marquee-signage/marquee"
)

// A record is one line: eight lower-case hex digits of the CRC-32C of the
// body, a space, the body (the JSON of a marquee.JournaledPlay, seq first)
// and a newline. JSON never contains a raw newline, so a line is a record.
const (
	crcLen      = 8
	headerLen   = crcLen + 1        // "xxxxxxxx "
	maxLineLen  = 1 << 20           // longer lines are damage, not records
	seqPrefix   = `{"seq":`         // every body starts with it (Seq is the first field)
	minLineSize = headerLen + 2 + 1 // "{}" and the newline
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errRecordTooLarge is returned by Append for a play whose record would be
// longer than a line may be.
var errRecordTooLarge = marquee.Errorf(marquee.EINVALID, "play record is larger than %d bytes", maxLineLen)

// appendRecord appends the record of play (already JSON-encoded, as an
// object) with sequence number seq to buf. The body is the play's JSON with
// "seq" spliced in as the first member, which is exactly how
// json.Marshal(marquee.JournaledPlay{...}) orders it.
func appendRecord(buf []byte, seq uint64, playJSON []byte) []byte {
	start := len(buf)
	buf = append(buf, "00000000 "...)
	bodyStart := len(buf)
	buf = append(buf, seqPrefix...)
	buf = strconv.AppendUint(buf, seq, 10)
	if len(playJSON) > 2 { // not "{}"
		buf = append(buf, ',')
	}
	buf = append(buf, playJSON[1:]...)
	sum := crc32.Checksum(buf[bodyStart:], castagnoli)
	const hexdigits = "0123456789abcdef"
	for i := crcLen - 1; i >= 0; i-- {
		buf[start+i] = hexdigits[sum&0xf]
		sum >>= 4
	}
	return append(buf, '\n')
}

// checkRecord reports whether line (with its trailing newline) is an intact
// record, and returns its sequence number and body.
func checkRecord(line []byte) (seq uint64, body []byte, ok bool) {
	n := len(line)
	if n < minLineSize || line[n-1] != '\n' || line[crcLen] != ' ' {
		return 0, nil, false
	}
	want, err := strconv.ParseUint(string(line[:crcLen]), 16, 32)
	if err != nil {
		return 0, nil, false
	}
	body = line[headerLen : n-1]
	if crc32.Checksum(body, castagnoli) != uint32(want) {
		return 0, nil, false
	}
	seq, ok = bodySeq(body)
	return seq, body, ok && seq > 0
}

// bodySeq reads the sequence number of an intact body without decoding the
// whole play: Open scans every record, so this keeps a large journal quick
// to open. Bodies not written by appendRecord fall back to encoding/json.
func bodySeq(body []byte) (uint64, bool) {
	if rest, ok := bytes.CutPrefix(body, []byte(seqPrefix)); ok {
		if i := bytes.IndexAny(rest, ",}"); i > 0 {
			if seq, err := strconv.ParseUint(string(rest[:i]), 10, 64); err == nil {
				return seq, true
			}
		}
	}
	var v struct {
		Seq uint64 `json:"seq"`
	}
	if json.Unmarshal(body, &v) != nil {
		return 0, false
	}
	return v.Seq, true
}

// lineReader yields the lines of a segment with their offsets. A line longer
// than maxLineLen, or a last line without a newline, is returned whole with
// bad set, so callers can count and skip it.
type lineReader struct {
	r   *bufio.Reader
	off int64 // offset of the next line
	buf []byte
}

func newLineReader(r io.Reader, off int64) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), off: off}
}

// next returns the next line, its offset and whether it is malformed
// (too long or unterminated). It returns io.EOF after the last line.
func (lr *lineReader) next() (line []byte, off int64, bad bool, err error) {
	off = lr.off
	lr.buf = lr.buf[:0]
	for {
		frag, err := lr.r.ReadSlice('\n')
		if len(lr.buf)+len(frag) <= maxLineLen {
			lr.buf = append(lr.buf, frag...)
		} else {
			bad = true
		}
		lr.off += int64(len(frag))
		switch {
		case err == nil:
			return lr.buf, off, bad, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if lr.off == off {
				return nil, off, false, io.EOF
			}
			return lr.buf, off, true, nil // a torn last line
		default:
			return nil, off, false, fmt.Errorf("read segment: %w", err)
		}
	}
}
