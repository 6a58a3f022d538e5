// Package doctor reads a snapshot of the host's firewall and says what is
// wrong, why, and the command that fixes it. Check is pure; Collect gathers
// the snapshot through a Runner and the file system.
package doctor

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Severity orders findings; doctor fails (exit 1) on anything above Info.
type Severity string

// Severities, from least to most serious.
const (
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// Finding is one problem: a stable ID (scripts may match on it), how serious
// it is, a one-line summary, the evidence seen, and the fix.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence,omitempty"`
	Fix      string   `json:"fix"`
}

// Host is the snapshot Check reads.
type Host struct {
	// Saves are the live iptables-save dumps (every table) per family.
	Saves map[rules.Family]*rules.Dump
	// Variant is the system iptables' variant; Other the other variant's
	// IPv4 dump, nil when it is not installed.
	Variant string
	Other   *rules.Dump
	// NFTTables are the nftables tables as "family name"; NFT is the text of
	// `nft list ruleset`.
	NFTTables []string
	NFT       string
	// Sysctl holds net.ipv4.ip_forward and net.bridge.bridge-nf-call-iptables
	// when known.
	Sysctl map[string]string
	// UFW holds ENABLED (ufw.conf) and MANAGE_BUILTINS (/etc/default/ufw).
	UFW map[string]string
	// Docker is /etc/docker/daemon.json, nil when absent.
	Docker map[string]any
	// Installed says per family whether our block is in the installed
	// backend's file; Firewall is that backend (UFW's files, or ours next to
	// firewalld or plain iptables).
	Installed map[rules.Family]bool
	Firewall  plan.Firewall
	Rules     rules.Ruleset
	// Bridges are the names of the host's bridge interfaces.
	Bridges []string
	// Zones are the firewalld zones the bridges are bound to at runtime
	// (bridge -> zone), nil when firewalld does not run.
	Zones map[string]string
	// Boot holds the files that load a host's own rules at boot where there
	// is no UFW or firewalld, by path relative to /etc: iptables-persistent's
	// rules.v4, rules.v6 and settings, ferm's configuration, and the units
	// in systemd/system that run iptables-restore.
	Boot map[string]string
}

// Check runs every check and returns the findings, most serious first.
func Check(h Host) []Finding {
	var out []Finding
	for _, c := range checks {
		out = append(out, c(h)...)
	}
	rank := map[Severity]int{Error: 0, Warning: 1, Info: 2}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Severity] < rank[out[j].Severity] })
	return out
}

// Failing reports whether any finding is above Info.
func Failing(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity != Info {
			return true
		}
	}
	return false
}

var checks = []func(Host) []Finding{
	checkDockerUser, checkDrift, checkNotInstalled, checkExposed, checkForwarding, checkMixed, checkBridgeNF,
	checkMasquerade, checkDockerConfig, checkUFW, checkRejectAbove, checkGuestsBlocked, checkBoot, checkContainerZones,
}

// checkContainerZones: a container bridge bound to a firewalld zone other
// than Docker's own ("docker"): that zone's rules then filter its
// containers' traffic, and allowed ports and container egress stop.
func checkContainerZones(h Host) []Finding {
	docker := plan.DockerBridges(filter(h, rules.IPv4), filter(h, rules.IPv6))
	var out []Finding
	for _, b := range h.Bridges {
		zone := h.Zones[b]
		if zone == "" || zone == "docker" || plan.RoleOf(h.Rules.Bridges(), docker, b) != plan.RoleContainers {
			continue
		}
		out = append(out, Finding{ID: "container-bridge-in-zone", Severity: Error,
			Summary: fmt.Sprintf("container bridge %s is in firewalld's zone %s: that zone's rules filter its containers' traffic, "+
				"so allowed published ports and container egress stop", b, zone),
			Evidence: []string{fmt.Sprintf("firewalld: getZoneOfInterface(%s) = %s", b, zone)},
			Fix:      fmt.Sprintf("firewall-cmd --permanent --zone=%s --remove-interface=%s; firewall-cmd --reload (Docker binds its bridges to zone docker)", zone, b)})
	}
	return out
}

func filter(h Host, f rules.Family) *rules.Table {
	if d := h.Saves[f]; d != nil {
		return d.Table("filter")
	}
	return nil
}

func hasNFT(h Host, table string) bool {
	for _, t := range h.NFTTables {
		if t == table {
			return true
		}
	}
	return false
}

