package accounts

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Proxies are the reverse proxies allowed to tell the cloud who the client
// is (X-Forwarded-For) and how it connected (X-Forwarded-Proto). Anyone can
// send those headers, so they are believed only from these peers; the nil
// value trusts no one and every request's client is its socket peer.
type Proxies []netip.Prefix

// ParseProxies reads a comma- or space-separated list of CIDR prefixes or
// single addresses ("10.0.0.0/8, 192.0.2.7, fd00::/8"), as
// GATEWAVE_TRUSTED_PROXIES holds it. "" is no proxies.
func ParseProxies(s string) (Proxies, error) {
	var p Proxies
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if strings.Contains(f, "/") {
			pf, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			p = append(p, pf.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
		}
		a = a.Unmap()
		p = append(p, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

func (p Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pf := range p {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

func peerAddr(c *fiber.Ctx) netip.Addr {
	var ip net.IP
	switch ra := c.Context().RemoteAddr().(type) {
	case *net.TCPAddr:
		ip = ra.IP
	default:
		ip = c.Context().RemoteIP()
	}
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// parseForwarded reads one X-Forwarded-For element: an address, possibly
// with a port or in brackets (proxies differ).
func parseForwarded(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// ClientIP returns the address of the client that sent c. It is the socket
// peer unless that peer is a trusted proxy; then X-Forwarded-For is read
// from the right (each proxy appends the address it saw) and the first
// address that is not itself a trusted proxy is the client. Everything left
// of it was written by the client and is ignored, so a client cannot pick
// its own address. An unreadable element stops the walk at the last trusted
// hop, which then stands for the client: wrong but never spoofable.
func (p Proxies) ClientIP(c *fiber.Ctx) netip.Addr {
	peer := peerAddr(c)
	if !p.trusts(peer) {
		return peer
	}
	var all []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		all = append(all, strings.Split(string(v), ",")...)
	}
	client := peer
	for i := len(all) - 1; i >= 0; i-- {
		a, ok := parseForwarded(all[i])
		if !ok {
			break
		}
		client = a
		if !p.trusts(a) {
			break
		}
	}
	return client
}

// HTTPS reports whether the client reached the cloud over https: TLS on
// the socket itself, or "X-Forwarded-Proto: https" set by a trusted proxy.
func (p Proxies) HTTPS(c *fiber.Ctx) bool {
	if c.Context().IsTLS() {
		return true
	}
	if !p.trusts(peerAddr(c)) {
		return false
	}
	// Chained proxies may append one scheme per hop. Any "https" counts:
	// a client that forges it only gets Secure cookies it cannot keep over
	// http, while missing a real https hop would leave cookies that a later
	// plain-http request sends in clear.
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedProto) {
		for _, f := range bytes.Split(v, []byte(",")) {
			if bytes.EqualFold(bytes.TrimSpace(f), []byte("https")) {
				return true
			}
		}
	}
	return false
}

// rateKey is the address a rate limit counts against. An IPv6 client
// usually holds a whole /64 and can pick any address in it, so IPv6 counts
// per /64; an unknown address counts as one shared "unknown".
func rateKey(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		return a.String()
	default:
		pf, _ := a.Prefix(64)
		return pf.String()
	}
}
