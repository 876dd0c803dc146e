package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// route is how the tunnel reaches one session's sessiond: streams to its
// container over the node's link, pooled by an http.Transport.
type route struct {
	session, node, container, token string
	userID                          int64
	dial                            func(ctx context.Context) (net.Conn, error)
	transport                       *http.Transport
}

func (s *Service) newRoute(session string, userID int64, node, container, token string) *route {
	r := &route{session: session, userID: userID, node: node, container: container, token: token}
	r.dial = func(ctx context.Context) (net.Conn, error) {
		return s.hub.Dial(ctx, node, fleetproto.StreamHeader{Kind: fleetproto.KindSessiond, Target: container,
			Meta: map[string]string{"session": session}})
	}
	r.transport = &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return r.dial(ctx) },
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	s.rmu.Lock()
	if old := s.routes[session]; old != nil {
		old.transport.CloseIdleConnections()
	}
	s.routes[session] = r
	s.rmu.Unlock()
	return r
}

// probe waits until sessiond answers an authenticated request.
func (r *route) probe(ctx context.Context) error {
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://sessiond/api/v1/files?path=.", nil)
		req.Header.Set("Authorization", "Bearer "+r.token)
		resp, err := r.transport.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("sessiond answered %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Service) dropRoute(session string) {
	s.rmu.Lock()
	r := s.routes[session]
	delete(s.routes, session)
	s.rmu.Unlock()
	if r != nil {
		r.transport.CloseIdleConnections()
	}
}

func (s *Service) closeRoutes() {
	s.rmu.Lock()
	rs := s.routes
	s.routes = map[string]*route{}
	s.rmu.Unlock()
	for _, r := range rs {
		r.transport.CloseIdleConnections()
	}
}

// lookup returns the route of a ready session (from the database on a miss,
// so any replica can serve any session: the hub forwards streams to the
// replica holding the node's link).
func (s *Service) lookup(ctx context.Context, id string) (*route, Session, error) {
	s.rmu.Lock()
	r := s.routes[id]
	s.rmu.Unlock()
	if r != nil {
		if s.hub.Reachable(ctx, r.node) {
			return r, Session{ID: id, State: Ready, userID: r.userID}, nil
		}
		s.dropRoute(id) // its pooled streams died with the node's link
	}
	se, err := s.get(ctx, id)
	if err != nil {
		return nil, se, err
	}
	if se.State != Ready || se.token == "" || se.container == "" || !s.hub.Reachable(ctx, se.Node) {
		if se.State == Ready {
			se.State = Reconnecting
		}
		return nil, se, nil
	}
	return s.newRoute(id, se.userID, se.Node, se.container, se.token), se, nil
}

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
	s.active[id] = time.Now()
	s.amu.Unlock()
}

// hop-by-hop headers and the browser's credentials never cross the tunnel.
var dropRequest = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Cookie": true, "Authorization": true, "Host": true,
	"Proxy-Authorization": true, "Content-Length": true,
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
		if !dropRequest[string(k)] {
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
		key := string(k)
		if key == "Cookie" || key == "Authorization" || key == "Host" || key == "Content-Length" {
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
			s.active[id] = time.Now()
			s.amu.Unlock()
		}()
		_ = conn.SetDeadline(time.Time{})
		pipe.Join(conn, up)
	})
	return nil
}
