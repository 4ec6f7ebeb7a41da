package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// EBML and Matroska element IDs (RFC 8794, RFC 9559), marker bits kept.
const (
	ebmlIDHeader        = 0x1A45DFA3
	ebmlIDDocType       = 0x4282
	mkvIDSegment        = 0x18538067
	mkvIDInfo           = 0x1549A966
	mkvIDTimestampScale = 0x2AD7B1
	mkvIDDuration       = 0x4489
	mkvIDTracks         = 0x1654AE6B
	mkvIDTrackEntry     = 0xAE
	mkvIDTrackType      = 0x83
	mkvIDVideo          = 0xE0
	mkvIDPixelWidth     = 0xB0
	mkvIDPixelHeight    = 0xBA
	mkvIDCluster        = 0x1F43B675
)

// maxEBMLElements bounds how many element headers one probe reads, so that a
// file of millions of tiny blocks cannot keep a probe busy for long.
const maxEBMLElements = 1_000_000

var errEBMLCorrupt = errors.New("corrupt EBML structure")

// ebmlElement is one element header read from a file.
type ebmlElement struct {
	ID      uint32
	Data    int64 // offset of the payload
	End     int64 // offset just past the payload; the parent's end when Unknown
	Unknown bool  // the size field was "unknown" (all value bits set)
}

// ebmlReader reads EBML element headers and small payloads at offsets, so a
// probe touches only the bytes it needs.
type ebmlReader struct {
	r     io.ReaderAt
	size  int64
	reads int
}

// element reads the header at pos inside a parent ending at end.
func (e *ebmlReader) element(pos, end int64) (ebmlElement, error) {
	if e.reads++; e.reads > maxEBMLElements {
		return ebmlElement{}, errors.New("too many EBML elements")
	}
	if pos >= end {
		return ebmlElement{}, io.ErrUnexpectedEOF
	}
	var buf [12]byte
	n, err := e.r.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
	if n == 0 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return ebmlElement{}, err
	}
	id, idLen, ok := readVint(buf[:n], true)
	if !ok || idLen > 4 {
		return ebmlElement{}, errEBMLCorrupt
	}
	size, sizeLen, ok := readVint(buf[idLen:n], false)
	if !ok {
		return ebmlElement{}, errEBMLCorrupt
	}
	el := ebmlElement{ID: uint32(id), Data: pos + int64(idLen+sizeLen)}
	if el.Data > end {
		return ebmlElement{}, io.ErrUnexpectedEOF
	}
	if size == vintUnknown(sizeLen) {
		el.Unknown, el.End = true, end
		return el, nil
	}
	if size > uint64(end-el.Data) {
		if el.Data+int64(min(size, math.MaxInt64/2)) > e.size {
			return ebmlElement{}, io.ErrUnexpectedEOF // the file is truncated
		}
		return ebmlElement{}, errEBMLCorrupt // a child overruns its parent
	}
	el.End = el.Data + int64(size)
	return el, nil
}

// readVint decodes an EBML variable-length integer from b. IDs keep their
// length-marker bit; sizes drop it.
func readVint(b []byte, keepMarker bool) (v uint64, n int, ok bool) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0, false
	}
	n = 1
	for mask := byte(0x80); b[0]&mask == 0; mask >>= 1 {
		n++
	}
	if len(b) < n {
		return 0, 0, false
	}
	v = uint64(b[0])
	if !keepMarker {
		v &= 0xFF >> n
	}
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, true
}

// vintUnknown is the reserved "unknown size" value of an n-byte size field.
func vintUnknown(n int) uint64 { return 1<<(7*n) - 1 }

// payload reads el's payload, which must be at most max bytes.
func (e *ebmlReader) payload(el ebmlElement, max int64) ([]byte, error) {
	if el.Unknown || el.End-el.Data > max {
		return nil, errEBMLCorrupt
	}
	b := make([]byte, el.End-el.Data)
	if _, err := e.r.ReadAt(b, el.Data); err != nil && !(err == io.EOF && len(b) > 0) {
		return nil, err
	}
	return b, nil
}

