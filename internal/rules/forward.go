package rules

import (
	"regexp"
	"strings"
)

// Forward sends NEW connections to a host port on to a libvirt or LXD/Incus
// guest (DNAT), and lets them through to it.
const Forward Action = "forward"

// Guest managers a forward's guest may name first ("lxd:web1"); without
// one, every manager is asked and the name must be one guest's only.
const (
	GuestLXD     = "lxd"
	GuestIncus   = "incus"
	GuestLibvirt = "libvirt"
)

// GuestManagers are the managers a guest name may begin with.
var GuestManagers = []string{GuestLXD, GuestIncus, GuestLibvirt}

// guestRe is an LXD/Incus instance's or a libvirt domain's name.
var guestRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// SplitGuest returns the manager a guest name begins with ("" for none)
// and the name.
func SplitGuest(guest string) (manager, name string) {
	for _, m := range GuestManagers {
		if n, ok := strings.CutPrefix(guest, m+":"); ok {
			return m, n
		}
	}
	return "", guest
}

// parseForward reads "forward HOSTPORT[/tcp|/udp] to GUEST[:PORT] [from SRC]".
func parseForward(words []string) (Rule, error) {
	const want = "want: forward HOSTPORT[/tcp|/udp] to GUEST[:PORT] [from CIDR|ADDR]"
	if len(words) < 4 || words[2] != "to" {
		return Rule{}, syntaxf("%s", want)
	}
	r := Rule{Action: Forward}
	ports, proto, err := parsePortSpec(words[1])
	if err != nil {
		return Rule{}, err
	}
	if ports.First != ports.Last {
		return Rule{}, syntaxf("forward takes one host port, not the range %q", words[1])
	}
	r.Ports, r.Proto = ports, proto
	manager, name := SplitGuest(words[3])
	if n, port, ok := strings.Cut(name, ":"); ok {
		if r.ToPort, err = parsePort(port); err != nil {
			return Rule{}, err
		}
		name = n
	}
	if !guestRe.MatchString(name) {
		return Rule{}, syntaxf("invalid guest %q: a libvirt domain's or an LXD/Incus instance's name, optionally after lxd:, incus: or libvirt:", words[3])
	}
	r.Target = name
	if manager != "" {
		r.Target = manager + ":" + name
	}
	rest := words[4:]
	if len(rest) > 0 {
		if rest[0] != "from" || len(rest) != 2 {
			return Rule{}, syntaxf("unexpected argument %q; %s", rest[0], want)
		}
		if strings.HasPrefix(rest[1], SetMark) {
			return Rule{}, syntaxf("forward takes an address or a network after from, not a set")
		}
		src, err := ParseSource(rest[1])
		if err != nil {
			return Rule{}, err
		}
		r.Source = src
	}
	return r, nil
}

// NamesContainer says the rule opens the published ports of a container or
// a service it names (allow ... to NAME), not a forward's guest.
func (r Rule) NamesContainer() bool { return r.Target != "" && r.Action == Allow }

// ForwardOf returns the forward of rs that takes forward r's host port
// already (the same port, a protocol in common), if there is one: one host
// port goes to one guest.
func (rs Ruleset) ForwardOf(r Rule) (Rule, bool) {
	for _, x := range rs.Of(Forward) {
		if x.Ports == r.Ports && (x.Proto == ProtoAny || r.Proto == ProtoAny || x.Proto == r.Proto) {
			return x, true
		}
	}
	return Rule{}, false
}

// GuestPort is the guest's port a forward goes to: ToPort, or the host port.
func (r Rule) GuestPort() uint16 {
	if r.ToPort != 0 {
		return r.ToPort
	}
	return r.Ports.First
}
