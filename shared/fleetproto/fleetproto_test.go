package fleetproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Message
		wantErr string
	}{
		{"heartbeat", `{"type":"heartbeat","data":{"seq":7}}`, &Heartbeat{Seq: 7}, ""},
		{"register", `{"type":"register","data":{"name":"n1","version":"v1","protocol":1,"resources":{"cpu_cores":2,"memory_bytes":1,"disk_bytes":2},"labels":{"zone":"a"}}}`,
			&Register{Name: "n1", Version: "v1", Protocol: 1, Resources: Resources{CPUCores: 2, MemoryBytes: 1, DiskBytes: 2}, Labels: map[string]string{"zone": "a"}}, ""},
		{"unknown type refused", `{"type":"reboot","data":{}}`, nil, "unknown message type"},
		{"missing type", `{"data":{}}`, nil, "unknown message type"},
		{"missing data", `{"type":"heartbeat"}`, nil, "missing data"},
		{"null data", `{"type":"heartbeat","data":null}`, nil, "missing data"},
		{"unknown envelope field", `{"type":"heartbeat","data":{"seq":1},"x":1}`, nil, "unknown field"},
		{"unknown data field", `{"type":"heartbeat","data":{"seq":1,"evil":true}}`, nil, "unknown field"},
		{"wrong field type", `{"type":"heartbeat","data":{"seq":"1"}}`, nil, "cannot unmarshal"},
		{"trailing data", `{"type":"heartbeat","data":{"seq":1}} {}`, nil, "trailing"},
		{"not json", `hello`, nil, "invalid character"},
		{"bad node name", `{"type":"register","data":{"name":"../etc","version":"","protocol":1,"resources":{"cpu_cores":0,"memory_bytes":0,"disk_bytes":0}}}`, nil, "not valid"},
		{"bad protocol", `{"type":"register","data":{"name":"n","version":"","protocol":9,"resources":{"cpu_cores":0,"memory_bytes":0,"disk_bytes":0}}}`, nil, "protocol 9"},
		{"bad label", `{"type":"register","data":{"name":"n","version":"","protocol":1,"resources":{"cpu_cores":0,"memory_bytes":0,"disk_bytes":0},"labels":{"a b":"c"}}}`, nil, "label key"},
		{"pool with autosave", `{"type":"pool","data":{"containers":[{"id":"0123456789ab","name":"c","class":"standard","state":"claimed","session":"sess-0123","autosave":"0123456789abcdef0123456789abcdef01234567"}]}}`,
			&Pool{Containers: []PoolContainer{{ID: "0123456789ab", Name: "c", Class: "standard", State: PoolClaimed, Session: "sess-0123", Autosave: "0123456789abcdef0123456789abcdef01234567"}}}, ""},
		{"pool with a bad autosave", `{"type":"pool","data":{"containers":[{"id":"0123456789ab","name":"c","class":"s","state":"claimed","autosave":"HEAD; rm -rf"}]}}`, nil, "not a commit id"},
		{"zero interval", `{"type":"registered","data":{"node_id":1,"heartbeat_interval_ms":0,"replica":"r"}}`, nil, "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestUnknownTypeIsTyped(t *testing.T) {
	_, err := Decode([]byte(`{"type":"nope","data":{}}`))
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("err = %v, want ErrUnknownType", err)
	}
}

func TestRoundTrip(t *testing.T) {
	msgs := []Message{
		&Register{Name: "node-1", Version: "1.0", Protocol: Version, Labels: map[string]string{"gpu": "yes"},
			Resources: Resources{CPUCores: 8, MemoryBytes: 1 << 34, DiskBytes: 1 << 40, GPUs: []GPU{{Index: 0, Name: "A100", MemoryBytes: 1 << 35}}}},
		&Registered{NodeID: 3, HeartbeatIntervalMS: 15000, Replica: "r1"},
		&Heartbeat{Seq: 1}, &HeartbeatAck{Seq: 1},
		&Command{ID: 9, Name: "drain", Args: []byte(`{"x":1}`)},
		&Ack{ID: 9, OK: true}, &Status{Load1: 0.5}, &Error{Code: "bad", Message: "m"},
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := WriteMessage(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range msgs {
		got, err := ReadMessage(&buf)
		if err != nil {
			t.Fatalf("ReadMessage(%T): %v", want, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %#v, want %#v", got, want)
		}
	}
}

func TestReadFrameLimits(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxFrame+1)
	if _, err := ReadFrame(bytes.NewReader(hdr[:])); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized frame: err = %v", err)
	}
	binary.BigEndian.PutUint32(hdr[:], 10)
	if _, err := ReadFrame(bytes.NewReader(append(hdr[:], "abc"...))); err == nil {
		t.Fatal("truncated frame accepted")
	}
	if err := WriteFrame(&bytes.Buffer{}, strings.Repeat("x", MaxFrame)); err == nil {
		t.Fatal("WriteFrame accepted an oversized frame")
	}
}

func TestStreamHeader(t *testing.T) {
	tests := []struct {
		h  StreamHeader
		ok bool
	}{
		{StreamHeader{Kind: KindControl}, true},
		{StreamHeader{Kind: KindTunnel, Target: "session:abc", Meta: map[string]string{"port": "8080"}}, true},
		{StreamHeader{Kind: ""}, false},
		{StreamHeader{Kind: "Bad Kind"}, false},
		{StreamHeader{Kind: "tunnel", Target: strings.Repeat("x", 2000)}, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteFrame(&buf, tt.h); err != nil {
			t.Fatal(err)
		}
		got, err := ReadStreamHeader(&buf)
		if (err == nil) != tt.ok {
			t.Fatalf("ReadStreamHeader(%+v) err = %v, want ok=%v", tt.h, err, tt.ok)
		}
		if tt.ok && !reflect.DeepEqual(got, tt.h) {
			t.Fatalf("got %+v want %+v", got, tt.h)
		}
	}
	var buf bytes.Buffer
	_ = WriteFrame(&buf, StreamReply{OK: false, Error: "no handler for kind x"})
	if err := ReadStreamReply(&buf); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("refusal: err = %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{RetryAfterReason(5 * time.Second), 5 * time.Second, true},
		{"retry-after=0.25", 250 * time.Millisecond, true},
		{"retry-after=99999", 10 * time.Minute, true},
		{"retry-after=-1", 0, false},
		{"retry-after=NaN", 0, false},
		{"going away", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzDecode checks that the decoder never panics, and that whatever it
// accepts is a known type that survives an encode/decode round trip.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"heartbeat","data":{"seq":7}}`,
		`{"type":"register","data":{"name":"n1","version":"v1","protocol":1,"resources":{"cpu_cores":2,"memory_bytes":1,"disk_bytes":2},"labels":{"zone":"a"}}}`,
		`{"type":"command","data":{"id":1,"name":"x","args":[1,2]}}`,
		`{"type":"ack","data":{"id":1,"ok":false,"error":"e"}}`,
		`{"type":"nope","data":{}}`, `{}`, `[]`, `null`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if m != nil {
				t.Fatal("Decode returned a message with an error")
			}
			return
		}
		if newMessage(TypeOf(m)) == nil {
			t.Fatalf("accepted unknown type %q", TypeOf(m))
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded %s: %v", enc, err)
		}
		if TypeOf(m2) != TypeOf(m) {
			t.Fatalf("type changed %s → %s", TypeOf(m), TypeOf(m2))
		}
	})
}
