package discover

import (
	"regexp"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Owners: who made a bridge, a rule of a built-in chain or an nftables
// table, as status and doctor show them. Every guess of an owner is in
// this file.
const (
	OwnerDocker      = "docker"
	OwnerLibvirt     = "libvirt"
	OwnerLXD         = "lxd"
	OwnerIncus       = "incus"
	OwnerPodman      = "podman"
	OwnerUFW         = "ufw"
	OwnerFirewalld   = "firewalld"
	OwnerIPTablesNFT = "iptables-nft"
	OwnerFail2ban    = "fail2ban"
	OwnerCrowdSec    = "crowdsec"
	OwnerUs          = "ufw-docker-bridge"
	OwnerUnknown     = "unknown"
)

var dockerNetRe = regexp.MustCompile(`^br-[0-9a-f]{12}$`)

// OwnerOf guesses a bridge's owner from its name, the way each tool names
// its bridges.
func OwnerOf(name string) string {
	switch {
	case name == "docker0" || dockerNetRe.MatchString(name):
		return OwnerDocker
	case strings.HasPrefix(name, "virbr"):
		return OwnerLibvirt
	case strings.HasPrefix(name, "lxdbr"):
		return OwnerLXD
	case strings.HasPrefix(name, "incusbr"):
		return OwnerIncus
	case strings.HasPrefix(name, "podman") || strings.HasPrefix(name, "cni-podman"):
		return OwnerPodman
	}
	return OwnerUnknown
}

// OwnersFromNFT reads bridge owners from `nft list ruleset` text: LXD and
// Incus name their chains after the bridge (fwd.lxdbr0), libvirt's nftables
// backend matches its bridges by name.
func OwnersFromNFT(text string) map[string]string {
	out := map[string]string{}
	for _, l := range ScanNFT(text) {
		owner := map[string]string{"inet lxd": OwnerLXD, "inet incus": OwnerIncus, "inet libvirt_network": OwnerLibvirt, "ip libvirt_network": OwnerLibvirt}[l.Table]
		switch owner {
		case OwnerLXD, OwnerIncus:
			if _, br, ok := strings.Cut(l.Chain, "."); ok {
				out[br] = owner
			}
		case OwnerLibvirt:
			for i := 0; i+1 < len(l.Words); i++ {
				if l.Words[i] == "iifname" || l.Words[i] == "oifname" {
					out[strings.Trim(l.Words[i+1], `"`)] = owner
				}
			}
		}
	}
	return out
}

// OwnersFromSave reads bridge owners from the live iptables rules: libvirt's
// LIBVIRT_* chains name its bridges with -i/-o.
func OwnersFromSave(filter *rules.Table) map[string]string {
	out := map[string]string{}
	if filter == nil {
		return out
	}
	for _, c := range filter.Chains {
		if !strings.HasPrefix(c.Name, "LIBVIRT_") {
			continue
		}
		for _, r := range c.Rules {
			w := rules.Words(r)
			for _, flag := range []string{"-i", "-o"} {
				if br := rules.Arg(w, flag); br != "" {
					out[br] = OwnerLibvirt
				}
			}
		}
	}
	return out
}

// OwnerOfRule guesses who wrote a rule of a built-in chain from the chain
// it jumps to, or else from the interfaces it names (by OwnerOf,
// with an iptables pattern's "+" taken as the name's start).
func OwnerOfRule(r string) string {
	w := rules.Words(r)
	target := rules.Arg(w, "-j")
	switch {
	case target == rules.ChainDockerUser:
		return OwnerDocker + " (DOCKER-USER)"
	case strings.HasPrefix(target, "DOCKER"):
		return OwnerDocker
	case strings.HasPrefix(target, "LIBVIRT"):
		return OwnerLibvirt
	case strings.HasPrefix(target, "ufw-docker-bridge"):
		return OwnerUs
	case strings.HasPrefix(target, "ufw"):
		return OwnerUFW
	case strings.HasPrefix(target, "NETAVARK"), strings.HasPrefix(target, "CNI"):
		return OwnerPodman
	case strings.HasPrefix(target, "f2b-"):
		return OwnerFail2ban // its iptables actions' chains
	case strings.HasPrefix(target, "CROWDSEC"), strings.HasPrefix(rules.Arg(w, "--match-set"), "crowdsec"):
		return OwnerCrowdSec // its bouncer's chain and ipsets
	}
	for _, flag := range []string{"-i", "-o"} {
		name := strings.TrimSuffix(rules.Arg(w, flag), "+")
		if strings.HasPrefix(name, "br-") {
			return OwnerDocker // br-<id>, or the br-+ pattern
		}
		if o := OwnerOf(name); name != "" && o != OwnerUnknown {
			return o
		}
	}
	return OwnerUnknown
}

// OwnerOfTable guesses who owns an nftables table ("family name").
func OwnerOfTable(t string) string {
	switch {
	case strings.HasSuffix(t, " "+rules.GuardTable), strings.HasSuffix(t, " "+rules.NATTable), strings.HasSuffix(t, " "+rules.SetsTable):
		return OwnerUs
	case strings.HasSuffix(t, " firewalld"):
		return OwnerFirewalld
	case strings.HasSuffix(t, " crowdsec"), strings.HasSuffix(t, " crowdsec6"):
		return OwnerCrowdSec // its firewall bouncer in nftables mode
	case strings.HasPrefix(t, "inet f2b-"):
		return OwnerFail2ban // its nftables actions' table
	case strings.Contains(t, "docker"):
		return OwnerDocker
	case strings.HasSuffix(t, " lxd"):
		return OwnerLXD
	case strings.HasSuffix(t, " incus"):
		return OwnerIncus
	case strings.HasSuffix(t, " libvirt_network"), strings.Contains(t, "libvirt"):
		return OwnerLibvirt
	case strings.HasSuffix(t, " netavark"):
		return OwnerPodman
	case strings.HasSuffix(t, " filter"), strings.HasSuffix(t, " nat"), strings.HasSuffix(t, " mangle"), strings.HasSuffix(t, " raw"):
		return OwnerIPTablesNFT
	}
	return OwnerUnknown
}

// NFTTables returns the tables of `nft list tables` text, as "family name".
func NFTTables(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), "table "); ok {
			out = append(out, t)
		}
	}
	return out
}