// checkDockerUser: DOCKER-USER missing, or FORWARD's jump to it missing or
// not first, with what decides before it.
// Under Docker's nftables backend the chain and the jump are ours, checked
// once we are installed.
func checkDockerUser(h Host) []Finding {
	var out []Finding
	for _, f := range rules.Families {
		t := filter(h, f)
		if t == nil || !(plan.DockerManaged(t) || dockerNFT(h, f) && h.Installed[f]) {
			continue
		}
		if t.Chain(rules.ChainDockerUser) == nil {
			out = append(out, Finding{ID: "docker-user-missing", Severity: Error,
				Summary: fmt.Sprintf("%s: Docker publishes ports but DOCKER-USER is not there: nothing of the host's policy applies to them", f),
				Fix:     "ufw-docker-bridge sync (or restart Docker, which creates the chain)"})
			continue
		}
		fwd := t.Chain(rules.ChainForwardBuiltin)
		switch pos := rules.JumpPosition(t, rules.ChainForwardBuiltin, rules.ChainDockerUser); {
		case pos == 0:
			out = append(out, Finding{ID: "docker-user-jump-missing", Severity: Error,
				Summary: fmt.Sprintf("%s: FORWARD does not jump to DOCKER-USER: published ports ignore every rule in it", f),
				Fix:     "ufw-docker-bridge sync"})
		case pos > 1:
			var above []string
			for _, r := range fwd.Rules[:pos-1] {
				above = append(above, "-A FORWARD "+r+"   (owner: "+OwnerOfRule(r)+")")
			}
			out = append(out, Finding{ID: "docker-user-jump-not-first", Severity: Error,
				Summary:  fmt.Sprintf("%s: FORWARD jumps to DOCKER-USER at rule %d: the rules above it decide first", f, pos),
				Evidence: above, Fix: "ufw-docker-bridge sync (the watcher keeps it first)"})
		}
	}
	return out
}

// drift lists how our live rules of family f differ from what the rules
// render for the installed backend: the difference status and sync see
// (plan.Repair), less FORWARD's jump to DOCKER-USER, which checkDockerUser
// reports with what decides before it.
func drift(h Host, f rules.Family) []string {
	live := filter(h, f)
	in := plan.Input{Family: f, Rules: h.Rules, Firewall: h.Firewall, DockerNFT: dockerNFT(h, f), DockerBridges: plan.DockerBridges(live)}
	all, _ := plan.Repair(in, live)
	jump := plan.ForwardFirst(live)
	return slices.DeleteFunc(all, func(d string) bool { return slices.Contains(jump, d) })
}

// dockerNFT reports whether Docker runs its nftables backend in family f:
// its table docker-bridges is there.
func dockerNFT(h Host, f rules.Family) bool {
	family := "ip"
	if f == rules.IPv6 {
		family = "ip6"
	}
	return hasNFT(h, family+" "+rules.DockerNFTTable)
}

// checkDrift: our chains differ from what the rules render.
func checkDrift(h Host) []Finding {
	var out []Finding
	for _, f := range rules.Families {
		t := filter(h, f)
		if t == nil || !h.Installed[f] {
			continue
		}
		if drift := drift(h, f); len(drift) > 0 {
			out = append(out, Finding{ID: "drift", Severity: Error,
				Summary:  fmt.Sprintf("%s: the live rules differ from the rules in the files (%d differences)", f, len(drift)),
				Evidence: drift, Fix: "ufw-docker-bridge sync"})
		}
	}
	if hasNFT(h, "inet "+rules.GuardTable) || !(h.Installed[rules.IPv4] || h.Installed[rules.IPv6]) {
		return out
	}
	return append(out, Finding{ID: "guard-missing", Severity: Warning,
		Summary: "the nftables guard table is missing: a clobbered DOCKER-USER opens published ports until the next repair",
		Fix:     "ufw-docker-bridge sync"})
}

// checkNotInstalled: Docker publishes ports, UFW runs, and we are not installed.
func checkNotInstalled(h Host) []Finding {
	t := filter(h, rules.IPv4)
	if t == nil || !plan.DockerManaged(t) || h.Installed[rules.IPv4] || t.Chain(rules.ChainUFWUserForward) == nil {
		return nil
	}
	return []Finding{{ID: "not-installed", Severity: Warning,
		Summary: "UFW is active next to Docker but ufw-docker-bridge is not installed: UFW does not see published ports",
		Fix:     "ufw-docker-bridge install"}}
}

