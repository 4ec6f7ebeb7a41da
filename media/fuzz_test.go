package media

import (
	"bytes"
	"os"
	"testing"
)

// The probes and the sniffer read untrusted bytes: they must never panic
// or loop, whatever they are given.

func FuzzProbeMP4(f *testing.F) {
	f.Add(BuildMP4(64, 32, 10, true))
	f.Add(concat(BuildFtyp("isom"), BuildBox64("moov", BuildMvhd(1, 1, 1), BuildTrak(BuildTkhd(1, 1, 1, true)))))
	if b, err := os.ReadFile("testdata/clip.mp4"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		probeMP4(bytes.NewReader(b), int64(len(b)))
	})
}

func FuzzProbeWebM(f *testing.F) {
	f.Add(concat(ebmlHeader("webm"), elUnknown(mkvIDSegment), el(mkvIDInfo, f64El(mkvIDDuration, 1)),
		webmTracks(8, 8), elUnknown(mkvIDCluster), el(0xA3, []byte{1})))
	if b, err := os.ReadFile("testdata/clip.webm"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		probeWebM(bytes.NewReader(b), int64(len(b)))
	})
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add(BuildFtyp("isom", "iso2"))
	f.Add(ebmlHeader("webm"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0 {
			sniff(b)
		}
	})
}
