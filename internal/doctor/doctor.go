// Package doctor reads a snapshot of the host's firewall and says what is
// wrong, why, and the command that fixes it. Check is pure; Collect gathers
// the snapshot through a Runner and the file system.
package doctor

import (
	"sort"

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
	// Bridges are the names of the host's bridge interfaces; Uplinks the
	// interfaces of its default routes (a NAT rule limited to another
	// output interface NATs no subnet out).
	Bridges []string
	Uplinks []string
	// Zones are the firewalld zones the bridges are bound to at runtime
	// (bridge -> zone), nil when firewalld does not run.
	Zones map[string]string
	// Boot holds the files that load a host's own rules at boot where there
	// is no UFW or firewalld, by path relative to /etc: iptables-persistent's
	// rules.v4, rules.v6 and settings, ferm's configuration, and the units
	// in systemd/system that run iptables-restore.
	Boot map[string]string
	// UFWDocker is what chaifeng/ufw-docker set up here, one line a piece:
	// its block in after*.rules, its route rules.
	UFWDocker []string
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
	checkDockerUser, checkDockerUserBypass, checkBansInputOnly, checkDrift, checkNotInstalled, checkExposed, checkForwarding, checkMixed, checkBridgeNF,
	checkMasquerade, checkDockerConfig, checkUFW, checkRejectAbove, checkGuestsBlocked, checkBoot, checkContainerZones, checkUFWDocker,
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