func publishedPorts(h Host) []plan.Published {
	d := h.Saves[rules.IPv4]
	if d == nil || d.Table("nat") == nil {
		return nil
	}
	ports, _ := plan.PublishedPorts(d.Table("nat"))
	return ports
}

// field returns the word after flag in a rule, or "".
func field(rule, flag string) string { return rules.Arg(strings.Fields(rule), flag) }

// allowed reports whether an allow rule covers the port for every source.
func allowed(rs rules.Ruleset, proto, port string) bool {
	n, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	for _, r := range rs.Of(rules.Allow) {
		if r.Source.IsValid() || r.Ports.Any() || (r.Proto != rules.ProtoAny && string(r.Proto) != proto) {
			continue
		}
		if n >= int(r.Ports.First) && n <= int(r.Ports.Last) {
			return true
		}
	}
	return false
}

// checkExposed: published ports reachable from outside that no rule allows,
// computed from the live rules: every DNAT of Docker's is reachable unless
// our policy is live and first (or the guard holds), in which case only the
// allowed ones are.
func checkExposed(h Host) []Finding {
	t := filter(h, rules.IPv4)
	if t == nil {
		return nil
	}
	policy := h.Installed[rules.IPv4] && rules.JumpPosition(t, rules.ChainForwardBuiltin, rules.ChainDockerUser) == 1 &&
		len(drift(h, rules.IPv4)) == 0
	if policy || hasNFT(h, "inet "+rules.GuardTable) {
		return nil
	}
	var out []Finding
	for _, p := range publishedPorts(h) {
		if h.Installed[rules.IPv4] && allowed(h.Rules, p.Proto, p.Port) {
			continue
		}
		out = append(out, Finding{ID: "exposed-port", Severity: Error,
			Summary:  fmt.Sprintf("published port %s/%s (to %s) is reachable from outside and no rule allows it", p.Port, p.Proto, p.To),
			Evidence: []string{"nat " + p.Chain + ": DNAT " + p.Proto + " dport " + p.Port + " to " + p.To},
			Fix:      "ufw-docker-bridge install (then allow only what must be open), or ufw-docker-bridge sync"})
	}
	return append(out, checkExposedIPv6(h)...)
}

// checkExposedIPv6: a port published on every address with no IPv6 DNAT
// (its network has no IPv6, or Docker runs without ip6tables) reaches IPv6
// clients through docker-proxy in INPUT, where only the host's IPv6 input
// rules decide; the guard's input chain closes that path. A host whose
// IPv6 rules could not be read (no IPv6) has no such path.
func checkExposedIPv6(h Host) []Finding {
	d6 := h.Saves[rules.IPv6]
	if d6 == nil || hasNFT(h, "inet "+rules.GuardTable) {
		return nil
	}
	ports6, _ := plan.PublishedPorts(d6.Table("nat"))
	var out []Finding
	for _, p := range publishedPorts(h) {
		if p.Addr.IsValid() || slices.ContainsFunc(ports6, func(q plan.Published) bool { return q.Proto == p.Proto && q.Port == p.Port }) {
			continue
		}
		out = append(out, Finding{ID: "exposed-port-ipv6", Severity: Warning,
			Summary:  fmt.Sprintf("published port %s/%s has no IPv6 DNAT: IPv6 clients reach it through docker-proxy (Docker's default userland proxy) wherever the host's IPv6 input rules let them", p.Port, p.Proto),
			Evidence: []string{"nat " + p.Chain + ": DNAT " + p.Proto + " dport " + p.Port + " to " + p.To, "ip6tables nat: no DNAT for " + p.Proto + " dport " + p.Port},
			Fix:      "ufw-docker-bridge install (its guard closes that path; allow PORT --host-too opens it)"})
	}
	return out
}

