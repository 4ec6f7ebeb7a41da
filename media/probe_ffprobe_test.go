package media

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestParseFFprobe(t *testing.T) {
	tests := []struct {
		name, json string
		want       videoInfo
	}{
		{"plain", `{"streams":[{"codec_type":"audio"},{"codec_type":"video","width":1920,"height":1080,"duration":"9.5"}],
			"format":{"duration":"10.000000"}}`, videoInfo{1920, 1080, 10_000}},
		{"stream duration when the format has none", `{"streams":[{"codec_type":"video","width":64,"height":32,"duration":"2.0005"}],
			"format":{}}`, videoInfo{64, 32, 2001}},
		{"cover art skipped", `{"streams":[{"codec_type":"video","width":600,"height":600,"disposition":{"attached_pic":1}},
			{"codec_type":"video","width":1280,"height":720}],"format":{"duration":"1"}}`, videoInfo{1280, 720, 1000}},
		{"side data rotation", `{"streams":[{"codec_type":"video","width":1920,"height":1080,
			"side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}],"format":{"duration":"1"}}`,
			videoInfo{1080, 1920, 1000}},
		{"rotate tag", `{"streams":[{"codec_type":"video","width":1920,"height":1080,"tags":{"rotate":"270"}}],
			"format":{"duration":"1"}}`, videoInfo{1080, 1920, 1000}},
		{"half turn keeps size", `{"streams":[{"codec_type":"video","width":1920,"height":1080,"tags":{"rotate":"180"}}],
			"format":{"duration":"N/A"}}`, videoInfo{1920, 1080, 0}},
		{"no picture", `{"streams":[{"codec_type":"audio"}],"format":{"duration":"3"}}`, videoInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFFprobe([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("parseFFprobe = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := parseFFprobe([]byte(`{"streams":[]}`)); err == nil {
		t.Error("no streams: want an error")
	}
	if _, err := parseFFprobe([]byte(`not json`)); err == nil {
		t.Error("bad JSON: want an error")
	}
}

// The ffprobe path, only where ffprobe is installed.
func TestProbeFFprobe(t *testing.T) {
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Skip("ffprobe not installed")
	}
	for name, mime := range map[string]string{"clip.mp4": mimeMP4, "clip.webm": mimeWebM} {
		got, err := probeFFprobe(context.Background(), ffprobe, filepath.Join("testdata", name), mime)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := (videoInfo{64, 32, 2000}); got != want {
			t.Errorf("probeFFprobe(%s) = %+v, want %+v", name, got, want)
		}
	}
	if _, err := probeFFprobe(context.Background(), ffprobe, "testdata/README.md", mimeMP4); err == nil {
		t.Error("ffprobe on a text file: want an error")
	}
}
