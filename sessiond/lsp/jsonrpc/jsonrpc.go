// Package jsonrpc reads and writes the Content-Length framed JSON-RPC
// messages that language servers speak over stdio (the LSP base protocol).
//
// It moves message bodies as opaque bytes, so a proxy can pass them through
// unchanged, and it is forgiving where real servers are sloppy: header names
// are case-insensitive, Content-Type is optional, and stray non-LSP output on
// stdout (a debug print, a banner) is reported and skipped instead of
// breaking the stream. go.lsp.dev/jsonrpc2's header stream decodes messages
// and rejects such output, which is why the proxy frames with this instead.
package jsonrpc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DefaultMaxMessageSize is the body size limit when none is configured.
const DefaultMaxMessageSize = 64 << 20

// maxHeaderLine bounds one header line; longer stray output is skipped in
// chunks of this size, so it never accumulates.
const maxHeaderLine = 64 << 10

// TooLargeError reports a message whose declared size exceeds the limit.
// The reader does not allocate for such a message; the stream cannot be
// resynchronised afterwards and should be closed.
type TooLargeError struct {
	Size, Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("jsonrpc: message of %d bytes exceeds the %d-byte limit", e.Size, e.Limit)
}

// ErrHeader reports a header block that cannot be parsed.
var ErrHeader = errors.New("jsonrpc: malformed header")

// ReaderOptions configure a Reader. The zero value works.
type ReaderOptions struct {
	// MaxMessageSize caps a message body; 0 means DefaultMaxMessageSize.
	MaxMessageSize int64
	// Stray is called with bytes found outside any frame (the slice is only
	// valid during the call). Nil skips them silently.
	Stray func(b []byte)
}

// Reader reads framed messages. It is not safe for concurrent use.
type Reader struct {
	br    *bufio.Reader
	max   int64
	stray func([]byte)
}

// NewReader returns a Reader reading frames from r.
func NewReader(r io.Reader, opts ReaderOptions) *Reader {
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	return &Reader{br: bufio.NewReaderSize(r, maxHeaderLine), max: opts.MaxMessageSize, stray: opts.Stray}
}

var contentLength = []byte("content-length:")

// Read returns the body of the next message, freshly allocated. At a clean
// end of input it returns io.EOF; inside a frame, io.ErrUnexpectedEOF.
func (r *Reader) Read() ([]byte, error) {
	length := int64(-1)
	for {
		line, full, err := r.line()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if length < 0 {
					if len(line) > 0 {
						r.skip(line)
					}
					return nil, io.EOF
				}
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if length < 0 {
			// Looking for the start of a frame: Content-Length, possibly
			// preceded by stray output on the same line.
			i := indexFold(line, contentLength)
			if i < 0 || !full {
				r.skip(line)
				continue
			}
			n, ok := parseLength(line[i+len(contentLength):])
			if !ok {
				r.skip(line)
				continue
			}
			if i > 0 {
				r.skip(line[:i])
			}
			if n > r.max {
				return nil, &TooLargeError{Size: n, Limit: r.max}
			}
			length = n
			continue
		}
		if !full {
			return nil, fmt.Errorf("%w: header line longer than %d bytes", ErrHeader, maxHeaderLine)
		}
		if len(trimEOL(line)) == 0 {
			break // end of the header block
		}
		// Another header. A repeated Content-Length wins; anything else
		// (Content-Type and unknown headers) is ignored.
		if bytes.HasPrefix(bytes.ToLower(line), contentLength) {
			n, ok := parseLength(line[len(contentLength):])
			if !ok {
				return nil, fmt.Errorf("%w: bad Content-Length %q", ErrHeader, trimEOL(line))
			}
			if n > r.max {
				return nil, &TooLargeError{Size: n, Limit: r.max}
			}
			length = n
		} else if bytes.IndexByte(line, ':') < 0 {
			r.skip(line)
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r.br, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// line returns the next line including its newline; full is false when the
// line did not fit the buffer (a chunk of it is returned) or ends at EOF.
func (r *Reader) line() (line []byte, full bool, err error) {
	line, err = r.br.ReadSlice('\n')
	switch {
	case err == nil:
		return line, true, nil
	case errors.Is(err, bufio.ErrBufferFull):
		return line, false, nil
	default:
		return line, false, err
	}
}

func (r *Reader) skip(b []byte) {
	if r.stray != nil && len(bytes.TrimSpace(b)) > 0 {
		r.stray(b)
	}
}

func parseLength(v []byte) (int64, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// indexFold is bytes.Index for an ASCII lower-case needle, ignoring case.
func indexFold(s, lower []byte) int {
	for i := 0; i+len(lower) <= len(s); i++ {
		j := 0
		for ; j < len(lower); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == len(lower) {
			return i
		}
	}
	return -1
}

// Writer writes framed messages. It is not safe for concurrent use; the
// proxy has exactly one writer per direction, which is what keeps order.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer framing messages onto w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// smallMessage is the size up to which header and body go out in one write.
const smallMessage = 64 << 10

// Write writes one message with its Content-Length header.
func (w *Writer) Write(body []byte) error {
	w.buf = append(w.buf[:0], "Content-Length: "...)
	w.buf = strconv.AppendInt(w.buf, int64(len(body)), 10)
	w.buf = append(w.buf, "\r\n\r\n"...)
	if len(body) <= smallMessage {
		w.buf = append(w.buf, body...)
		_, err := w.w.Write(w.buf)
		return err
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return err
	}
	_, err := w.w.Write(body)
	return err
}
