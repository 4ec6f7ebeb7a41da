package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// maxMP4Boxes bounds how many box headers one probe reads.
const maxMP4Boxes = 100_000

var errMP4Corrupt = errors.New("corrupt MP4 box structure")

// mp4Box is one box header read from a file.
type mp4Box struct {
	Type string
	Data int64 // offset of the payload (after size, type and any largesize)
	End  int64 // offset just past the box
}

// mp4Reader reads ISO base media (MP4/MOV) box headers and small payloads at
// offsets; it never reads media data.
type mp4Reader struct {
	r     io.ReaderAt
	size  int64
	boxes int
}

// box reads the box header at pos inside a parent ending at end. A 32-bit
// size of 1 means a 64-bit largesize follows; 0 means "to the end of the
// parent" (the file, at top level).
func (m *mp4Reader) box(pos, end int64) (mp4Box, error) {
	if m.boxes++; m.boxes > maxMP4Boxes {
		return mp4Box{}, errors.New("too many MP4 boxes")
	}
	var hdr [16]byte
	if end-pos < 8 {
		return mp4Box{}, io.ErrUnexpectedEOF
	}
	if _, err := m.r.ReadAt(hdr[:8], pos); err != nil {
		return mp4Box{}, eofIsTruncation(err)
	}
	b := mp4Box{Type: string(hdr[4:8]), Data: pos + 8}
	size := uint64(binary.BigEndian.Uint32(hdr[0:4]))
	switch size {
	case 0:
		b.End = end
		return b, nil
	case 1:
		if end-pos < 16 {
			return mp4Box{}, io.ErrUnexpectedEOF
		}
		if _, err := m.r.ReadAt(hdr[8:16], pos+8); err != nil {
			return mp4Box{}, eofIsTruncation(err)
		}
		size = binary.BigEndian.Uint64(hdr[8:16])
		b.Data = pos + 16
	}
	if size < uint64(b.Data-pos) {
		return mp4Box{}, fmt.Errorf("box %q of size %d: %w", b.Type, size, errMP4Corrupt)
	}
	if size > uint64(end-pos) {
		if end == m.size {
			return mp4Box{}, fmt.Errorf("box %q: %w", b.Type, io.ErrUnexpectedEOF)
		}
		return mp4Box{}, fmt.Errorf("box %q overruns its parent: %w", b.Type, errMP4Corrupt)
	}
	b.End = pos + int64(size)
	return b, nil
}

