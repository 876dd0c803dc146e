package jsonrpc

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string, max int64) (msgs []string, stray []string, err error) {
	t.Helper()
	r := NewReader(strings.NewReader(in), ReaderOptions{MaxMessageSize: max, Stray: func(b []byte) { stray = append(stray, string(b)) }})
	for {
		m, err := r.Read()
		if err != nil {
			return msgs, stray, err
		}
		msgs = append(msgs, string(m))
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		max       int64
		want      []string
		wantErr   error
		wantStray int
	}{
		{name: "one", in: "Content-Length: 2\r\n\r\n{}", want: []string{"{}"}, wantErr: io.EOF},
		{name: "two back to back", in: "Content-Length: 2\r\n\r\n{}Content-Length: 4\r\n\r\nnull", want: []string{"{}", "null"}, wantErr: io.EOF},
		{name: "header case", in: "content-LENGTH:2\r\n\r\n{}", want: []string{"{}"}, wantErr: io.EOF},
		{name: "content type", in: "Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}", want: []string{"{}"}, wantErr: io.EOF},
		{name: "type first", in: "Content-Type: x\r\nContent-Length: 2\r\n\r\n{}", want: []string{"{}"}, wantErr: io.EOF, wantStray: 1},
		{name: "bare newlines", in: "Content-Length: 2\n\n{}", want: []string{"{}"}, wantErr: io.EOF},
		{name: "stray line", in: "hello from a debug print\nContent-Length: 2\r\n\r\n{}", want: []string{"{}"}, wantErr: io.EOF, wantStray: 1},
		{name: "stray glued to header", in: "junkContent-Length: 2\r\n\r\n{}", want: []string{"{}"}, wantErr: io.EOF, wantStray: 1},
		{name: "stray between frames", in: "Content-Length: 2\r\n\r\n{}oops\nContent-Length: 2\r\n\r\n[]", want: []string{"{}", "[]"}, wantErr: io.EOF, wantStray: 1},
		{name: "stray at end", in: "Content-Length: 2\r\n\r\n{}trailing", want: []string{"{}"}, wantErr: io.EOF, wantStray: 1},
		{name: "bad length is stray", in: "Content-Length: x\r\nContent-Length: 2\r\n\r\n{}", want: []string{"{}"}, wantErr: io.EOF, wantStray: 1},
		{name: "truncated body", in: "Content-Length: 10\r\n\r\n{}", wantErr: io.ErrUnexpectedEOF},
		{name: "truncated header", in: "Content-Length: 10\r\n", wantErr: io.ErrUnexpectedEOF},
		{name: "empty", in: "", wantErr: io.EOF},
		{name: "at limit", in: "Content-Length: 4\r\n\r\nnull", max: 4, want: []string{"null"}, wantErr: io.EOF},
		{name: "over limit", in: "Content-Length: 5\r\n\r\nnull!", max: 4, wantErr: &TooLargeError{}},
		{name: "huge declared", in: "Content-Length: 9223372036854775807\r\n\r\n", wantErr: &TooLargeError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, stray, err := readAll(t, tt.in, tt.max)
			if strings.Join(msgs, "|") != strings.Join(tt.want, "|") {
				t.Errorf("messages = %q, want %q", msgs, tt.want)
			}
			if tl := (*TooLargeError)(nil); errors.As(tt.wantErr, &tl) {
				if !errors.As(err, &tl) {
					t.Errorf("err = %v, want a TooLargeError", err)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if len(stray) != tt.wantStray {
				t.Errorf("stray = %q, want %d chunks", stray, tt.wantStray)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	big := bytes.Repeat([]byte("x"), 10<<20)
	msgs := [][]byte{[]byte(`{"jsonrpc":"2.0","method":"a"}`), big, []byte(`{}`)}
	for _, m := range msgs {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf, ReaderOptions{})
	for i, want := range msgs {
		got, err := r.Read()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d differs (len %d, want %d)", i, len(got), len(want))
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("after last message: %v, want EOF", err)
	}
}

// TestLongStrayLine checks that stray output longer than the header buffer
// is skipped chunk by chunk rather than accumulated.
func TestLongStrayLine(t *testing.T) {
	in := strings.Repeat("z", 5*maxHeaderLine) + "\nContent-Length: 2\r\n\r\n{}"
	msgs, stray, err := readAll(t, in, 0)
	if len(msgs) != 1 || msgs[0] != "{}" || err != io.EOF {
		t.Fatalf("got %q, %v", msgs, err)
	}
	for _, s := range stray {
		if len(s) > maxHeaderLine {
			t.Fatalf("a stray chunk of %d bytes was buffered", len(s))
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("Content-Length: 2\r\n\r\n{}"))
	f.Add([]byte("garbage\ncontent-length:4\r\ncontent-type: x\r\n\r\nnull"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 10
		r := NewReader(bytes.NewReader(data), ReaderOptions{MaxMessageSize: max, Stray: func([]byte) {}})
		total := 0
		for {
			m, err := r.Read()
			if err != nil {
				return
			}
			if len(m) > max {
				t.Fatalf("message of %d bytes passed a %d-byte limit", len(m), max)
			}
			total += len(m)
			if total > len(data) {
				t.Fatalf("read %d body bytes from %d input bytes", total, len(data))
			}
		}
	})
}

// FuzzRoundTrip checks that whatever stray text precedes them, framed
// messages come back byte for byte.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize"}`), []byte("log line\n"))
	f.Fuzz(func(t *testing.T, body, stray []byte) {
		if indexFold(stray, contentLength) >= 0 {
			return // stray text that forges a header is not stray
		}
		var buf bytes.Buffer
		buf.Write(stray)
		buf.WriteByte('\n')
		w := NewWriter(&buf)
		if err := w.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(body); err != nil {
			t.Fatal(err)
		}
		r := NewReader(&buf, ReaderOptions{})
		for i := range 2 {
			got, err := r.Read()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("message %d = %q, want %q", i, got, body)
			}
		}
	})
}