// checkForwarding: ip_forward off with bridges present; FORWARD policy
// ACCEPT where Docker expects DROP.
func checkForwarding(h Host) []Finding {
	var out []Finding
	if h.Sysctl["net.ipv4.ip_forward"] == "0" && len(h.Bridges) > 0 {
		out = append(out, Finding{ID: "ip-forward-off", Severity: Error,
			Summary:  "net.ipv4.ip_forward is 0: containers and guests on " + strings.Join(h.Bridges, ", ") + " have no network",
			Evidence: []string{"net.ipv4.ip_forward = 0"}, Fix: "sysctl -w net.ipv4.ip_forward=1 (and set it in /etc/ufw/sysctl.conf)"})
	}
	// Next to firewalld, its own nftables chains decide routed traffic.
	if t := filter(h, rules.IPv4); t != nil && plan.DockerManaged(t) && h.Firewall != plan.FirewallD {
		if c := t.Chain(rules.ChainForwardBuiltin); c != nil && c.Policy == "ACCEPT" {
			f := Finding{ID: "forward-policy-accept", Severity: Warning,
				Summary:  "FORWARD's policy is ACCEPT next to Docker: routed traffic that no rule drops passes (ufw disable sets it)",
				Evidence: []string{":FORWARD ACCEPT"}, Fix: "ufw enable (or ufw default deny routed)"}
			if h.Firewall == plan.IPTables {
				f.Summary = "FORWARD's policy is ACCEPT next to Docker: routed traffic that no rule drops passes"
				f.Fix = "iptables -P FORWARD DROP, and the same in the rules the host loads at boot"
			}
			out = append(out, f)
		}
	}
	return out
}

// checkMixed: iptables-legacy and iptables-nft both holding rules.
func checkMixed(h Host) []Finding {
	if h.Other == nil {
		return nil
	}
	var evidence []string
	for _, t := range h.Other.Tables {
		for _, c := range t.Chains {
			if len(c.Rules) > 0 {
				evidence = append(evidence, fmt.Sprintf("%s %s: %d rules", t.Name, c.Name, len(c.Rules)))
			}
		}
	}
	if len(evidence) == 0 {
		return nil
	}
	out := []Finding{{ID: "mixed-iptables", Severity: Error,
		Summary:  "the other iptables variant than the system's (" + h.Variant + ") holds rules too: the two rule sets do not see each other",
		Evidence: evidence, Fix: "move everything to one variant (update-alternatives --config iptables), then reboot"}}
	// Docker's chains only in the other variant: Docker runs with the other
	// iptables, so UFW's rules and ours never see its traffic.
	if ot := h.Other.Table("filter"); ot != nil && plan.DockerManaged(ot) {
		if t := filter(h, rules.IPv4); t == nil || !plan.DockerManaged(t) {
			out = append(out, Finding{ID: "docker-other-variant", Severity: Error,
				Summary:  "Docker writes its rules with the other iptables variant than the system's (" + h.Variant + "): UFW's rules and ours never see its traffic",
				Evidence: []string{"Docker's chains are in the other variant's filter table, not in " + h.Variant + "'s"},
				Fix:      "point iptables and ip6tables at one variant for everyone (update-alternatives --set iptables ...), then restart docker and ufw"})
		}
	}
	return out
}

// checkBridgeNF: bridged packets also cross FORWARD.
func checkBridgeNF(h Host) []Finding {
	if h.Sysctl["net.bridge.bridge-nf-call-iptables"] != "1" || len(h.Bridges) == 0 {
		return nil
	}
	return []Finding{{ID: "bridge-nf-call-iptables", Severity: Info,
		Summary:  "net.bridge.bridge-nf-call-iptables is 1: traffic between ports of one bridge also crosses FORWARD",
		Evidence: []string{"net.bridge.bridge-nf-call-iptables = 1"}, Fix: "nothing to do unless same-bridge traffic is blocked"}}
}

