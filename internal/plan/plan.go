// Package plan turns the user's rules and what was discovered on the host
// into the rules that must be live, and renders them for iptables-restore and
// for the managed blocks of the UFW files. It is pure: no I/O.
package plan

import (
	"fmt"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Input is everything the filter plan of one family depends on.
type Input struct {
	Family rules.Family
	Rules  rules.Ruleset
	// DeclareUFWForward declares UFW's route chain so that the text loads
	// before UFW has created it (the UFW files load it before user.rules).
	// A runtime restore must not set it when the chain exists: a declared
	// chain is flushed, and with it the user's `ufw route` rules.
	DeclareUFWForward bool
}

// containerBridges match docker0 and every user-defined Docker network by
// interface (br-<id>), including networks created later; never by address
// range, so no LAN or VPC host is trusted by accident.
var containerBridges = []string{rules.DockerBridgeDefault, rules.DockerBridgeWildcard}

// ContainerBridges returns the interface patterns that match Docker's
// bridges, in iptables' spelling.
func ContainerBridges() []string { return append([]string{}, containerBridges...) }

// logLimit is the rate of LOG lines for dropped connections.
const logLimit = "3/min"

// Filter returns the filter-table chains we own in family in.Family, in the
// canonical form iptables-save prints, so live and desired compare as text.
func Filter(in Input) *rules.Table {
	user := &rules.Chain{Name: rules.ChainDockerUser, Policy: "-", Declared: true}
	fwd := &rules.Chain{Name: rules.ChainForward, Policy: "-", Declared: true}
	t := &rules.Table{Name: "filter", Chains: []*rules.Chain{user, fwd}}
	if in.DeclareUFWForward {
		t.Chains = append(t.Chains, &rules.Chain{Name: in.Family.UFWUserForward(), Policy: "-", Declared: true})
	}

	user.Rules = append(user.Rules,
		"-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
		"-m conntrack --ctstate INVALID -j DROP")
	for _, br := range containerBridges {
		user.Rules = append(user.Rules, fmt.Sprintf("-i %s -j RETURN", br))
	}
	for _, br := range containerBridges {
		user.Rules = append(user.Rules, fmt.Sprintf("-o %s -j %s", br, rules.ChainForward))
	}
	user.Rules = append(user.Rules, "-j RETURN")

	fwd.Rules = append(fwd.Rules, fmt.Sprintf("-j MARK --set-xmark %s/%s", rules.GuardMark, rules.GuardMark))
	for _, r := range in.Rules.Of(rules.Deny) {
		fwd.Rules = append(fwd.Rules, match(r, in.Family, "DROP")...)
	}
	fwd.Rules = append(fwd.Rules, "-j "+in.Family.UFWUserForward())
	for _, r := range in.Rules.Of(rules.Allow) {
		fwd.Rules = append(fwd.Rules, match(r, in.Family, "RETURN")...)
	}
	fwd.Rules = append(fwd.Rules,
		fmt.Sprintf("-m limit --limit %s -j LOG --log-prefix %q", logLimit, rules.LogPrefix),
		"-j DROP")
	return t
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
