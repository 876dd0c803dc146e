package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/pipe"
	"gatewave.dev/shared/wsorigin"
)

// userOf authenticates the session cookie, caching the answer briefly so
// tunnelled requests do not each cost a database write.
func (s *Service) userOf(c *fiber.Ctx) (accounts.User, error) {
	cookie := c.Cookies(accounts.SessionCookie)
	if cookie == "" {
		return accounts.User{}, accounts.ErrNoSession
	}
	now := time.Now()
	s.umu.Lock()
	cu, ok := s.users[cookie]
	s.umu.Unlock()
	if ok && now.Before(cu.exp) {
		return cu.u, nil
	}
	u, err := s.opts.Accounts.SessionUser(c.UserContext(), cookie)
	if err != nil {
		return u, err
	}
	s.umu.Lock()
	if len(s.users) > 10000 {
		clear(s.users)
	}
	s.users[cookie] = cachedUser{u, now.Add(2 * time.Second)}
	s.umu.Unlock()
	return u, nil
}

func (s *Service) touch(id string) {
	s.amu.Lock()
	s.active[id] = true
	s.amu.Unlock()
}

// sessiondRoutes is everything the tunnel forwards: the routes sessiond
// serves (sessiond/server: /healthz, /metrics, /api/v1/..., and the IDE's
// static files, index.html and assets/). Nothing else reaches the
// container's socket: whatever answers there (a sessiond the user
// replaced, or anything the socket was made to lead to) is never asked
// anything sessiond would not be.
var sessiondRoutes = struct {
	exact    map[string]bool
	prefixes []string
}{
	exact:    map[string]bool{"/": true, "/index.html": true, "/healthz": true, "/metrics": true},
	prefixes: []string{"/api/v1/", "/assets/"},
}

// sessiondRoute reports whether rest (the raw path after /s/{id}) is one
// of sessiondRoutes, spelled plainly: no dot segments, empty segments,
// backslashes or escaped separators, so what is checked is what any
// server behind the socket routes on.
func sessiondRoute(rest string) bool {
	low := strings.ToLower(rest)
	for _, esc := range []string{"%2f", "%5c", "%2e", "%00"} {
		if strings.Contains(low, esc) {
			return false
		}
	}
	p, err := url.PathUnescape(rest)
	if err != nil || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	if p != "/" && path.Clean(p) != strings.TrimSuffix(p, "/") {
		return false // "..", "." or an empty segment
	}
	if sessiondRoutes.exact[p] {
		return true
	}
	for _, pre := range sessiondRoutes.prefixes {
		if strings.HasPrefix(p, pre) && len(p) > len(pre) {
			return true
		}
	}
	return false
}

// A cloudRoute is a session route the cloud answers itself, for the
// session's owner u, instead of passing it to the container: what needs
// the user's own state (settings kept in PostgreSQL) or the session's
// credentials (git push and pull through the node), which the container
// never sees. r is the route to the container, nil while it has none.
type cloudRoute func(s *Service, c *fiber.Ctx, se Session, u accounts.User, r *route) error

// cloudRoutes maps "METHOD /api/v1/..." (the unescaped path after
// /s/{id}) to the cloud's own handler; each feature's file adds its
// routes in an init function.
var cloudRoutes = map[string]cloudRoute{}

// plainPath is rest unescaped; sessiondRoute has already refused any
// spelling where that differs from what is routed on.
func plainPath(rest string) string {
	p, err := url.PathUnescape(rest)
	if err != nil {
		return rest
	}
	return p
}

// Hop-by-hop headers and the browser's credentials for the cloud (its
// cookies, Authorization, the CSRF token) never cross the tunnel: the
// container must never see what would let it act as the user on the
// cloud.
var dropRequest = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Cookie": true, "Authorization": true, "Host": true,
	"Proxy-Authorization": true, "Content-Length": true, "X-Csrf-Token": true, "X-Forwarded-Prefix": true,
}

// dropWS is what the WebSocket replay leaves out; the upgrade headers
// themselves (Connection, Upgrade, Sec-WebSocket-*) go through.
var dropWS = map[string]bool{
	"Cookie": true, "Authorization": true, "Host": true, "Content-Length": true, "Proxy-Authorization": true,
	"X-Csrf-Token": true, "X-Forwarded-Prefix": true,
}

var dropResponse = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Set-Cookie": true, "Content-Length": true,
}

