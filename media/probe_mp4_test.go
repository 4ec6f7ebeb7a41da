package media

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func TestProbeMP4(t *testing.T) {
	ftyp := BuildFtyp("isom", "isom", "mp41")
	mdat := BuildBox("mdat", make([]byte, 1000))
	video := BuildTrak(BuildTkhd(0, 640, 360, false))
	sound := BuildTrak(BuildTkhd(0, 0, 0, false))
	tests := []struct {
		name string
		file []byte
		want videoInfo
	}{
		{"moov first", concat(ftyp, BuildBox("moov", BuildMvhd(0, 1000, 12_345), video), mdat),
			videoInfo{640, 360, 12_345}},
		{"moov at end", concat(ftyp, mdat, BuildBox("moov", BuildMvhd(0, 600, 1200), video)),
			videoInfo{640, 360, 2000}},
		{"64-bit sizes", concat(ftyp, BuildBox64("mdat", make([]byte, 100)),
			BuildBox64("moov", BuildMvhd(0, 1000, 500), BuildBox64("trak", BuildTkhd(0, 32, 16, false)))),
			videoInfo{32, 16, 500}},
		{"mvhd and tkhd version 1", concat(ftyp, BuildBox("moov", BuildMvhd(1, 90000, 90000*3600*30),
			BuildTrak(BuildTkhd(1, 3840, 2160, false))), mdat),
			videoInfo{3840, 2160, 3600 * 30 * 1000}},
		{"first track with a size wins", concat(ftyp, BuildBox("moov", BuildMvhd(0, 1000, 1),
			sound, video, BuildTrak(BuildTkhd(0, 10, 10, false)))),
			videoInfo{640, 360, 1}},
		{"rotated track", concat(ftyp, BuildBox("moov", BuildMvhd(0, 1000, 1),
			BuildTrak(BuildTkhd(0, 1920, 1080, true)))),
			videoInfo{1080, 1920, 1}},
		{"last box size 0 runs to the end", concat(ftyp, BuildBox("moov", BuildMvhd(0, 1000, 7), video),
			[]byte{0, 0, 0, 0, 'm', 'd', 'a', 't', 1, 2, 3}),
			videoInfo{640, 360, 7}},
		{"moov of size 0 at the end", concat(ftyp, mdat, sizeZero(BuildBox("moov", BuildMvhd(0, 1000, 9), video))),
			videoInfo{640, 360, 9}},
		{"unknown duration", concat(ftyp, BuildBox("moov", BuildMvhd(0, 1000, 0xFFFFFFFF), video)),
			videoInfo{640, 360, 0}},
		{"audio only", concat(ftyp, BuildBox("moov", BuildMvhd(0, 1000, 5), sound)),
			videoInfo{0, 0, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := probeMP4(bytes.NewReader(tt.file), int64(len(tt.file)))
			if err != nil {
				t.Fatalf("probeMP4: %v", err)
			}
			if got != tt.want {
				t.Fatalf("probeMP4 = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// sizeZero rewrites a box's 32-bit size to 0 ("extends to the end").
func sizeZero(b []byte) []byte {
	b = bytes.Clone(b)
	copy(b, []byte{0, 0, 0, 0})
	return b
}

func TestProbeMP4Invalid(t *testing.T) {
	ftyp := BuildFtyp("isom", "isom")
	moov := BuildBox("moov", BuildMvhd(0, 1000, 1000), BuildTrak(BuildTkhd(0, 64, 32, false)))
	whole := concat(ftyp, BuildBox("mdat", make([]byte, 100)), moov)
	tests := []struct {
		name, wantErr string
		file          []byte
	}{
		{"no moov", "no moov", concat(ftyp, BuildBox("mdat", make([]byte, 10)))},
		{"no mvhd", "no mvhd", concat(ftyp, BuildBox("moov", BuildTrak(BuildTkhd(0, 64, 32, false))))},
		{"truncated moov", "unexpected EOF", whole[:len(whole)-10]},
		{"truncated mdat", "unexpected EOF", concat(ftyp, BuildBox("mdat", make([]byte, 100)))[:60]},
		{"box smaller than its header", "corrupt", concat(ftyp, []byte{0, 0, 0, 4, 'f', 'r', 'e', 'e'})},
		{"child overruns moov", "corrupt", concat(ftyp, BuildBox("moov", BuildMvhd(0, 1000, 1)[:50]), make([]byte, 60))},
		{"mvhd timescale 0", "timescale", concat(ftyp, BuildBox("moov", BuildMvhd(0, 0, 1)))},
		{"short mvhd", "too short", concat(ftyp, BuildBox("moov", BuildBox("mvhd", []byte{0, 0, 0, 0, 1})))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := probeMP4(bytes.NewReader(tt.file), int64(len(tt.file)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("probeMP4 error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// countingReaderAt counts the bytes a probe reads.
type countingReaderAt struct {
	r     io.ReaderAt
	bytes int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.bytes += int64(len(p))
	return c.r.ReadAt(p, off)
}

// The probe seeks past mdat: a moov after 50 MB of media costs a few
// hundred bytes of reads.
func TestProbeMP4SeeksPastMediaData(t *testing.T) {
	mdat := make([]byte, 50<<20)
	file := concat(BuildFtyp("isom"), BuildBox("mdat", mdat),
		BuildBox("moov", BuildMvhd(0, 1000, 1), BuildTrak(BuildTkhd(0, 8, 8, false))))
	r := &countingReaderAt{r: bytes.NewReader(file)}
	if _, err := probeMP4(r, int64(len(file))); err != nil {
		t.Fatal(err)
	}
	if r.bytes > 1024 {
		t.Fatalf("probe read %d bytes, want < 1024", r.bytes)
	}
}

func TestProbeMP4Fixture(t *testing.T) {
	f, err := os.Open("testdata/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	got, err := probeMP4(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if want := (videoInfo{64, 32, 2000}); got != want {
		t.Fatalf("probeMP4(clip.mp4) = %+v, want %+v", got, want)
	}
}

func TestProbeMP4TooManyBoxes(t *testing.T) {
	var file []byte
	file = append(file, BuildFtyp("isom")...)
	for range maxMP4Boxes + 1 {
		file = append(file, BuildBox("free")...)
	}
	_, err := probeMP4(bytes.NewReader(file), int64(len(file)))
	if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("probeMP4 error = %v, want too many boxes", err)
	}
}
