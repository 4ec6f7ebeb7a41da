package media

import (
	"context"
	"io"

	"github.com/marquee-signage/marquee"
)

// videoInfo is what a video probe learns.
type videoInfo struct {
	Width, Height int   // picture size as displayed
	DurationMS    int64 // 0 when the container does not say
}

// probeVideo fills in a staged video's size and duration. ffprobe is
// preferred when configured: it understands every container quirk. If it is
// absent or fails (it may be missing codecs, or time out), the built-in
// MP4 or WebM reader decides. A video whose container is unreadable, or that
// has no picture, is EINVALID.
func (l *Library) probeVideo(ctx context.Context, s *Staged) error {
	var info videoInfo
	var err error
	if l.ffprobe != "" {
		if info, err = probeFFprobe(ctx, l.ffprobe, s.path, s.MIME); err != nil {
			l.log.Debug("ffprobe failed; using the built-in video probe", "err", err)
		}
	}
	if l.ffprobe == "" || err != nil {
		info, err = probeBuiltin(s.file, s.Size, s.MIME)
	}
	if err != nil {
		return marquee.WrapError(marquee.EINVALID, err, "the video is corrupt or truncated")
	}
	if info.Width <= 0 || info.Height <= 0 {
		return marquee.Errorf(marquee.EINVALID, "the video has no picture")
	}
	s.Width, s.Height, s.DurationMS = info.Width, info.Height, info.DurationMS
	return nil
}

// probeBuiltin probes with the pure-Go container readers.
func probeBuiltin(r io.ReaderAt, size int64, mime string) (videoInfo, error) {
	switch mime {
	case mimeWebM, mimeMatroska:
		return probeWebM(r, size)
	default:
		return probeMP4(r, size)
	}
}
