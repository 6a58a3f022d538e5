// Package plan turns the user's rules and what was discovered on the host
// into the rules that must be live, and renders them for iptables-restore and
// for the managed blocks of the UFW files. It is pure: no I/O.
package plan

import (
	"fmt"
	"slices"

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
	// DockerBridges are the bridges Docker's own rules name (DockerBridges
	// of the live table): container bridges whatever their names.
	DockerBridges []string
}

// Filter returns the filter-table chains we own in family in.Family, in the
// canonical form iptables-save prints, so live and desired compare as text.
func Filter(in Input) *rules.Table {
	user := &rules.Chain{Name: rules.ChainUser, Policy: "-", Declared: true}
	fwd := &rules.Chain{Name: rules.ChainForward, Policy: "-", Declared: true}
	guests := &rules.Chain{Name: rules.ChainGuests, Policy: "-", Declared: true}
	input := &rules.Chain{Name: rules.ChainInput, Policy: "-", Declared: true}
	t := &rules.Table{Name: "filter", Chains: []*rules.Chain{user, fwd, guests, input}}
	p := in.Firewall.Profile()
	if in.DeclareUFWForward && p.RouteChain {
		t.Chains = append(t.Chains, &rules.Chain{Name: in.Family.UFWUserForward(), Policy: "-", Declared: true})
	}
	ro := rolesOf(in.Rules.Bridges(), in.DockerBridges)
	// route is the jump to the user's own forward rules; FirewallD's
	// policies never see this traffic, so there is none to delegate to.
	var route []string
	if p.RouteChain {
		route = []string{"-j " + in.Family.UFWUserForward()}
	}
	// egress is a guest's way out: the user's ufw route rules first.
	egress := func(g string) {
		for _, r := range route {
			user.Rules = append(user.Rules, "-i "+g+" "+r)
		}
		user.Rules = append(user.Rules, "-i "+g+" -j ACCEPT")
	}

	for _, x := range ro.excluded {
		user.Rules = append(user.Rules, "-i "+x+" -j RETURN", "-o "+x+" -j RETURN")
	}
	for _, g := range ro.guests {
		user.Rules = append(user.Rules,
			"-i "+g+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
			"-o "+g+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	}
	user.Rules = append(user.Rules,
		"-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
		"-m conntrack --ctstate INVALID -j DROP")
	for _, g := range ro.guests {
		user.Rules = append(user.Rules, "-i "+g+" -m physdev --physdev-is-bridged -j ACCEPT")
	}
	for _, g := range ro.guests {
		user.Rules = append(user.Rules, "-o "+g+" -j "+rules.ChainGuests)
	}
	// Docker's bridges under its nftables backend: nothing in iptables
	// accepts their traffic but us (Podman's own rules accept its egress).
	dockerNFT := func(b string) bool { return in.DockerNFT && !rules.MatchesAny(podmanBridges, b) }
	// An included guest that a container pattern also matches (br-vms)
	// leaves before the patterns' rules would take it for a container, its
	// NEW connections into container bridges still under our policy.
	for _, g := range ro.early {
		for _, b := range ro.containers {
			user.Rules = append(user.Rules, fmt.Sprintf("-i %s -o %s -j %s", g, b, rules.ChainForward))
		}
		egress(g)
	}
	for _, b := range ro.containers {
		target := "RETURN"
		if dockerNFT(b) {
			target = "ACCEPT"
		}
		user.Rules = append(user.Rules, fmt.Sprintf("-i %s -j %s", b, target))
	}
	for _, b := range ro.containers {
		user.Rules = append(user.Rules, fmt.Sprintf("-o %s -j %s", b, rules.ChainForward))
		// Podman and Docker under nftables accept no NEW connection to a
		// published port in iptables: what our policy allows is accepted here.
		if rules.MatchesAny(podmanBridges, b) || dockerNFT(b) {
			user.Rules = append(user.Rules, fmt.Sprintf("-o %s -j ACCEPT", b))
		}
	}
	for _, g := range ro.guests {
		if !slices.Contains(ro.early, g) {
			egress(g)
		}
	}
	user.Rules = append(user.Rules, "-j RETURN")

	fwd.Rules = append(fwd.Rules, fmt.Sprintf("-j MARK --set-xmark %s/%s", rules.GuardMark, rules.GuardMark))
	// A rule that names a set is decided in our sets table, which marks
	// what it saw: without that mark (the table is gone) nothing gets in.
	var consulted []string
	if len(SetNames(in.Rules)) > 0 {
		consulted = []string{fmt.Sprintf("-m mark ! --mark %s/%s -j DROP", rules.SetsMark, rules.SetsMark)}
	}
	fwd.Rules = append(fwd.Rules, consulted...)
	fwd.Rules = append(fwd.Rules, denies(in)...)
	fwd.Rules = append(fwd.Rules, route...)
	for _, r := range in.Rules.Of(rules.Allow) {
		fwd.Rules = append(fwd.Rules, match(r, in.Family, PublishedOnly, "RETURN")...)
	}
	fwd.Rules = append(fwd.Rules, dropLogged(in.Rules.LogRateOf(), rules.LogPrefix)...)

	guests.Rules = append(append(append(append(append(guests.Rules, consulted...), denies(in)...), route...),
		forwardAccepts(in.Rules, in.Family)...), dropLogged(in.Rules.LogRateOf(), rules.GuestLogPrefix)...)

	if p.Input == NoInput {
		// The host's own ports and guests' services are firewalld's zones'.
		return t
	}
	for _, r := range in.Rules.Of(rules.Deny) {
		if r.HostToo && r.Set == "" {
			input.Rules = append(input.Rules, match(r, in.Family, AnyDestination, "DROP")...)
		}
	}
	// A host port --host-too opens is marked as our policy's before it is
	// accepted: the guard's input chain, which keeps docker-proxy's ports
	// closed (IPv6 clients of IPv4-only networks; everyone while Docker's
	// DNAT is gone), lets marked connections through.
	for _, r := range in.Rules.Of(rules.Allow) {
		if r.HostToo {
			marks := match(r, in.Family, AnyDestination, "MARK --set-xmark "+rules.GuardMark+"/"+rules.GuardMark)
			accepts := match(r, in.Family, AnyDestination, "ACCEPT")
			for i := range accepts {
				input.Rules = append(input.Rules, marks[i], accepts[i])
			}
		}
	}
	for _, g := range ro.guests {
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
//
// dockerBridges are Docker's bridges (DockerBridges): a ufw reload then
// loads a block that already knows a bridge with a name of its own.
func File(f rules.Family, rs rules.Ruleset, fw Firewall, dockerNFT bool, dockerBridges []string) *rules.Table {
	t := Filter(Input{Family: f, Rules: rs, DeclareUFWForward: true, Firewall: fw, DockerNFT: dockerNFT, DockerBridges: dockerBridges})
	if fw.Profile().Input == InputFromUFW {
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

// denies are the deny rules without a set (the sets table drops the
// sources of the others).
func denies(in Input) []string {
	var out []string
	for _, r := range in.Rules.Of(rules.Deny) {
		if r.Set == "" {
			out = append(out, match(r, in.Family, AnyDestination, "DROP")...)
		}
	}
	return out
}

// dropLogged ends a chain: a LOG line at rate (none when rules.LogOff),
// tagged with prefix, then DROP.
func dropLogged(rate, prefix string) []string {
	if rate == rules.LogOff {
		return []string{"-j DROP"}
	}
	return []string{fmt.Sprintf("-m limit --limit %s -j LOG --log-prefix %q", rate, prefix), "-j DROP"}
}

// Scope says which connections a rendered rule matches.
type Scope int

const (
	// AnyDestination matches whatever the destination: deny rules, and the
	// host's own ports (--host-too).
	AnyDestination Scope = iota
	// PublishedOnly matches only what Docker published: connections it
	// translated (conntrack's DNAT state) whose original destination was not
	// loopback. Traffic routed straight to a container's address is not a
	// published port, and a port published on 127.0.0.1 or ::1 stays local
	// (a neighbour that sends to 127.0.0.1 through the host's MAC address,
	// moby#45610, meets the loopback test).
	PublishedOnly
)

// loopback is the original destination an allow never opens, per family.
var loopback = map[rules.Family]string{rules.IPv4: "127.0.0.0/8", rules.IPv6: "::1"}

// match renders rule r for family f with the given target; a rule of the
// other family renders nothing, a port rule for both protocols renders two.
// Ports are host ports: conntrack's original destination port survives DNAT.
func match(r rules.Rule, f rules.Family, scope Scope, target string) []string {
	return r.Commented(matchLines(r, f, scope, target))
}

func matchLines(r rules.Rule, f rules.Family, scope Scope, target string) []string {
	if !r.AppliesTo(f) {
		return nil
	}
	src, mark := "", ""
	if r.Source.IsValid() {
		src = "-s " + r.Source.String() + " "
	}
	if r.Set != "" {
		// The sets table marked the connection: its source is in the set.
		mark = fmt.Sprintf("-m mark --mark %s/%s ", rules.SetAllowMark, rules.SetAllowMark)
	}
	ct := ""
	switch {
	case scope == PublishedOnly && r.HostAddr.IsValid():
		// The address Docker publishes on (never loopback: Expand).
		ct = "--ctstate DNAT --ctorigdst " + r.HostAddr.String() + " "
	case scope == PublishedOnly:
		ct = "--ctstate DNAT ! --ctorigdst " + loopback[f] + " "
	}
	if r.Ports.Any() {
		if ct != "" {
			return []string{src + "-m conntrack " + ct + mark + "-j " + target}
		}
		return []string{src + mark + "-j " + target}
	}
	var out []string
	for _, p := range Protos(r.Proto) {
		out = append(out, fmt.Sprintf("%s-p %s -m conntrack %s--ctorigdstport %s %s-j %s", src, p, ct, r.Ports, mark, target))
	}
	return out
}