func (e *ebmlReader) uint(el ebmlElement) (uint64, error) {
	b, err := e.payload(el, 8)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (e *ebmlReader) float(el ebmlElement) (float64, error) {
	b, err := e.payload(el, 8)
	if err != nil {
		return 0, err
	}
	switch len(b) {
	case 0:
		return 0, nil
	case 4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	}
	return 0, errEBMLCorrupt
}

// ebmlDocType returns the DocType of the EBML header at the start of head
// ("matroska", the default, when the header has none).
func ebmlDocType(head []byte) (string, error) {
	e := &ebmlReader{r: bytes.NewReader(head), size: int64(len(head))}
	hdr, err := e.element(0, e.size)
	if err != nil {
		return "", fmt.Errorf("read EBML header: %w", err)
	}
	if hdr.ID != ebmlIDHeader || hdr.Unknown {
		return "", errEBMLCorrupt
	}
	for pos := hdr.Data; pos < hdr.End; {
		el, err := e.element(pos, hdr.End)
		if err != nil {
			return "", fmt.Errorf("read EBML header: %w", err)
		}
		if el.ID == ebmlIDDocType {
			b, err := e.payload(el, 64)
			if err != nil {
				return "", fmt.Errorf("read DocType: %w", err)
			}
			return string(bytes.TrimRight(b, "\x00")), nil
		}
		if el.Unknown {
			return "", errEBMLCorrupt
		}
		pos = el.End
	}
	return "matroska", nil
}

// probeWebM reads duration and picture size from a WebM/Matroska file of
// the given size: Segment/Info (TimestampScale, Duration) and the first video
// TrackEntry's PixelWidth/PixelHeight. Only element headers and the few
// payloads needed are read. An unknown-size Segment extends to the end of
// the file; an unknown-size Cluster is walked through, its children skipped
// by their own sizes (RFC 9559 allows unknown sizes only for those two).
func probeWebM(r io.ReaderAt, size int64) (videoInfo, error) {
	e := &ebmlReader{r: r, size: size}
	hdr, err := e.element(0, size)
	if err != nil || hdr.ID != ebmlIDHeader || hdr.Unknown {
		return videoInfo{}, fmt.Errorf("read EBML header: %w", orCorrupt(err))
	}
	pos := hdr.End
	for {
		if pos >= size {
			return videoInfo{}, errors.New("no Segment element")
		}
		el, err := e.element(pos, size)
		if err != nil {
			return videoInfo{}, fmt.Errorf("find Segment: %w", err)
		}
		if el.ID == mkvIDSegment {
			return e.segment(el)
		}
		if el.Unknown {
			return videoInfo{}, fmt.Errorf("find Segment: %w", errEBMLCorrupt)
		}
		pos = el.End
	}
}

func orCorrupt(err error) error {
	if err == nil {
		return errEBMLCorrupt
	}
	return err
}

// segment walks a Segment's children until it has seen Info and Tracks.
func (e *ebmlReader) segment(seg ebmlElement) (videoInfo, error) {
	var (
		info                videoInfo
		haveInfo, haveTrack bool
	)
	for pos := seg.Data; pos < seg.End && !(haveInfo && haveTrack); {
		el, err := e.element(pos, seg.End)
		if err != nil {
			return videoInfo{}, fmt.Errorf("read Segment: %w", err)
		}
		switch {
		case el.ID == mkvIDCluster && el.Unknown:
			pos = el.Data // walk through: its children are skipped one by one
			continue
		case el.Unknown:
			return videoInfo{}, fmt.Errorf("unknown-size element %#x: %w", el.ID, errEBMLCorrupt)
		case el.ID == mkvIDInfo:
			if info.DurationMS, err = e.info(el); err != nil {
				return videoInfo{}, fmt.Errorf("read Info: %w", err)
			}
			haveInfo = true
		case el.ID == mkvIDTracks:
			w, h, err := e.tracks(el)
			if err != nil {
				return videoInfo{}, fmt.Errorf("read Tracks: %w", err)
			}
			info.Width, info.Height, haveTrack = w, h, w > 0 && h > 0
		}
		pos = el.End
	}
	if !haveInfo {
		return videoInfo{}, errors.New("no Info element")
	}
	return info, nil
}

// info returns the duration in milliseconds (0 when absent).
func (e *ebmlReader) info(parent ebmlElement) (int64, error) {
	scale, dur := uint64(1_000_000), 0.0 // TimestampScale defaults to 1 ms
	err := e.children(parent, func(el ebmlElement) (err error) {
		switch el.ID {
		case mkvIDTimestampScale:
			scale, err = e.uint(el)
		case mkvIDDuration:
			dur, err = e.float(el)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	ms := dur * float64(scale) / 1e6
	if math.IsNaN(ms) || ms < 0 || ms > math.MaxInt64/2 {
		return 0, nil
	}
	return int64(math.Round(ms)), nil
}

// tracks returns the picture size of the first video track (0×0 if none).
func (e *ebmlReader) tracks(parent ebmlElement) (w, h int, err error) {
	err = e.children(parent, func(entry ebmlElement) error {
		if entry.ID != mkvIDTrackEntry || w > 0 {
			return nil
		}
		var tw, th uint64
		err := e.children(entry, func(el ebmlElement) error {
			if el.ID != mkvIDVideo {
				return nil
			}
			return e.children(el, func(el ebmlElement) (err error) {
				switch el.ID {
				case mkvIDPixelWidth:
					tw, err = e.uint(el)
				case mkvIDPixelHeight:
					th, err = e.uint(el)
				}
				return err
			})
		})
		if err == nil && tw > 0 && th > 0 && tw <= math.MaxInt32 && th <= math.MaxInt32 {
			w, h = int(tw), int(th)
		}
		return err
	})
	return w, h, err
}

// children calls fn for each child of a known-size master element.
func (e *ebmlReader) children(parent ebmlElement, fn func(ebmlElement) error) error {
	if parent.Unknown {
		return errEBMLCorrupt
	}
	for pos := parent.Data; pos < parent.End; {
		el, err := e.element(pos, parent.End)
		if err != nil {
			return err
		}
		if el.Unknown {
			return errEBMLCorrupt
		}
		if err := fn(el); err != nil {
			return err
		}
		pos = el.End
	}
	return nil
}
