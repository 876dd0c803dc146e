package sessions

import (
	"net/url"

	"gatewave.dev/shared/fleetproto"
)

// gitIdentity is who the commits of owner's sessions are by: the account
// name and NAME@EmailDomain (see Options.EmailDomain); nil when that
// would not be a valid identity (the workspace then has none, as before).
func (s *Service) gitIdentity(owner string) *fleetproto.GitIdentity {
	domain := s.opts.EmailDomain
	if domain == "" {
		host := "localhost"
		if u, err := url.Parse(s.opts.GitURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		domain = "users." + host
	}
	id := &fleetproto.GitIdentity{Name: owner, Email: owner + "@" + domain}
	if id.Validate() != nil {
		return nil
	}
	return id
}