// checkMasquerade: more than one NAT path (an iptables chain or an nftables
// chain) masquerading one source subnet. The several rules of one chain of
// an owner (libvirt's tcp, udp and the rest) are one path; each rule of a
// built-in chain, where every tool and the user's files append, is its own.
func checkMasquerade(h Host) []Finding {
	paths := map[string][]string{}
	add := func(subnet, path, evidence string) {
		for _, p := range paths[subnet] {
			if strings.HasPrefix(p, path+": ") {
				return
			}
		}
		paths[subnet] = append(paths[subnet], path+": "+evidence)
	}
	if d := h.Saves[rules.IPv4]; d != nil && d.Table("nat") != nil {
		for _, c := range d.Table("nat").Chains {
			for i, r := range c.Rules {
				// Docker's per-port hairpin rules (-s X/32 -d X/32) are not NAT
				// of a subnet; libvirt's "-s N ! -d N" is.
				hairpin := field(r, "-d") == field(r, "-s") && !strings.Contains(r, "! -d")
				path := "iptables nat " + c.Name
				if c.Policy == "ACCEPT" || c.Policy == "DROP" {
					path += fmt.Sprintf(" rule %d", i+1)
				}
				if s := field(r, "-s"); strings.Contains(r, "-j MASQUERADE") && !hairpin && s != "" {
					add(s, path, "-A "+c.Name+" "+r)
				}
			}
		}
	}
	table, chain := "", ""
	for _, line := range strings.Split(h.NFT, "\n") {
		w := strings.Fields(line)
		switch {
		case len(w) >= 3 && w[0] == "table":
			table = w[1] + " " + w[2]
		case len(w) >= 2 && w[0] == "chain":
			chain = w[1]
		case table != "ip nat" && table != "ip6 nat" && strings.Contains(line, "masquerade"):
			// iptables-nft's own nat tables are counted from iptables-save.
			if s := field(line, "saddr"); s != "" {
				add(s, "nft "+table+" "+chain, strings.TrimSpace(line))
			}
		}
	}
	var out []Finding
	var subnets []string
	for s := range paths {
		subnets = append(subnets, s)
	}
	sort.Strings(subnets)
	for _, s := range subnets {
		if len(paths[s]) > 1 {
			out = append(out, Finding{ID: "duplicate-masquerade", Severity: Warning,
				Summary:  fmt.Sprintf("%s is masqueraded by %d NAT paths", s, len(paths[s])),
				Evidence: paths[s], Fix: "remove the rules that are not the bridge owner's (ufw-docker-bridge adds NAT only where no one else does)"})
		}
	}
	return out
}

// checkGuestsBlocked: a bridge whose owner (LXD, Incus, libvirt's nftables
// backend) accepts its guests' traffic in an nftables table of its own, next
// to an iptables FORWARD policy of DROP (Docker's, UFW's) and without our
// guest rules: an nftables accept does not override another table's drop, so
// the guests get no DHCP, no DNS and no egress.
func checkGuestsBlocked(h Host) []Finding {
	t := filter(h, rules.IPv4)
	if t == nil || t.Chain(rules.ChainForwardBuiltin) == nil || t.Chain(rules.ChainForwardBuiltin).Policy != "DROP" {
		return nil
	}
	var out []Finding
	owners := discover.OwnersFromNFT(h.NFT)
	var names []string
	for br := range owners {
		names = append(names, br)
	}
	sort.Strings(names)
	for _, br := range names {
		if h.Installed[rules.IPv4] && h.Rules.Bridges().Guest(br) && t.Chain(rules.ChainGuests) != nil {
			continue
		}
		out = append(out, Finding{ID: "guests-blocked", Severity: Error,
			Summary:  fmt.Sprintf("%s guests on %s get no DHCP, DNS or egress: its nftables accepts do not override iptables' FORWARD DROP and UFW's INPUT", owners[br], br),
			Evidence: []string{":FORWARD DROP", "nftables chains of " + owners[br] + " for " + br},
			Fix:      "ufw-docker-bridge install (or, for a bridge of another name, ufw-docker-bridge bridge " + br + " include)"})
	}
	return out
}

// checkDockerConfig: Docker without iptables, or with its nftables backend.
func checkDockerConfig(h Host) []Finding {
	var out []Finding
	if v, ok := h.Docker["iptables"].(bool); ok && !v {
		out = append(out, Finding{ID: "docker-iptables-false", Severity: Warning,
			Summary:  `Docker runs with "iptables": false: it publishes no ports through the firewall and masquerades nothing`,
			Evidence: []string{`/etc/docker/daemon.json: "iptables": false`}, Fix: `remove "iptables": false unless you manage every rule yourself`})
	}
	nftMode := dockerNFT(h, rules.IPv4) || dockerNFT(h, rules.IPv6) || h.Docker["firewall-backend"] == "nftables"
	if nftMode && !h.Installed[rules.IPv4] && !h.Installed[rules.IPv6] {
		out = append(out, Finding{ID: "docker-nftables-backend", Severity: Error,
			Summary: "Docker uses its nftables firewall backend and makes no DOCKER-USER: no host rule governs its published ports, " +
				"and next to UFW's FORWARD DROP its containers have no egress and its ports answer no one",
			Evidence: []string{"nftables table ip " + rules.DockerNFTTable}, Fix: "ufw-docker-bridge install"})
	}
	return out
}

