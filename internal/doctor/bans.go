package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// banTools are the owners whose rules ban addresses.
var banTools = []string{discover.OwnerFail2ban, discover.OwnerCrowdSec}

// checkBansInputOnly: a ban tool (fail2ban, CrowdSec) guards INPUT while
// containers publish ports, and nothing of it reaches them: Docker's DNAT
// sends their connections through FORWARD, which INPUT's bans never see.
// Its reach into FORWARD is a rule of it in FORWARD or DOCKER-USER, a
// forward hook of its nftables table, or a rule of ours naming a set (our
// fail2ban action's).
func checkBansInputOnly(h Host) []Finding {
	if len(publishedPorts(h)) == 0 {
		return nil
	}
	input, forward := map[string][]string{}, map[string]bool{}
	for _, f := range rules.Families {
		t := filter(h, f)
		for _, chain := range []string{rules.ChainInputBuiltin, rules.ChainForwardBuiltin, rules.ChainDockerUser} {
			c := t.Chain(chain)
			if c == nil {
				continue
			}
			for _, r := range c.Rules {
				owner := discover.OwnerOfRule(r)
				if !slices.Contains(banTools, owner) {
					continue
				}
				if chain == rules.ChainInputBuiltin {
					input[owner] = append(input[owner], fmt.Sprintf("%s: -A INPUT %s", f, r))
				} else {
					forward[owner] = true
				}
			}
		}
	}
	for _, l := range discover.ScanNFT(h.NFT) {
		owner := discover.OwnerOfTable(l.Table)
		if !slices.Contains(banTools, owner) || !strings.Contains(l.Text, " hook ") {
			continue
		}
		switch {
		case strings.Contains(l.Text, "hook input"):
			input[owner] = append(input[owner], fmt.Sprintf("nft %s chain %s: %s", l.Table, l.Chain, l.Text))
		case strings.Contains(l.Text, "hook forward"), strings.Contains(l.Text, "hook prerouting"):
			forward[owner] = true
		}
	}
	if slices.ContainsFunc(h.Rules, func(r rules.Rule) bool { return r.Set != "" }) {
		forward[discover.OwnerFail2ban] = true // our action's sets
	}
	var out []Finding
	for _, owner := range banTools {
		if len(input[owner]) == 0 || forward[owner] {
			continue
		}
		fix := "banaction = ufw-docker-bridge in /etc/fail2ban/jail.local (the package ships the action)"
		if owner == discover.OwnerCrowdSec {
			fix = "add DOCKER-USER to iptables_chains of the firewall bouncer (iptables mode), or a forward hook (nftables mode)"
		}
		out = append(out, Finding{ID: "bans-input-only", Severity: Warning,
			Summary:  fmt.Sprintf("%s bans on INPUT only while containers publish ports: a banned address still reaches them (Docker's DNAT goes through FORWARD)", owner),
			Evidence: input[owner], Fix: fix})
	}
	return out
}
