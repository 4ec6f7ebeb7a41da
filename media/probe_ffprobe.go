package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"time"
)

// ffprobeTimeout bounds one ffprobe run.
const ffprobeTimeout = 30 * time.Second

// ffprobeOutput is the part of `ffprobe -show_format -show_streams -of json`
// that the library reads.
type ffprobeOutput struct {
	Streams []struct {
		CodecType   string `json:"codec_type"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
		Duration    string `json:"duration"`
		Disposition struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		Tags struct {
			Rotate string `json:"rotate"`
		} `json:"tags"`
		SideDataList []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// demuxer names the ffmpeg demuxer for a sniffed video type. Forcing it
// keeps ffprobe and ffmpeg from guessing some other format (a playlist that
// fetches URLs, say) from crafted content.
func demuxer(mime string) string {
	if mime == mimeWebM || mime == mimeMatroska {
		return "matroska"
	}
	return "mov"
}

// probeFFprobe runs ffprobe on path, a video of type mime, and parses its
// JSON.
func probeFFprobe(ctx context.Context, ffprobe, path, mime string) (videoInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, ffprobeTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json",
		"-f", demuxer(mime), "--", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return videoInfo{}, fmt.Errorf("ffprobe: %w: %s", err, firstLine(stderr.Bytes()))
	}
	return parseFFprobe(stdout.Bytes())
}

// parseFFprobe extracts the size of the first video stream (cover art
// excluded), swapped for a ±90° rotation, and the duration of the container
// (or, failing that, of the stream).
func parseFFprobe(out []byte) (videoInfo, error) {
	var p ffprobeOutput
	if err := json.Unmarshal(out, &p); err != nil {
		return videoInfo{}, fmt.Errorf("parse ffprobe output: %w", err)
	}
	var info videoInfo
	for _, s := range p.Streams {
		if s.CodecType != "video" || s.Disposition.AttachedPic != 0 || s.Width <= 0 || s.Height <= 0 {
			continue
		}
		info.Width, info.Height = s.Width, s.Height
		rot, _ := strconv.ParseFloat(s.Tags.Rotate, 64)
		for _, sd := range s.SideDataList {
			if sd.Rotation != nil {
				rot = *sd.Rotation
			}
		}
		if r := math.Mod(math.Abs(rot), 180); r == 90 {
			info.Width, info.Height = info.Height, info.Width
		}
		if info.DurationMS = secondsToMS(p.Format.Duration); info.DurationMS == 0 {
			info.DurationMS = secondsToMS(s.Duration)
		}
		return info, nil
	}
	if len(p.Streams) == 0 {
		return videoInfo{}, errors.New("ffprobe found no streams")
	}
	return info, nil // no picture: the caller refuses it
}

// secondsToMS parses ffprobe's decimal seconds; 0 when absent or invalid.
func secondsToMS(s string) int64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > math.MaxInt64/2000 {
		return 0
	}
	return int64(math.Round(f * 1000))
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
