package media

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"strings"
	"testing"
)

// el builds an EBML element with an 8-byte size field.
func el(id uint32, payload ...[]byte) []byte {
	b := ebmlID(id)
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	b = append(b, 0x01)
	b = append(b, binary.BigEndian.AppendUint64(nil, uint64(n))[1:]...)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

// elUnknown builds an EBML element header with the unknown size (1 byte).
func elUnknown(id uint32) []byte { return append(ebmlID(id), 0xFF) }

func ebmlID(id uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, id)
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func uintEl(id uint32, v uint64) []byte { return el(id, binary.BigEndian.AppendUint64(nil, v)) }
func f64El(id uint32, v float64) []byte {
	return el(id, binary.BigEndian.AppendUint64(nil, math.Float64bits(v)))
}
func f32El(id uint32, v float32) []byte {
	return el(id, binary.BigEndian.AppendUint32(nil, math.Float32bits(v)))
}

func ebmlHeader(docType string) []byte {
	return el(ebmlIDHeader, uintEl(0x4286, 1), el(ebmlIDDocType, []byte(docType)))
}

func webmTracks(w, h uint64) []byte {
	audio := el(mkvIDTrackEntry, uintEl(mkvIDTrackType, 2), el(0xE1, uintEl(0xB5, 48000)))
	video := el(mkvIDTrackEntry, uintEl(mkvIDTrackType, 1),
		el(mkvIDVideo, uintEl(mkvIDPixelWidth, w), uintEl(mkvIDPixelHeight, h)))
	return el(mkvIDTracks, audio, video)
}

func cluster() []byte {
	return el(mkvIDCluster, uintEl(0xE7, 0), el(0xA3, make([]byte, 100)))
}

func TestProbeWebM(t *testing.T) {
	info := el(mkvIDInfo, uintEl(mkvIDTimestampScale, 1_000_000), f64El(mkvIDDuration, 2500))
	tests := []struct {
		name string
		file []byte
		want videoInfo
	}{
		{"known sizes", concat(ebmlHeader("webm"), el(mkvIDSegment, info, webmTracks(1920, 1080), cluster())),
			videoInfo{1920, 1080, 2500}},
		{"unknown-size segment and clusters", concat(ebmlHeader("webm"), elUnknown(mkvIDSegment),
			el(0xEC, make([]byte, 20)), info, webmTracks(640, 480), elUnknown(mkvIDCluster), uintEl(0xE7, 0),
			el(0xA3, make([]byte, 50))),
			videoInfo{640, 480, 2500}},
		{"tracks after unknown-size clusters", concat(ebmlHeader("matroska"), elUnknown(mkvIDSegment),
			info, elUnknown(mkvIDCluster), uintEl(0xE7, 0), el(0xA3, make([]byte, 50)),
			elUnknown(mkvIDCluster), el(0xA3, make([]byte, 10)), webmTracks(320, 240)),
			videoInfo{320, 240, 2500}},
		{"float32 duration and other scale", concat(ebmlHeader("webm"), el(mkvIDSegment,
			el(mkvIDInfo, uintEl(mkvIDTimestampScale, 1000), f32El(mkvIDDuration, 3_000_000)), webmTracks(8, 8))),
			videoInfo{8, 8, 3000}},
		{"no duration", concat(ebmlHeader("webm"), el(mkvIDSegment, el(mkvIDInfo), webmTracks(8, 8))),
			videoInfo{8, 8, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := probeWebM(bytes.NewReader(tt.file), int64(len(tt.file)))
			if err != nil {
				t.Fatalf("probeWebM: %v", err)
			}
			if got != tt.want {
				t.Fatalf("probeWebM = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestProbeWebMInvalid(t *testing.T) {
	info := el(mkvIDInfo, f64El(mkvIDDuration, 1000))
	good := concat(ebmlHeader("webm"), el(mkvIDSegment, info, webmTracks(8, 8)))
	tests := []struct {
		name, wantErr string
		file          []byte
	}{
		{"truncated", "unexpected EOF", good[:len(good)-5]},
		{"no segment", "no Segment", ebmlHeader("webm")},
		{"no info", "no Info", concat(ebmlHeader("webm"), el(mkvIDSegment, webmTracks(8, 8)))},
		{"unknown-size info", "unknown-size", concat(ebmlHeader("webm"), elUnknown(mkvIDSegment), elUnknown(mkvIDInfo))},
		{"child overruns parent", "corrupt", concat(ebmlHeader("webm"),
			el(mkvIDSegment, el(mkvIDInfo, []byte{0x44, 0x89, 0x88, 0, 0})), make([]byte, 20))},
		{"bad duration size", "corrupt", concat(ebmlHeader("webm"),
			el(mkvIDSegment, el(mkvIDInfo, el(mkvIDDuration, []byte{1, 2, 3})), webmTracks(8, 8)))},
		{"not EBML", "corrupt", BuildBox("free")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := probeWebM(bytes.NewReader(tt.file), int64(len(tt.file)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("probeWebM error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestProbeWebMFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/clip.webm")
	if err != nil {
		t.Fatal(err)
	}
	got, err := probeWebM(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (videoInfo{64, 32, 2000}); got != want {
		t.Fatalf("probeWebM(clip.webm) = %+v, want %+v", got, want)
	}
	if dt, err := ebmlDocType(b[:min(len(b), sniffLen)]); err != nil || dt != "webm" {
		t.Fatalf("ebmlDocType = %q, %v; want webm", dt, err)
	}
}

func TestReadVint(t *testing.T) {
	tests := []struct {
		in         []byte
		keepMarker bool
		v          uint64
		n          int
		ok         bool
	}{
		{[]byte{0x81}, false, 1, 1, true},
		{[]byte{0x81}, true, 0x81, 1, true},
		{[]byte{0x40, 0x02}, false, 2, 2, true},
		{[]byte{0x1A, 0x45, 0xDF, 0xA3}, true, 0x1A45DFA3, 4, true},
		{[]byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, false, 1<<56 - 1, 8, true},
		{[]byte{0x00, 0x01}, false, 0, 0, false},
		{[]byte{0x20, 0x01}, false, 0, 0, false}, // needs 3 bytes
		{nil, false, 0, 0, false},
	}
	for _, tt := range tests {
		v, n, ok := readVint(tt.in, tt.keepMarker)
		if v != tt.v || n != tt.n || ok != tt.ok {
			t.Errorf("readVint(% x, %v) = %d, %d, %v; want %d, %d, %v", tt.in, tt.keepMarker, v, n, ok, tt.v, tt.n, tt.ok)
		}
	}
}
