package media

import (
	"bufio"
	"encoding/binary"
	"math/rand/v2"
	"os"
)

// A small ISO-BMFF writer for synthetic MP4 test files. Exported (in a test
// file) so that package media_test and the benchmarks can use it too.

// BuildBox returns a box with a 32-bit size.
func BuildBox(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, typ...)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

// BuildBox64 returns a box with size 1 and a 64-bit largesize.
func BuildBox64(typ string, payload ...[]byte) []byte {
	n := 16
	for _, p := range payload {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(nil, 1)
	b = append(b, typ...)
	b = binary.BigEndian.AppendUint64(b, uint64(n))
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

// BuildFtyp returns an ftyp box.
func BuildFtyp(major string, compatible ...string) []byte {
	p := append([]byte(major), 0, 0, 2, 0)
	for _, c := range compatible {
		p = append(p, c...)
	}
	return BuildBox("ftyp", p)
}

// BuildMvhd returns an mvhd box of the given version (0 or 1).
func BuildMvhd(version byte, timescale uint32, duration uint64) []byte {
	p := []byte{version, 0, 0, 0}
	if version == 1 {
		p = binary.BigEndian.AppendUint64(p, 3600) // creation
		p = binary.BigEndian.AppendUint64(p, 3600) // modification
		p = binary.BigEndian.AppendUint32(p, timescale)
		p = binary.BigEndian.AppendUint64(p, duration)
	} else {
		p = binary.BigEndian.AppendUint32(p, 3600)
		p = binary.BigEndian.AppendUint32(p, 3600)
		p = binary.BigEndian.AppendUint32(p, timescale)
		p = binary.BigEndian.AppendUint32(p, uint32(duration))
	}
	p = binary.BigEndian.AppendUint32(p, 0x00010000) // rate 1.0
	p = append(p, 1, 0)                              // volume 1.0
	p = append(p, make([]byte, 10)...)               // reserved
	p = append(p, identityMatrix()...)
	p = append(p, make([]byte, 24)...)      // pre_defined
	p = binary.BigEndian.AppendUint32(p, 2) // next_track_ID
	return BuildBox("mvhd", p)
}

func identityMatrix() []byte {
	return matrix(0x00010000, 0, 0, 0x00010000)
}

func matrix(a, b, c, d uint32) []byte {
	var m []byte
	for _, v := range []uint32{a, b, 0, c, d, 0, 0, 0, 0x40000000} {
		m = binary.BigEndian.AppendUint32(m, v)
	}
	return m
}

// BuildTkhd returns a tkhd box of the given version with a w×h picture;
// quarterTurn sets a 90° rotation matrix.
func BuildTkhd(version byte, w, h int, quarterTurn bool) []byte {
	p := []byte{version, 0, 0, 3}
	if version == 1 {
		p = binary.BigEndian.AppendUint64(p, 3600)
		p = binary.BigEndian.AppendUint64(p, 3600)
		p = binary.BigEndian.AppendUint32(p, 1) // track_ID
		p = binary.BigEndian.AppendUint32(p, 0)
		p = binary.BigEndian.AppendUint64(p, 1000)
	} else {
		p = binary.BigEndian.AppendUint32(p, 3600)
		p = binary.BigEndian.AppendUint32(p, 3600)
		p = binary.BigEndian.AppendUint32(p, 1)
		p = binary.BigEndian.AppendUint32(p, 0)
		p = binary.BigEndian.AppendUint32(p, 1000)
	}
	p = append(p, make([]byte, 16)...) // reserved, layer, alternate_group, volume, reserved
	if quarterTurn {
		p = append(p, matrix(0, 0x00010000, 0xFFFF0000, 0)...)
	} else {
		p = append(p, identityMatrix()...)
	}
	p = binary.BigEndian.AppendUint32(p, uint32(w)<<16)
	p = binary.BigEndian.AppendUint32(p, uint32(h)<<16)
	return BuildBox("tkhd", p)
}

// BuildTrak wraps a tkhd (and any other boxes) in a trak.
func BuildTrak(children ...[]byte) []byte { return BuildBox("trak", children...) }

// BuildMP4 returns a minimal MP4: ftyp, an optional mdat of mdatLen bytes,
// and a moov with a 10 s mvhd (v0) and one w×h video track, the moov first
// or last.
func BuildMP4(w, h int, mdatLen int, moovFirst bool) []byte {
	ftyp := BuildFtyp("isom", "isom", "iso2", "avc1", "mp41")
	moov := BuildBox("moov", BuildMvhd(0, 1000, 10_000), BuildTrak(BuildTkhd(0, w, h, false)))
	mdat := BuildBox("mdat", make([]byte, mdatLen))
	if moovFirst {
		return concat(ftyp, moov, mdat)
	}
	return concat(ftyp, mdat, moov)
}

func concat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// WriteBigMP4 writes an MP4 with an mdat of mdatLen pseudo-random bytes
// (64-bit largesize) followed by the moov, streaming it to path.
func WriteBigMP4(path string, mdatLen int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.Write(BuildFtyp("isom", "isom", "mp41"))
	hdr := binary.BigEndian.AppendUint32(nil, 1)
	hdr = append(hdr, "mdat"...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(16+mdatLen))
	w.Write(hdr)
	rng := rand.NewPCG(1, 2)
	buf := make([]byte, 1<<20)
	for left := mdatLen; left > 0; {
		for i := 0; i+8 <= len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
		}
		n := min(left, int64(len(buf)))
		w.Write(buf[:n])
		left -= n
	}
	w.Write(BuildBox("moov", BuildMvhd(1, 90000, 90000*120), BuildTrak(BuildTkhd(0, 1920, 1080, false))))
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