// tunnel serves /s/{session}/... for the session's owner only.
func (s *Service) tunnel(c *fiber.Ctx) error {
	id := c.Params("id")
	if !fleetproto.ValidSessionID(id) {
		return apierr.NotFound("no such session")
	}
	u, err := s.userOf(c)
	if errors.Is(err, accounts.ErrNoSession) {
		if c.Method() == fiber.MethodGet && strings.Contains(c.Get(fiber.HeaderAccept), "text/html") {
			return c.Redirect("/signin", fiber.StatusSeeOther)
		}
		return apierr.Unauthorized("sign in first")
	}
	if err != nil {
		return err
	}
	prefix := "/s/" + id
	raw := string(c.Request().URI().PathOriginal())
	rest, ok := strings.CutPrefix(raw, prefix)
	if !ok {
		return apierr.NotFound("no such session")
	}
	if rest == "" {
		return c.Redirect(prefix+"/", fiber.StatusMovedPermanently)
	}
	if !sessiondRoute(rest) {
		return apierr.NotFound("no such route in a session")
	}
	r, se, err := s.lookup(c.UserContext(), id)
	if errors.Is(err, errNoSession) {
		return apierr.Forbidden("this session is not yours")
	}
	if err != nil {
		return err
	}
	if se.userID != u.ID {
		s.log.Warn("tunnel refused: not the owner", "session", id, "user", u.Name)
		return apierr.Forbidden("this session is not yours")
	}
	if h, ok := cloudRoutes[c.Method()+" "+plainPath(rest)]; ok {
		return h(s, c, se, u, r)
	}
	if r == nil {
		return apierr.New(fiber.StatusServiceUnavailable, se.State, "session is %s", se.State)
	}
	s.touch(id)
	target := rest
	if q := c.Request().URI().QueryString(); len(q) > 0 {
		target += "?" + string(q)
	}
	if websocket.IsWebSocketUpgrade(c) {
		if !(wsorigin.Policy{}).Allows(c.Get(fiber.HeaderOrigin), c.Hostname()) {
			return apierr.Forbidden("origin %q is not allowed", c.Get(fiber.HeaderOrigin))
		}
		return s.proxyWS(c, r, target, prefix)
	}
	return s.proxyHTTP(c, r, target, prefix)
}

func (s *Service) proxyHTTP(c *fiber.Ctx, r *route, target, prefix string) error {
	var body io.Reader
	if b := c.Body(); len(b) > 0 {
		body = bytes.NewReader(append([]byte(nil), b...))
	}
	req, err := http.NewRequestWithContext(context.Background(), c.Method(), "http://sessiond"+target, body)
	if err != nil {
		return apierr.BadRequest("bad request target")
	}
	c.Request().Header.VisitAll(func(k, v []byte) {
		if !dropRequest[http.CanonicalHeaderKey(string(k))] {
			req.Header.Add(string(k), string(v))
		}
	})
	// Same-origin for sessiond: the browser's Origin is the cloud's.
	req.Host = c.Hostname()
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("X-Forwarded-Prefix", prefix+"/")
	resp, err := r.transport.RoundTrip(req)
	if err != nil && body == nil && (c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead) {
		// A pooled stream may have died with an earlier link: retry once
		// on a fresh one.
		r.transport.CloseIdleConnections()
		resp, err = r.transport.RoundTrip(req)
	}
	if err != nil {
		s.log.Warn("tunnel", "session", r.session, "err", err)
		return apierr.New(fiber.StatusBadGateway, "tunnel", "the session's container does not answer; it may be reconnecting")
	}
	c.Status(resp.StatusCode)
	for k, vs := range resp.Header {
		if dropResponse[k] {
			continue
		}
		for _, v := range vs {
			c.Response().Header.Add(k, v)
		}
	}
	if c.Method() == fiber.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		if resp.ContentLength >= 0 {
			c.Response().Header.SetContentLength(int(resp.ContentLength))
		}
		c.Response().SkipBody = c.Method() == fiber.MethodHead
		return nil
	}
	n := -1
	if resp.ContentLength >= 0 {
		n = int(resp.ContentLength)
	}
	c.Response().SetBodyStream(resp.Body, n)
	return nil
}

// proxyWS replays the upgrade request on a fresh stream with the sessiond
// token and joins the two connections once fasthttp hands over the
// browser's socket; sessiond's 101 answer travels back as bytes.
func (s *Service) proxyWS(c *fiber.Ctx, r *route, target, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	up, err := r.dial(ctx)
	cancel()
	if err != nil {
		return apierr.New(fiber.StatusBadGateway, "tunnel", "the session's container does not answer; it may be reconnecting")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", target, c.Hostname())
	c.Request().Header.VisitAll(func(k, v []byte) {
		key := http.CanonicalHeaderKey(string(k))
		if dropWS[key] {
			return
		}
		if strings.ContainsAny(string(v), "\r\n") {
			return
		}
		fmt.Fprintf(&b, "%s: %s\r\n", key, v)
	})
	fmt.Fprintf(&b, "Authorization: Bearer %s\r\nX-Forwarded-Prefix: %s/\r\n\r\n", r.token, prefix)
	if _, err := up.Write(b.Bytes()); err != nil {
		up.Close()
		return apierr.New(fiber.StatusBadGateway, "tunnel", "the session's container does not answer")
	}
	id := r.session
	s.amu.Lock()
	s.wsOpen[id]++
	s.amu.Unlock()
	c.Context().HijackSetNoResponse(true)
	c.Context().Hijack(func(conn net.Conn) {
		defer func() {
			s.amu.Lock()
			if s.wsOpen[id]--; s.wsOpen[id] <= 0 {
				delete(s.wsOpen, id)
			}
			s.active[id] = true
			s.amu.Unlock()
		}()
		_ = conn.SetDeadline(time.Time{})
		pipe.JoinServer(conn, up)
	})
	return nil
}