func eofIsTruncation(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// find returns the first child of type typ between start and end.
func (m *mp4Reader) find(start, end int64, typ string) (mp4Box, bool, error) {
	for pos := start; pos < end; {
		b, err := m.box(pos, end)
		if err != nil {
			return mp4Box{}, false, err
		}
		if b.Type == typ {
			return b, true, nil
		}
		pos = b.End
	}
	return mp4Box{}, false, nil
}

// payload reads up to n bytes of b's payload; it fails if b holds fewer.
func (m *mp4Reader) payload(b mp4Box, n int) ([]byte, error) {
	if b.End-b.Data < int64(n) {
		return nil, fmt.Errorf("box %q too short: %w", b.Type, errMP4Corrupt)
	}
	buf := make([]byte, n)
	if _, err := m.r.ReadAt(buf, b.Data); err != nil {
		return nil, eofIsTruncation(err)
	}
	return buf, nil
}

// probeMP4 reads duration and picture size from an MP4/MOV file of the given
// size: moov/mvhd (version 0 or 1) gives the duration, and the tkhd of the
// first track with a non-zero size gives width and height, swapped when the
// track matrix rotates by 90° or 270°. The moov box may be anywhere in the
// file (phones and ffmpeg without +faststart put it after mdat); boxes are
// skipped by seeking, so the media data is never read.
func probeMP4(r io.ReaderAt, size int64) (videoInfo, error) {
	m := &mp4Reader{r: r, size: size}
	var moov mp4Box
	for pos, found := int64(0), false; !found; pos = moov.End {
		if pos >= size {
			return videoInfo{}, errors.New("no moov box")
		}
		b, err := m.box(pos, size)
		if err != nil {
			return videoInfo{}, err
		}
		moov, found = b, b.Type == "moov"
	}
	var info videoInfo
	haveMvhd := false
	for pos := moov.Data; pos < moov.End; {
		b, err := m.box(pos, moov.End)
		if err != nil {
			return videoInfo{}, fmt.Errorf("read moov: %w", err)
		}
		switch b.Type {
		case "mvhd":
			if info.DurationMS, err = m.mvhd(b); err != nil {
				return videoInfo{}, err
			}
			haveMvhd = true
		case "trak":
			if info.Width == 0 {
				if info.Width, info.Height, err = m.trak(b); err != nil {
					return videoInfo{}, err
				}
			}
		}
		pos = b.End
	}
	if !haveMvhd {
		return videoInfo{}, errors.New("no mvhd box")
	}
	return info, nil
}

// mvhd returns the movie duration in milliseconds; 0 when unknown.
func (m *mp4Reader) mvhd(b mp4Box) (int64, error) {
	head, err := m.payload(b, 1)
	if err != nil {
		return 0, fmt.Errorf("read mvhd: %w", err)
	}
	var timescale uint32
	var duration uint64
	switch head[0] {
	case 0: // version, flags, creation, modification, timescale, duration (32-bit)
		p, err := m.payload(b, 20)
		if err != nil {
			return 0, fmt.Errorf("read mvhd: %w", err)
		}
		timescale = binary.BigEndian.Uint32(p[12:16])
		duration = uint64(binary.BigEndian.Uint32(p[16:20]))
		if duration == math.MaxUint32 {
			duration = 0
		}
	case 1: // as version 0 with 64-bit times and duration
		p, err := m.payload(b, 32)
		if err != nil {
			return 0, fmt.Errorf("read mvhd: %w", err)
		}
		timescale = binary.BigEndian.Uint32(p[20:24])
		duration = binary.BigEndian.Uint64(p[24:32])
		if duration == math.MaxUint64 {
			duration = 0
		}
	default:
		return 0, fmt.Errorf("mvhd version %d: %w", head[0], errMP4Corrupt)
	}
	if timescale == 0 {
		return 0, fmt.Errorf("mvhd timescale 0: %w", errMP4Corrupt)
	}
	ts := uint64(timescale)
	ms := duration/ts*1000 + duration%ts*1000/ts
	if ms > math.MaxInt64/2 {
		return 0, nil
	}
	return int64(ms), nil
}

// trak returns the size from a track's tkhd (0×0 for sound and data tracks).
func (m *mp4Reader) trak(trak mp4Box) (w, h int, err error) {
	tkhd, ok, err := m.find(trak.Data, trak.End, "tkhd")
	if err != nil || !ok {
		return 0, 0, err
	}
	head, err := m.payload(tkhd, 1)
	if err != nil {
		return 0, 0, fmt.Errorf("read tkhd: %w", err)
	}
	// Offset of the matrix; width and height (16.16 fixed point) follow it.
	var matrix int
	switch head[0] {
	case 0:
		matrix = 40
	case 1:
		matrix = 52
	default:
		return 0, 0, fmt.Errorf("tkhd version %d: %w", head[0], errMP4Corrupt)
	}
	p, err := m.payload(tkhd, matrix+36+8)
	if err != nil {
		return 0, 0, fmt.Errorf("read tkhd: %w", err)
	}
	w = int(binary.BigEndian.Uint32(p[matrix+36:]) >> 16)
	h = int(binary.BigEndian.Uint32(p[matrix+40:]) >> 16)
	a := int32(binary.BigEndian.Uint32(p[matrix:]))
	d := int32(binary.BigEndian.Uint32(p[matrix+16:]))
	if a == 0 && d == 0 { // {0, ±1, ±1, 0}: a quarter turn
		w, h = h, w
	}
	return w, h, nil
}
