// Package waves reads VCD and FST waveform dumps, indexes each one once,
// and answers time-window queries downsampled to the pixels on screen, so
// a browser never loads a whole dump.
//
// Readers. The VCD reader is a streaming tokenizer over one 1 MiB buffer;
// the FST reader decodes the format as GTKWave's fstapi writes it: the
// header, the hierarchy (gzip, LZ4 or twice-LZ4), the geometry, and value
// change blocks of all three kinds with zlib, LZ4 or FastLZ chains, their
// time tables and position tables (including dynamic aliases), and dumps
// wrapped whole in gzip (vcd2fst -c). A separate ".hier" side file is not
// read. Both readers normalize values the same way: vectors padded to
// their width as binary strings MSB first with lower-case x/z, reals
// formatted by strconv ('g', shortest), so one dump gives the same change
// lists from either format.
//
// Index. Changes stream into a builder that keeps, per handle (a VCD
// identifier or FST handle; aliases share one), a run of delta-encoded
// changes: one varint per scalar change (time delta and value code),
// vectors packed one or two bits per bit. A run becomes a chunk in the
// cache file when it reaches 16 KiB, and every run is written out once
// all of them together hold 32 MiB, so memory while indexing is bounded
// by that budget whatever the dump's size. In memory stay only the
// scope tree and, per handle, its chunk table (offset, size, count, first
// and last time): for a 1 GiB VCD that is about a megabyte. A window
// query binary-searches the chunk table for the chunks overlapping the
// window, reads only those (pread; the page cache keeps hot ones), and
// decodes them through the downsampler; signals are decoded in parallel.
// The cache (Options.CacheDir) holds <id>.data and a gob <id>.meta, so an
// index survives a restart; the id hashes path, size and mtime, so a
// changed file gets a new id and a new index, and the old one is removed.
//
// Downsampling. A window covers (start, end] with pixels columns of
// (end-start)/pixels time units. A pixel holding one change sends it as
// is; a pixel holding several sends one entry with the value "*" at its
// first change, and when the next pixel has no change of its own, the
// value the signal settled to follows at the start of that pixel, so the
// viewer knows where the band ends and what it ends in. A signal never
// gets more than pixels+1 entries.
//
// The HTTP routes (http.go) are a thin layer over Service and Dump.
package waves
