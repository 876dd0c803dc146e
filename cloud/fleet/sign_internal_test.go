package fleet

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/apierr"
)

const testInternalToken = "test-internal-token-0123456789"

// Replica-to-replica calls are signed and taken once: a captured call
// replayed, one whose path, body or stream header was changed, one signed
// too long ago (or too far ahead), one signed with another token and the
// token sent as a bearer are all refused before anything is done; a fresh
// signed call gets through (to "not connected": there is no node).
func TestInternalCallsSignedOnce(t *testing.T) {
	_, pool := dbtest.New(t)
	h, err := New(Options{Store: store.New(pool), Replica: "replica-a", InternalToken: testInternalToken, InternalURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(slog.New(slog.DiscardHandler))})
	h.MountInternal(app)
	const uri = "/internal/v1/nodes/node-1/commands"
	body := []byte(`{"name":"session.save","args":{},"timeout_ms":1000}`)
	send := func(method, target string, b []byte, hdr http.Header) int {
		t.Helper()
		req := httptest.NewRequest(method, target, bytes.NewReader(b))
		for k, vs := range hdr {
			req.Header[k] = vs
		}
		resp, err := app.Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	signed := SignInternal(testInternalToken, http.MethodPost, uri, "", body, time.Now())
	if got := send(http.MethodPost, uri, body, signed); got != http.StatusBadGateway {
		t.Fatalf("a signed call: %d, want 502 (authenticated, node not connected)", got)
	}
	tests := []struct {
		name         string
		method, path string
		body         []byte
		hdr          http.Header
	}{
		{"replayed", http.MethodPost, uri, body, signed},
		{"other path", http.MethodPost, "/internal/v1/nodes/node-2/commands", body,
			SignInternal(testInternalToken, http.MethodPost, uri, "", body, time.Now())},
		{"other body", http.MethodPost, uri, []byte(`{"name":"session.release","args":{},"timeout_ms":1000}`),
			SignInternal(testInternalToken, http.MethodPost, uri, "", body, time.Now())},
		{"old", http.MethodPost, uri, body, SignInternal(testInternalToken, http.MethodPost, uri, "", body, time.Now().Add(-SignatureWindow-2*time.Second))},
		{"ahead", http.MethodPost, uri, body, SignInternal(testInternalToken, http.MethodPost, uri, "", body, time.Now().Add(SignatureWindow+2*time.Second))},
		{"other token", http.MethodPost, uri, body, SignInternal("another-token-0123456789", http.MethodPost, uri, "", body, time.Now())},
		{"bearer", http.MethodPost, uri, body, http.Header{"Authorization": {"Bearer " + testInternalToken}}},
		{"unsigned", http.MethodPost, uri, body, http.Header{}},
		{"other stream", http.MethodGet, "/internal/v1/nodes/node-1/stream", nil, func() http.Header {
			h := SignInternal(testInternalToken, http.MethodGet, "/internal/v1/nodes/node-1/stream", "e30", nil, time.Now())
			h.Set(headerStream, "eyJraW5kIjoic2Vzc2lvbmQifQ")
			h.Set("Upgrade", streamUpgrade)
			return h
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(tt.method, tt.path, tt.body, tt.hdr); got != http.StatusUnauthorized {
				t.Fatalf("%s: %d, want 401", tt.name, got)
			}
		})
	}
}