// checkUFW: UFW inactive, firewalld and UFW both active, MANAGE_BUILTINS.
func checkUFW(h Host) []Finding {
	var out []Finding
	enabled := strings.EqualFold(h.UFW["ENABLED"], "yes")
	if !enabled && h.Firewall == plan.UFW && (h.Installed[rules.IPv4] || h.Installed[rules.IPv6]) {
		out = append(out, Finding{ID: "ufw-inactive", Severity: Warning,
			Summary: "UFW is not enabled: the blocks in its files load only when it starts (the live rules still hold)",
			Fix:     "ufw enable"})
	}
	if enabled && hasNFT(h, "inet firewalld") {
		out = append(out, Finding{ID: "firewalld-and-ufw", Severity: Error,
			Summary: "firewalld and UFW are both active: each flushes or overrides the other's rules",
			Fix:     "keep one: systemctl disable --now firewalld, or ufw disable"})
	}
	if strings.EqualFold(h.UFW["MANAGE_BUILTINS"], "yes") {
		out = append(out, Finding{ID: "ufw-manage-builtins", Severity: Error,
			Summary:  "UFW runs with MANAGE_BUILTINS=yes: every ufw start flushes all chains, Docker's included",
			Evidence: []string{"/etc/default/ufw: MANAGE_BUILTINS=yes"}, Fix: "set MANAGE_BUILTINS=no in /etc/default/ufw"})
	}
	return out
}

// checkRejectAbove: libvirt/LXD catch-alls above UFW's forward chains make
// `ufw route allow` useless for their bridges.
func checkRejectAbove(h Host) []Finding {
	t := filter(h, rules.IPv4)
	if t == nil {
		return nil
	}
	fwd := t.Chain(rules.ChainForwardBuiltin)
	ufwPos := rules.JumpPosition(t, rules.ChainForwardBuiltin, "ufw-before-logging-forward")
	if fwd == nil || ufwPos == 0 {
		return nil
	}
	var evidence []string
	for _, r := range fwd.Rules[:ufwPos-1] {
		target := field(r, "-j")
		if target == "REJECT" || strings.HasPrefix(target, "LIBVIRT_FW") {
			if target == "REJECT" || chainRejects(t, target) {
				evidence = append(evidence, "-A FORWARD "+r)
			}
		}
	}
	if len(evidence) == 0 {
		return nil
	}
	return []Finding{{ID: "reject-above-ufw", Severity: Warning,
		Summary:  "a REJECT catch-all decides before UFW's forward rules: `ufw route allow` cannot open those bridges",
		Evidence: evidence, Fix: "ufw-docker-bridge handles VM bridges in DOCKER-USER (first); or restart libvirt before ufw"}}
}

func chainRejects(t *rules.Table, name string) bool {
	c := t.Chain(name)
	if c == nil {
		return false
	}
	for _, r := range c.Rules {
		if strings.HasSuffix(r, "-j REJECT") || strings.Contains(r, "-j REJECT ") {
			return true
		}
	}
	return false
}

// OwnerOfRule guesses who wrote a rule of a built-in chain from the chain
// it jumps to, or else from the interfaces it names (by discover.OwnerOf,
// with an iptables pattern's "+" taken as the name's start).
func OwnerOfRule(r string) string {
	target := field(r, "-j")
	switch {
	case target == rules.ChainDockerUser:
		return "ufw-docker-bridge (DOCKER-USER)"
	case strings.HasPrefix(target, "DOCKER"):
		return "docker"
	case strings.HasPrefix(target, "LIBVIRT"):
		return "libvirt"
	case strings.HasPrefix(target, "ufw-docker-bridge"):
		return "ufw-docker-bridge"
	case strings.HasPrefix(target, "ufw"):
		return "ufw"
	case strings.HasPrefix(target, "NETAVARK"), strings.HasPrefix(target, "CNI"):
		return discover.OwnerPodman
	}
	for _, flag := range []string{"-i", "-o"} {
		name := strings.TrimSuffix(field(r, flag), "+")
		if strings.HasPrefix(name, "br-") {
			return discover.OwnerDocker // br-<id>, or the br-+ pattern
		}
		if o := discover.OwnerOf(name); name != "" && o != discover.OwnerUnknown {
			return o
		}
	}
	return discover.OwnerUnknown
}
