// Package export writes report tables as CSV or XLSX, streaming rows from
// the producer to the writer so that no report is held whole in memory.
//
// A report describes itself as a [Table]: bilingual column titles and a
// Rows function that emits one row at a time (typically while paging
// through the store). [WriteCSV] writes each row as it arrives and flushes
// every [FlushEvery] rows; [WriteXLSX] streams rows into excelize's
// StreamWriter, which keeps at most its 16 MiB chunk of each sheet in
// memory and spills the rest to a temporary file. An XLSX file is a zip
// archive whose parts must be complete before they are written, so
// WriteXLSX writes nothing to w until every table has been read: memory is
// bounded (about 16 MiB per sheet plus the zip buffers), latency is not.
// Use CSV for very large logs.
//
// Column titles are Vietnamese by default (the deployments this serves
// are in Viet Nam), English with [English]. Times are written in the
// location of [Options.Location], Asia/Ho_Chi_Minh by default.
package export
