package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"os/exec"

	"github.com/marquee-signage/marquee"
)

// videoFrame extracts one frame of the video at blob with ffmpeg, into a
// temp PNG under Dir/tmp, and decodes it. The frame is taken at 1 s when the
// clip is longer than that (the first frame is often black), else at 0;
// if seeking to 1 s yields nothing, the first frame is used. ffmpeg applies
// the track rotation itself.
func (l *Library) videoFrame(ctx context.Context, blob, mime string, durationMS int64) (image.Image, error) {
	if l.ffmpeg == "" {
		return nil, marquee.Errorf(marquee.EUNSUPPORTED, "video renditions need ffmpeg on the server")
	}
	f, err := os.CreateTemp(l.tmpDir, "frame-*.png")
	if err != nil {
		return nil, fmt.Errorf("create frame file: %w", err)
	}
	png := f.Name()
	f.Close()
	defer os.Remove(png)

	at := "0"
	if durationMS > 1000 || durationMS == 0 {
		at = "1"
	}
	err = l.extractFrame(ctx, blob, mime, at, png)
	if at != "0" && (err != nil || empty(png)) {
		err = l.extractFrame(ctx, blob, mime, "0", png)
	}
	if err == nil && empty(png) {
		err = fmt.Errorf("ffmpeg wrote no frame")
	}
	if err != nil {
		return nil, marquee.WrapError(marquee.EINVALID, err, "could not extract a frame from the video")
	}
	img, err := l.decodeImageFile(png, mimePNG)
	if err != nil {
		return nil, fmt.Errorf("decode video frame: %w", err)
	}
	return img, nil
}

// extractFrame runs ffmpeg to write the frame at the given offset (seconds)
// of blob, a video of type mime, to png.
func (l *Library) extractFrame(ctx context.Context, blob, mime, at, png string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, l.ffmpeg, "-nostdin", "-v", "error", "-y",
		"-ss", at, "-f", demuxer(mime), "-i", blob, "-frames:v", "1", "-an", "-sn", "-f", "image2", "-c:v", "png", png)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ffmpeg: %w: %s", err, firstLine(stderr.Bytes()))
	}
	return nil
}

func empty(path string) bool {
	st, err := os.Stat(path)
	return err != nil || st.Size() == 0
}
