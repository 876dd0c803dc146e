package fleetproto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
)

// Version is the protocol version a gateway states when registering.
const Version = 1

// MaxFrame is the largest frame payload either side accepts.
const MaxFrame = 64 << 10

// StreamWindow is the yamux per-stream receive window the link grows to:
// at least 1 MiB is required; a larger window means fewer waits for window
// updates across the several hops of a tunnelled download.
const StreamWindow = 4 << 20

// MaxWSMessage is the read limit both ends set on the WebSocket: one yamux
// frame of a full window plus headers. A bigger message closes the link.
const MaxWSMessage = StreamWindow + 64<<10

// WebSocket close codes used on the link.
const (
	CloseProtocolError = 1008 // policy violation: malformed, oversized or unknown input
	CloseTryAgainLater = 1013 // reason "retry-after=SECONDS"
	CloseRevoked       = 4003 // the node's token was revoked: do not come back
	CloseReplaced      = 4009 // a newer connection of the same node took over
)

// MuxConfig returns the yamux configuration both ends use. keepalive is
// yamux's ping interval (zero means 30 s); it is the only keepalive.
func MuxConfig(keepalive time.Duration, logOutput io.Writer) *yamux.Config {
	c := yamux.DefaultConfig()
	c.MaxStreamWindowSize = StreamWindow
	c.EnableKeepAlive = true
	if keepalive > 0 {
		c.KeepAliveInterval = keepalive
	}
	c.StreamOpenTimeout = 30 * time.Second
	c.StreamCloseTimeout = time.Minute
	if logOutput == nil {
		logOutput = io.Discard
	}
	c.LogOutput = logOutput
	return c
}

// RetryAfterReason formats the close reason that goes with CloseTryAgainLater.
func RetryAfterReason(d time.Duration) string {
	return "retry-after=" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// ParseRetryAfter reads a CloseTryAgainLater reason; ok is false when there
// is none or it is malformed. The result is capped at ten minutes.
func ParseRetryAfter(reason string) (d time.Duration, ok bool) {
	v, found := strings.CutPrefix(reason, "retry-after=")
	if !found {
		return 0, false
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || s < 0 || s != s {
		return 0, false
	}
	d = time.Duration(s * float64(time.Second))
	return min(d, 10*time.Minute), true
}

// WriteFrame writes v as one frame.
func WriteFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if len(b) > MaxFrame {
		return fmt.Errorf("encode frame: %d bytes exceeds the %d-byte limit", len(b), MaxFrame)
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// ErrFrameTooLarge is returned for a frame whose stated length exceeds MaxFrame.
var ErrFrameTooLarge = errors.New("frame exceeds size limit")

// ReadFrame reads one frame's payload.
func ReadFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: %d > %d bytes", ErrFrameTooLarge, n, MaxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read frame body: %w", io.ErrUnexpectedEOF)
	}
	return b, nil
}

// DecodeStrict unmarshals exactly one JSON value with no unknown fields
// and nothing after it: how every side of the link, and the APIs next to
// it, read what the other side sent.
func DecodeStrict(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("missing arguments: no JSON value")
	}
	return decodeStrict(b, v)
}

// decodeStrict unmarshals exactly one JSON value with no unknown fields.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// Stream kinds.
const (
	KindControl = "control"
	KindTunnel  = "tunnel"
)

var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,31}$`)

// StreamHeader opens every yamux stream.
type StreamHeader struct {
	// Kind says what the stream is for (KindControl, KindTunnel, ...).
	Kind string `json:"kind"`
	// Target is kind-specific, e.g. for a tunnel the session or address to
	// connect the stream to.
	Target string `json:"target,omitempty"`
	// Meta carries kind-specific extras.
	Meta map[string]string `json:"meta,omitempty"`
}

// Validate checks the header's shape (not whether its kind is served).
func (h StreamHeader) Validate() error {
	if !kindRE.MatchString(h.Kind) {
		return fmt.Errorf("stream kind %q is not a valid kind", h.Kind)
	}
	if len(h.Target) > 1024 {
		return errors.New("stream target longer than 1024 bytes")
	}
	return nil
}

// StreamReply answers a StreamHeader.
type StreamReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// ReadStreamHeader reads and validates a StreamHeader frame.
func ReadStreamHeader(r io.Reader) (StreamHeader, error) {
	var h StreamHeader
	b, err := ReadFrame(r)
	if err != nil {
		return h, fmt.Errorf("read stream header: %w", err)
	}
	if err := decodeStrict(b, &h); err != nil {
		return h, fmt.Errorf("decode stream header: %w", err)
	}
	return h, h.Validate()
}

// ReadStreamReply reads a StreamReply frame; a refusal becomes an error.
func ReadStreamReply(r io.Reader) error {
	b, err := ReadFrame(r)
	if err != nil {
		return fmt.Errorf("read stream reply: %w", err)
	}
	var rep StreamReply
	if err := decodeStrict(b, &rep); err != nil {
		return fmt.Errorf("decode stream reply: %w", err)
	}
	if !rep.OK {
		return fmt.Errorf("stream refused: %s", rep.Error)
	}
	return nil
}
