package sessions

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"gatewave.dev/shared/fleetproto"
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

// dropRouteOf drops session's route if it still leads to container: a
// superseded start must not drop the route of the start that won.
func (s *Service) dropRouteOf(session, container string) {
	s.rmu.Lock()
	r := s.routes[session]
	if r != nil && r.container == container {
		delete(s.routes, session)
	} else {
		r = nil
	}
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
