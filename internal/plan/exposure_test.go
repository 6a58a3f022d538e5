package plan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestExposure(t *testing.T) {
	rs := mustRules(t, "allow 8080", "allow 9443/tcp from 10.0.0.0/8", "allow 9443/tcp from @office", "deny from 203.0.113.7",
		"deny 5432 from @bad", "allow 5000:5010/udp", "allow 6000 from 2001:db8::/32")
	any := netip.Addr{}
	for _, tc := range []struct {
		addr       netip.Addr
		port       uint16
		proto      string
		open, rule string
	}{
		{any, 8080, "tcp", "everyone except 203.0.113.7", "1: allow 8080"},
		{any, 9443, "tcp", "10.0.0.0/8, @office except 203.0.113.7", "2: allow 9443/tcp from 10.0.0.0/8"},
		{any, 9443, "udp", "closed", "no allow rule takes it"},
		{any, 5432, "tcp", "closed", "no allow rule takes it"},
		{any, 5005, "udp", "everyone except 203.0.113.7", "6: allow 5000:5010/udp"},
		{netip.MustParseAddr("127.0.0.1"), 8080, "tcp", "this host only", "bound to 127.0.0.1"},
		{netip.MustParseAddr("192.0.2.1"), 6000, "tcp", "closed", "no allow rule takes it"},
		{netip.MustParseAddr("2001:db8::1"), 6000, "tcp", "2001:db8::/32", "7: allow 6000 from 2001:db8::/32"},
	} {
		open, by := Exposure(rs, nil, tc.addr, tc.port, tc.proto)
		if open != tc.open || !slices.ContainsFunc(by, func(b string) bool { return strings.HasPrefix(b, tc.rule) }) {
			t.Errorf("%s %d/%s: %q by %q, want %q by %q", tc.addr, tc.port, tc.proto, open, by, tc.open, tc.rule)
		}
	}
}
