package fleet

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Replica-to-replica calls are signed, never authenticated by the shared
// secret itself: a captured request (or a proxy log of one) gives an
// attacker neither the secret nor a request it can send again.
//
// The signature is HMAC-SHA256, keyed by the internal token, over
//
//	method \n request URI \n timestamp \n nonce \n hex(SHA-256(body)) \n stream header
//
// sent as X-Gatewave-Signature (hex) with X-Gatewave-Timestamp (Unix
// seconds) and X-Gatewave-Nonce (22 base64url characters, 128 random
// bits). The receiver takes a timestamp within SignatureWindow of its own
// clock and each nonce once while that window lasts.
const (
	headerTimestamp = "X-Gatewave-Timestamp"
	headerNonce     = "X-Gatewave-Nonce"
	headerSignature = "X-Gatewave-Signature"
	// SignatureWindow is how far a signed call's timestamp may be from the
	// receiver's clock. Replicas keep their clocks in sync (NTP) far
	// tighter than this.
	SignatureWindow = 30 * time.Second
)

var nonceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// SignInternal returns the headers that sign one replica-to-replica call:
// method and requestURI (path and query, as sent), the body, and, for a
// stream, the X-Gatewave-Stream header value ("" otherwise).
func SignInternal(token, method, requestURI, stream string, body []byte, now time.Time) http.Header {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	nonce := base64.RawURLEncoding.EncodeToString(raw[:])
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(headerTimestamp, ts)
	h.Set(headerNonce, nonce)
	h.Set(headerSignature, hex.EncodeToString(signature(token, method, requestURI, ts, nonce, stream, body)))
	return h
}

func signature(token, method, requestURI, ts, nonce, stream string, body []byte) []byte {
	bh := sha256.Sum256(body)
	m := hmac.New(sha256.New, []byte(token))
	for _, part := range []string{method, requestURI, ts, nonce, hex.EncodeToString(bh[:]), stream} {
		m.Write([]byte(part))
		m.Write([]byte{'\n'})
	}
	return m.Sum(nil)
}

// nonces remembers the nonces of accepted calls for the signature window
// (per replica: a call is signed for one receiver, the holder it asked).
type nonces struct {
	mu   sync.Mutex
	seen map[string]time.Time // nonce → when it may be forgotten
	next time.Time            // next purge
}

// fresh records nonce and reports whether it was not seen before.
func (n *nonces) fresh(nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = map[string]time.Time{}
	}
	if now.After(n.next) {
		for k, exp := range n.seen {
			if now.After(exp) {
				delete(n.seen, k)
			}
		}
		n.next = now.Add(SignatureWindow)
	}
	if _, dup := n.seen[nonce]; dup {
		return false
	}
	// Kept past both edges of the window a timestamp may have.
	n.seen[nonce] = now.Add(2*SignatureWindow + time.Second)
	return true
}

// verifyInternal is the internal listener's authentication: a valid
// signature by the shared token, a timestamp within the window and a nonce
// not seen before. Every failure answers the same 401.
func (h *Hub) verifyInternal(c *fiber.Ctx) error {
	refuse := func(why string) error {
		h.log.Warn("internal call refused", "remote", c.IP(), "path", c.Path(), "reason", why)
		return apierr.Unauthorized("replica-to-replica calls must be signed")
	}
	ts, nonce, sig := c.Get(headerTimestamp), c.Get(headerNonce), c.Get(headerSignature)
	if ts == "" || nonce == "" || sig == "" {
		return refuse("unsigned")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return refuse("bad timestamp")
	}
	now := time.Now()
	if d := now.Sub(time.Unix(sec, 0)); d > SignatureWindow || d < -SignatureWindow {
		return refuse("timestamp outside the window")
	}
	if !nonceRE.MatchString(nonce) {
		return refuse("bad nonce")
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return refuse("bad signature")
	}
	want := signature(h.opts.InternalToken, c.Method(), string(c.Request().RequestURI()), ts, nonce, c.Get(headerStream), c.Body())
	if !hmac.Equal(got, want) {
		return refuse("wrong signature")
	}
	if !h.nonces.fresh(nonce, now) {
		return refuse("replayed")
	}
	return c.Next()
}
