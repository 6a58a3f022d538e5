// Package plan turns the user's rules and what was discovered on the host
// into the rules that must be live, and renders them for iptables-restore and
// for the managed blocks of the UFW files. It is pure: no I/O.
package plan

import (
	"fmt"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Firewall is the host firewall our rules live next to.
type Firewall int

const (
	// UFW: the user's `ufw route` rules are delegated to, and guests' DHCP
	// and DNS are accepted in our chain hung off UFW's input chain.
	UFW Firewall = iota
	// FirewallD: no route chain to delegate to; guests' DHCP and DNS are a
	// matter of the zone their bridge is bound to.
	FirewallD
	// IPTables: no host firewall daemon, the host's own rules are a file
	// loaded with iptables-restore (iptables-persistent, ferm, a unit of
	// the admin's). Our input chain is hooked into INPUT first: it holds
	// the rules that cover the host too, and guests' DHCP and DNS.
	IPTables
)

// String names the firewall as `install --backend` does.
func (f Firewall) String() string {
	switch f {
	case FirewallD:
		return "firewalld"
	case IPTables:
		return "iptables"
	}
	return "ufw"
}

// Input is everything the filter plan of one family depends on.
type Input struct {
	Family rules.Family
	Rules  rules.Ruleset
	// Firewall is the host firewall (UFW when zero).
	Firewall Firewall
	// DeclareUFWForward declares UFW's route chain so that the text loads
	// before UFW has created it (the UFW files load it before user.rules).
	// A runtime restore must not set it when the chain exists: a declared
	// chain is flushed, and with it the user's `ufw route` rules.
	DeclareUFWForward bool
	// DockerNFT says Docker runs its nftables firewall backend in this
	// family (its table docker-bridges is there): Docker then makes no
	// DOCKER-USER and no FORWARD jump, and nothing in iptables accepts its
	// containers' traffic, which the FORWARD DROP of UFW would drop. We hook
	// DOCKER-USER in ourselves and accept what our policy lets through;
	// Docker's own nftables chains still drop what Docker drops (unpublished
	// ports, other networks), since in nftables every hook's chains decide.
	DockerNFT bool
}

// containerBridges match docker0 and every user-defined Docker network by
// interface (br-<id>), including networks created later, then Podman's
// bridges (CNI's cni-podmanN, netavark's podmanN); never by address range,
// so no LAN or VPC host is trusted by accident.
var containerBridges = append([]string{rules.DockerBridgeDefault, rules.DockerBridgeWildcard}, podmanBridges...)

// podmanBridges are the container bridges whose owner accepts no NEW
// connection to a published port in FORWARD (Docker does, in its DOCKER
// chain): there our policy accepts what it allows.
var podmanBridges = []string{rules.PodmanBridgeCNI, rules.PodmanBridgeNetavark}

// ContainerBridges returns the interface patterns that match the container
// bridges (Docker's and Podman's), in iptables' spelling.
func ContainerBridges() []string { return append([]string{}, containerBridges...) }

// logLimit is the rate of LOG lines for dropped connections.
const logLimit = "3/min"

// Filter returns the filter-table chains we own in family in.Family, in the
// canonical form iptables-save prints, so live and desired compare as text.
func Filter(in Input) *rules.Table {
	user := &rules.Chain{Name: rules.ChainDockerUser, Policy: "-", Declared: true}
	fwd := &rules.Chain{Name: rules.ChainForward, Policy: "-", Declared: true}
	guests := &rules.Chain{Name: rules.ChainGuests, Policy: "-", Declared: true}
	input := &rules.Chain{Name: rules.ChainInput, Policy: "-", Declared: true}
	t := &rules.Table{Name: "filter", Chains: []*rules.Chain{user, fwd, guests, input}}
	if in.DeclareUFWForward && in.Firewall == UFW {
		t.Chains = append(t.Chains, &rules.Chain{Name: in.Family.UFWUserForward(), Policy: "-", Declared: true})
	}
	br := in.Rules.Bridges()
	// route is the jump to the user's own forward rules; FirewallD's
	// policies never see this traffic, so there is none to delegate to.
	var route []string
	if in.Firewall == UFW {
		route = []string{"-j " + in.Family.UFWUserForward()}
	}

	for _, x := range br.Excluded {
		user.Rules = append(user.Rules, "-i "+x+" -j RETURN", "-o "+x+" -j RETURN")
	}
	for _, g := range br.Guests {
		user.Rules = append(user.Rules,
			"-i "+g+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
			"-o "+g+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	}
	user.Rules = append(user.Rules,
		"-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
		"-m conntrack --ctstate INVALID -j DROP")
	for _, g := range br.Guests {
		user.Rules = append(user.Rules, "-i "+g+" -m physdev --physdev-is-bridged -j ACCEPT")
	}
	for _, g := range br.Guests {
		user.Rules = append(user.Rules, "-o "+g+" -j "+rules.ChainGuests)
	}
	// Docker's bridges under its nftables backend: nothing in iptables
	// accepts their traffic but us (Podman's own rules accept its egress).
	dockerNFT := func(b string) bool { return in.DockerNFT && !rules.MatchesAny(podmanBridges, b) }
	for _, b := range containerBridges {
		target := "RETURN"
		if dockerNFT(b) {
			target = "ACCEPT"
		}
		user.Rules = append(user.Rules, fmt.Sprintf("-i %s -j %s", b, target))
	}
	for _, b := range containerBridges {
		user.Rules = append(user.Rules, fmt.Sprintf("-o %s -j %s", b, rules.ChainForward))
		// Podman and Docker under nftables accept no NEW connection to a
		// published port in iptables: what our policy allows is accepted here.
		if rules.MatchesAny(podmanBridges, b) || dockerNFT(b) {
			user.Rules = append(user.Rules, fmt.Sprintf("-o %s -j ACCEPT", b))
		}
	}
	for _, g := range br.Guests {
		for _, r := range route {
			user.Rules = append(user.Rules, "-i "+g+" "+r)
		}
		user.Rules = append(user.Rules, "-i "+g+" -j ACCEPT")
	}
	user.Rules = append(user.Rules, "-j RETURN")

	fwd.Rules = append(fwd.Rules, fmt.Sprintf("-j MARK --set-xmark %s/%s", rules.GuardMark, rules.GuardMark))
	fwd.Rules = append(fwd.Rules, denies(in)...)
	fwd.Rules = append(fwd.Rules, route...)
	for _, r := range in.Rules.Of(rules.Allow) {
		fwd.Rules = append(fwd.Rules, match(r, in.Family, "RETURN")...)
	}
	fwd.Rules = append(fwd.Rules, dropLogged()...)

	guests.Rules = append(append(append(guests.Rules, denies(in)...), route...), dropLogged()...)

	if in.Firewall == FirewallD {
		// The host's own ports and guests' services are firewalld's zones'.
		return t
	}
	for _, r := range in.Rules.Of(rules.Deny) {
		if r.HostToo {
			input.Rules = append(input.Rules, match(r, in.Family, "DROP")...)
		}
	}
	for _, r := range in.Rules.Of(rules.Allow) {
		if r.HostToo {
			input.Rules = append(input.Rules, match(r, in.Family, "ACCEPT")...)
		}
	}
	for _, g := range br.Guests {
		for _, s := range guestServices(in.Family) {
			input.Rules = append(input.Rules, "-i "+g+" "+s+" -j ACCEPT")
		}
	}
	return t
}

// File returns the table of family f's managed block in the rules file: the
// chains of Filter and, next to UFW, UFW's route chain declared (so the text
// loads before user.rules creates it) and the jump from UFW's input chain to
// ours, which UFW's before*.rules flush and this block appends again on
// every load.
func File(f rules.Family, rs rules.Ruleset, fw Firewall, dockerNFT bool) *rules.Table {
	t := Filter(Input{Family: f, Rules: rs, DeclareUFWForward: true, Firewall: fw, DockerNFT: dockerNFT})
	if fw == UFW {
		t.Chains = append(t.Chains, &rules.Chain{Name: f.UFWBeforeInput(), Policy: "-", Rules: []string{InputJump}})
	}
	return t
}

// InputJump is the rule of UFW's before-input chain that hands guests' DHCP
// and DNS to our input chain. UFW appends its own user rules before it, so
// they still decide first.
const InputJump = "-j " + rules.ChainInput

// guestServices are what guests ask the host for: DNS and DHCP (the owner's
// dnsmasq listens on the bridge).
func guestServices(f rules.Family) []string {
	dhcp := "-p udp -m udp --dport 67"
	if f == rules.IPv6 {
		dhcp = "-p udp -m udp --dport 547"
	}
	return []string{dhcp, "-p udp -m udp --dport 53", "-p tcp -m tcp --dport 53"}
}

func denies(in Input) []string {
	var out []string
	for _, r := range in.Rules.Of(rules.Deny) {
		out = append(out, match(r, in.Family, "DROP")...)
	}
	return out
}

func dropLogged() []string {
	return []string{fmt.Sprintf("-m limit --limit %s -j LOG --log-prefix %q", logLimit, rules.LogPrefix), "-j DROP"}
}

// match renders rule r for family f with the given target; a rule of the
// other family renders nothing, a port rule for both protocols renders two.
// Ports are host ports: conntrack's original destination port survives DNAT.
func match(r rules.Rule, f rules.Family, target string) []string {
	if !r.AppliesTo(f) {
		return nil
	}
	src := ""
	if r.Source.IsValid() {
		src = "-s " + r.Source.String() + " "
	}
	if r.Ports.Any() {
		return []string{src + "-j " + target}
	}
	protos := []rules.Proto{r.Proto}
	if r.Proto == rules.ProtoAny {
		protos = []rules.Proto{rules.TCP, rules.UDP}
	}
	var out []string
	for _, p := range protos {
		out = append(out, fmt.Sprintf("%s-p %s -m conntrack --ctorigdstport %s -j %s", src, p, r.Ports, target))
	}
	return out
}
