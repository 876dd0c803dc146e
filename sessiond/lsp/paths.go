package lsp

import (
	"bytes"
	"encoding/json"
	"path"
	"strings"

	"go.lsp.dev/uri"
)

// ClientRoot is where clients see the workspace: every document URI they
// send or receive is file:///workspace/<rel path>.
const ClientRoot = "/workspace"

// pathMap rewrites file URIs between the client's /workspace space and the
// directory the workspace really is on disk.
type pathMap struct {
	root     string // real absolute directory, no trailing slash ("" for "/")
	identity bool   // the workspace really is /workspace
}

func newPathMap(dir string) pathMap {
	dir = strings.TrimSuffix(path.Clean(dir), "/")
	return pathMap{root: dir, identity: dir == ClientRoot}
}

// toServer maps a message from the client to the server.
func (m pathMap) toServer(msg []byte) []byte {
	if m.identity {
		return msg
	}
	return rewriteURIs(msg, func(u string) (string, bool) { return moveURI(u, ClientRoot, m.root) })
}

// toClient maps a message from the server to the client: URIs, and then
// plain paths in text (log messages, diagnostics that name an included
// file), so that the client never learns where the workspace really is.
func (m pathMap) toClient(msg []byte) []byte {
	if m.identity {
		return msg
	}
	msg = rewriteURIs(msg, func(u string) (string, bool) { return moveURI(u, m.root, ClientRoot) })
	if m.root == "" {
		return msg
	}
	return replacePath(msg, m.root, ClientRoot)
}

// replacePath replaces the directory from with to wherever it appears as a
// whole path prefix ("/ws" in "/ws/a.c" or "/ws", not in "/wsx").
func replacePath(msg []byte, from, to string) []byte {
	if !bytes.Contains(msg, []byte(from)) {
		return msg
	}
	var out []byte
	last, i := 0, 0
	for {
		j := bytes.Index(msg[i:], []byte(from))
		if j < 0 {
			break
		}
		start := i + j
		end := start + len(from)
		i = end
		if end < len(msg) && isNameByte(msg[end]) {
			continue
		}
		if start > 0 && isNameByte(msg[start-1]) {
			continue
		}
		out = append(out, msg[last:start]...)
		out = append(out, to...)
		last = end
	}
	if out == nil {
		return msg
	}
	return append(out, msg[last:]...)
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c >= 0x80
}

// serverPath maps a plain client path (initialize's rootPath).
func (m pathMap) serverPath(p string) (string, bool) {
	rel, ok := under(path.Clean(p), ClientRoot)
	if !ok {
		return "", false
	}
	return m.root + rel, true
}

// under returns p's remainder below dir ("" or "/rel"), if p is inside dir.
func under(p, dir string) (string, bool) {
	if p == dir || dir == "" {
		if dir == "" && !strings.HasPrefix(p, "/") {
			return "", false
		}
		return strings.TrimPrefix(p, dir), true
	}
	if rest, ok := strings.CutPrefix(p, dir); ok && strings.HasPrefix(rest, "/") {
		return rest, true
	}
	return "", false
}

// moveURI re-roots a file URI from one directory to another, keeping query
// and fragment. URIs elsewhere (system headers, the Go module cache) and
// non-file URIs are left alone.
func moveURI(s, from, to string) (string, bool) {
	u, err := uri.Parse(s)
	if err != nil || !u.IsFile() || u.Authority() != "" {
		return "", false
	}
	c := u.Components()
	p := c.Path
	trailing := strings.HasSuffix(p, "/") && len(p) > 1
	clean := path.Clean(p)
	rel, ok := under(clean, from)
	if !ok {
		return "", false
	}
	c.Path = to + rel
	if c.Path == "" {
		c.Path = "/"
	}
	if trailing && !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	nu, err := uri.From(c)
	if err != nil {
		return "", false
	}
	return nu.String(), true
}

var filePrefix = []byte(`"file:`)

// rewriteURIs passes msg through byte for byte except for JSON strings
// (values and object keys, as in a WorkspaceEdit's changes map) that are
// entirely a file URI, which f may replace. It is deliberately generic: it
// covers uri, targetUri, relatedInformation locations, document links and
// anything a server adds, without decoding the message.
func rewriteURIs(msg []byte, f func(string) (string, bool)) []byte {
	if !bytes.Contains(msg, filePrefix) {
		return msg
	}
	var out []byte
	last, i := 0, 0
	for {
		j := bytes.IndexByte(msg[i:], '"')
		if j < 0 {
			break
		}
		start := i + j
		end := closingQuote(msg, start+1)
		if end < 0 {
			return msg // not JSON; the caller refuses it elsewhere
		}
		raw := msg[start+1 : end]
		if bytes.HasPrefix(raw, filePrefix[1:]) {
			s := string(raw)
			if bytes.IndexByte(raw, '\\') >= 0 {
				if err := json.Unmarshal(msg[start:end+1], &s); err != nil {
					return msg
				}
			}
			if ns, ok := f(s); ok && ns != s {
				if out == nil {
					out = make([]byte, 0, len(msg)+64)
				}
				out = append(out, msg[last:start]...)
				out = appendQuoted(out, ns)
				last = end + 1
			}
		}
		i = end + 1
	}
	if out == nil {
		return msg
	}
	return append(out, msg[last:]...)
}

// closingQuote finds the unescaped '"' ending the string that starts at i.
func closingQuote(b []byte, i int) int {
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		q := i + j
		n := 0
		for k := q - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
}

// appendQuoted appends s as a JSON string. URIs are percent-encoded, so the
// escapes below are for safety, not the common case.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
