package lsp

import (
	"encoding/json"
	"testing"
)

func TestPathMap(t *testing.T) {
	m := newPathMap("/srv/ws 1")
	tests := []struct {
		name, in, toServer, toClient string
	}{
		{
			name:     "document uri",
			in:       `{"textDocument":{"uri":"file:///workspace/src/a.c"}}`,
			toServer: `{"textDocument":{"uri":"file:///srv/ws%201/src/a.c"}}`,
		},
		{
			name:     "root uri and folders",
			in:       `{"rootUri":"file:///workspace","workspaceFolders":[{"uri":"file:///workspace/","name":"w"}]}`,
			toServer: `{"rootUri":"file:///srv/ws%201","workspaceFolders":[{"uri":"file:///srv/ws%201/","name":"w"}]}`,
		},
		{
			name:     "location from the server",
			in:       `{"result":[{"uri":"file:///srv/ws%201/util.h","range":{}},{"targetUri":"file:///usr/include/stdio.h"}]}`,
			toClient: `{"result":[{"uri":"file:///workspace/util.h","range":{}},{"targetUri":"file:///usr/include/stdio.h"}]}`,
		},
		{
			name:     "workspace edit keys and document links",
			in:       `{"changes":{"file:///srv/ws%201/a.c":[]},"target":"file:///srv/ws%201/b.c#L3"}`,
			toClient: `{"changes":{"file:///workspace/a.c":[]},"target":"file:///workspace/b.c#L3"}`,
		},
		{
			name:     "plain path in text",
			in:       `{"message":"In included file: /srv/ws 1/util.h:3:1, not /srv/ws 10/x"}`,
			toClient: `{"message":"In included file: /workspace/util.h:3:1, not /srv/ws 10/x"}`,
		},
		{
			name:     "escaped slashes",
			in:       `{"uri":"file:\/\/\/workspace\/a.c"}`,
			toServer: `{"uri":"file:///srv/ws%201/a.c"}`,
		},
		{
			name:     "escape from the workspace is left alone",
			in:       `{"uri":"file:///workspace/../etc/passwd"}`,
			toServer: `{"uri":"file:///workspace/../etc/passwd"}`,
		},
		{
			name:     "lookalike prefix and text are untouched",
			in:       `{"uri":"file:///workspacex/a.c","text":"see \"file:///workspace/a.c\" here"}`,
			toServer: `{"uri":"file:///workspacex/a.c","text":"see \"file:///workspace/a.c\" here"}`,
		},
		{
			name:     "non-file uris",
			in:       `{"uri":"untitled:Untitled-1","u2":"https://example.com/workspace"}`,
			toServer: `{"uri":"untitled:Untitled-1","u2":"https://example.com/workspace"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.toServer != "" {
				if got := string(m.toServer([]byte(tt.in))); got != tt.toServer {
					t.Errorf("toServer:\n got %s\nwant %s", got, tt.toServer)
				}
				if !json.Valid(m.toServer([]byte(tt.in))) {
					t.Error("toServer output is not JSON")
				}
			}
			if tt.toClient != "" {
				if got := string(m.toClient([]byte(tt.in))); got != tt.toClient {
					t.Errorf("toClient:\n got %s\nwant %s", got, tt.toClient)
				}
			}
		})
	}
}

func TestSetMember(t *testing.T) {
	tests := []struct{ in, name, value, want string }{
		{`{"processId":null,"rootUri":"x"}`, "processId", "42", `{"processId":42,"rootUri":"x"}`},
		{`{"rootUri":"x", "processId" : 7 }`, "processId", "42", `{"rootUri":"x", "processId" : 42 }`},
		{`{"rootUri":"x"}`, "processId", "42", `{"processId":42,"rootUri":"x"}`},
		{`{}`, "processId", "42", `{"processId":42}`},
		{`{"a":{"processId":1}}`, "processId", "42", `{"processId":42,"a":{"processId":1}}`},
	}
	for _, tt := range tests {
		got, err := setMember([]byte(tt.in), tt.name, []byte(tt.value))
		if err != nil || string(got) != tt.want {
			t.Errorf("setMember(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

// FuzzRewrite checks that URI rewriting keeps any JSON valid and leaves
// messages without workspace URIs byte for byte as they were.
func FuzzRewrite(f *testing.F) {
	f.Add([]byte(`{"uri":"file:///workspace/a.c","x":["file:///srv/ws/b"]}`))
	f.Add([]byte(`{"text":"\\\"file:///workspace\"","k":"file:\/\/\/workspace"}`))
	m := newPathMap("/srv/ws")
	f.Fuzz(func(t *testing.T, msg []byte) {
		valid := json.Valid(msg)
		for _, out := range [][]byte{m.toServer(msg), m.toClient(msg)} {
			if valid && !json.Valid(out) {
				t.Fatalf("%s became invalid JSON: %s", msg, out)
			}
		}
	})
}
