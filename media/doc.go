// Package media is the media library: it accepts uploads of still images
// and video clips, stores each distinct content once, and cuts renditions
// to the exact pixel sizes of LED panels.
//
// # Uploads
//
// Library.Upload (or Stage then Commit) streams the body to a temp file
// under Dir/tmp while hashing it with SHA-256; the body is never held in
// memory. The format is decided from magic numbers alone — file names and
// client-declared types are ignored — and only JPEG, PNG, WebP, GIF (its
// first frame), MP4/MOV and WebM/Matroska are accepted. Each kind has a size
// limit enforced while reading. Images are checked in two steps: the header
// (image.DecodeConfig) must declare at most Config.MaxPixels and
// Config.MaxSide before anything is fully decoded, which defeats
// decompression bombs; then a full decode must succeed, which rejects
// truncated or corrupt files. Videos are probed for size and duration by
// ffprobe when installed, else by the built-in MP4 box and Matroska/EBML
// readers, which read headers only and seek past media data.
//
// # Blobs
//
// Originals live at Dir/blobs/<sha[:2]>/<sha>. Two uploads of the same bytes
// make two items sharing one blob; the blob and its renditions are removed
// with the last item. Every file is written to Dir/tmp, synced and renamed
// into place, so no reader sees a partial file, and a crash leaves debris
// only in Dir/tmp, which NewLibrary empties.
//
// # Renditions
//
// Library.Rendition cuts an item to exactly w×h pixels (fill, fit or
// stretch; see Fit) as JPEG, or PNG when the source has transparency, and
// caches the result at Dir/renditions/<sha[:2]>/<sha>_<w>x<h>_<fit>.<ext>.
// Concurrent identical requests share one generation (singleflight), and
// generation runs in a bounded worker pool (Config.RenditionWorkers) that
// also serves upload decodes: the pool is what bounds memory, since a decoded
// 24-megapixel photo takes tens of megabytes. Video renditions use a frame
// cut by ffmpeg, when installed.
//
// Image processing goes through one file, imaging.go, the only user of
// github.com/disintegration/imaging.
//
// # Errors
//
// Errors carry marquee codes: EINVALID (bad input, corrupt or oversized
// images), EUNSUPPORTED (refused format), ETOOLARGE (over the byte limit),
// ENOTFOUND, ECONFLICT (passed through from the store), EUNAVAILABLE (after
// Close). Their messages are safe to show to users and never contain paths.
package media
