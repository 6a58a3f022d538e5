package doctor

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/shellvars"
)

// Paths of the rule loaders of hosts without UFW or firewalld, relative to
// /etc: iptables-persistent's saved rules and settings, ferm's configuration,
// and the admin's own units.
const (
	persistentV4      = "iptables/rules.v4"
	persistentV6      = "iptables/rules.v6"
	persistentDefault = "default/netfilter-persistent"
	fermConf          = "ferm/ferm.conf"
	fermDefault       = "default/ferm"
	fermDir           = "ferm/ferm.d"
	unitDir           = "systemd/system"
)

// ourUnit is our own unit's file name: it restores with --noflush.
const ourUnit = "ufw-docker-bridge.service"

// checkBoot: how the host's own rules are loaded at boot, where there is no
// UFW and no firewalld: a saved rules file holding Docker's chains,
// restores that flush every table, ferm without @preserve for Docker's chains
// and ours, and ferm on the other iptables variant.
func checkBoot(h Host) []Finding {
	var out []Finding
	for _, p := range []string{persistentV4, persistentV6} {
		text, ok := h.Boot[p]
		if !ok {
			continue
		}
		if ev := dockerLines(text); len(ev) > 0 {
			out = append(out, Finding{ID: "saved-docker-chains", Severity: Warning,
				Summary: fmt.Sprintf("/etc/%s was saved while Docker ran: it holds Docker's chains and its containers' addresses of that moment, "+
					"which every boot and reload restores", p),
				Evidence: ev,
				Fix: fmt.Sprintf("save it without them: %s | grep -v -E 'DOCKER|docker0|br-[0-9a-f]{12}|ufw-docker-bridge' > /etc/%s",
					saveCommand(p), p)})
		}
		setting := "IPTABLES_RESTORE_NOFLUSH"
		if p == persistentV6 {
			setting = "IP6TABLES_RESTORE_NOFLUSH"
		}
		if shellvars.Parse(h.Boot[persistentDefault])[setting] != "yes" {
			out = append(out, Finding{ID: "restore-without-noflush", Severity: Warning,
				Summary: fmt.Sprintf("netfilter-persistent restores /etc/%s without --noflush: every boot and reload wipes Docker's chains "+
					"(they come back only with a Docker restart) and ours (the watcher puts them back)", p),
				Evidence: []string{"/etc/" + persistentDefault + ": no " + setting + "=yes"},
				Fix:      "echo " + setting + "=yes >> /etc/" + persistentDefault})
		}
	}
	out = append(out, checkUnits(h)...)
	return append(out, checkFerm(h)...)
}

// saveCommand is the save tool of a persistent rules file's family.
func saveCommand(p string) string {
	if p == persistentV6 {
		return "ip6tables-save"
	}
	return "iptables-save"
}

// dockerLines returns the lines of a saved ruleset that are Docker's, the
// first five and a count of the rest.
func dockerLines(text string) []string {
	var ev []string
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "DOCKER") || strings.Contains(l, "docker0") {
			if n < 5 {
				ev = append(ev, l)
			}
			n++
		}
	}
	if n > 5 {
		ev = append(ev, fmt.Sprintf("... and %d more", n-5))
	}
	return ev
}

// restoreCmd finds a unit line that runs iptables-restore or ip6tables-restore.
var restoreCmd = regexp.MustCompile(`^Exec(Start|StartPre|StartPost|Reload)=.*\bip6?tables(-nft|-legacy)?-restore\b`)

// checkUnits: the admin's units that restore rules without --noflush.
func checkUnits(h Host) []Finding {
	var out []Finding
	for _, p := range sortedKeys(h.Boot) {
		if !strings.HasPrefix(p, unitDir+"/") || path.Base(p) == ourUnit {
			continue
		}
		for _, l := range strings.Split(h.Boot[p], "\n") {
			l = strings.TrimSpace(l)
			if !restoreCmd.MatchString(l) || noflush(l) {
				continue
			}
			key, cmd, _ := strings.Cut(l, "=")
			out = append(out, Finding{ID: "restore-without-noflush", Severity: Warning,
				Summary: fmt.Sprintf("/etc/%s restores rules without --noflush: every run wipes Docker's chains "+
					"(they come back only with a Docker restart) and ours (the watcher puts them back)", p),
				Evidence: []string{l},
				Fix:      fmt.Sprintf("in /etc/%s: %s=%s (and declare in the file only the chains it owns)", p, key, withNoflush(cmd))})
		}
	}
	return out
}

// noflush reports whether a restore command line keeps what it does not
// declare.
func noflush(line string) bool {
	for _, w := range strings.Fields(line) {
		// --noflush, or -n alone or among other short options (-vn).
		if w == "--noflush" || len(w) > 1 && w[0] == '-' && w[1] != '-' && strings.ContainsRune(w[1:], 'n') {
			return true
		}
	}
	return false
}

// withNoflush inserts --noflush after the restore command of cmd.
func withNoflush(cmd string) string {
	fields := strings.Fields(cmd)
	for i, w := range fields {
		if strings.HasSuffix(w, "-restore") {
			return strings.Join(slices.Insert(fields, i+1, "--noflush"), " ")
		}
	}
	return cmd
}

// preserved finds ferm's "chain NAME @preserve;" and "chain (A B) @preserve;".
var preserved = regexp.MustCompile(`chain\s+(\([^)]*\)|[^\s;{]+)\s*@preserve`)

// defined finds the chains ferm defines itself ("chain NAME {" or
// "chain NAME policy ...").
var defined = regexp.MustCompile(`chain\s+(\([^)]*\)|[^\s;{(]+)\s*(\{|policy)`)

// checkFerm: ferm loads whole tables; Docker's chains and ours survive it
// only when its configuration preserves them, and only when ferm and Docker
// use one iptables variant. It looks at a ferm enabled in /etc/default/ferm.
func checkFerm(h Host) []Finding {
	// Debian's package ships a ferm.conf whether or not ferm runs: only a
	// ferm enabled at boot loads it.
	if shellvars.Parse(h.Boot[fermDefault])["ENABLED"] != "yes" {
		return nil
	}
	var conf strings.Builder
	for _, p := range sortedKeys(h.Boot) {
		if p == fermConf || strings.HasPrefix(p, fermDir+"/") {
			conf.WriteString(h.Boot[p] + "\n")
		}
	}
	if conf.Len() == 0 {
		return nil
	}
	segments := fermTables(stripComments(conf.String()))
	var out []Finding
	for _, tbl := range []string{"filter", "nat"} {
		have, own := chainsOf(preserved, segments[tbl]), chainsOf(defined, segments[tbl])
		var missing, clash []string
		for _, c := range fermNeeds(h, tbl) {
			switch {
			case have[c]:
			case own[c]:
				clash = append(clash, c)
			default:
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			out = append(out, Finding{ID: "ferm-no-preserve", Severity: Warning,
				Summary: fmt.Sprintf("ferm replaces the %s table without preserving %s: every ferm run wipes them "+
					"(Docker's come back only with a Docker restart, ours with the watcher)", tbl, strings.Join(missing, ", ")),
				Evidence: []string{"/etc/" + fermConf + ": no @preserve for " + strings.Join(missing, " ")},
				Fix:      fmt.Sprintf("add to /etc/%s: domain (ip ip6) table %s chain (%s) @preserve;", fermConf, tbl, strings.Join(missing, " "))})
		}
		if len(clash) > 0 {
			out = append(out, Finding{ID: "ferm-no-preserve", Severity: Warning,
				Summary:  fmt.Sprintf("ferm defines %s in the %s table itself: every ferm run drops the jumps Docker put there", strings.Join(clash, ", "), tbl),
				Evidence: []string{"/etc/" + fermConf + ": chain " + strings.Join(clash, " ") + " { ... }"},
				Fix: fmt.Sprintf("move its rules elsewhere and preserve it: domain (ip ip6) table %s chain (%s) @preserve;",
					tbl, strings.Join(clash, " "))})
		}
	}
	if h.Variant == "nf_tables" && h.Other != nil {
		out = append(out, Finding{ID: "ferm-legacy", Severity: Warning,
			Summary: "ferm loads its rules with iptables-legacy (it prefers it whenever installed) while Docker and these rules use iptables-nft: " +
				"its @preserve sees none of their chains, and both sets of tables decide every packet",
			Fix: "put everything on one variant: update-alternatives --set iptables /usr/sbin/iptables-legacy " +
				"(and ip6tables), restart Docker, then ufw-docker-bridge install"})
	}
	return out
}

// tableKeyword finds ferm's "table NAME".
var tableKeyword = regexp.MustCompile(`\btable\s+([a-z]+)`)

// fermTables splits a ferm configuration by the table its statements are in
// (a statement belongs to the last "table NAME" before it; filter before
// any, ferm's default).
func fermTables(text string) map[string]string {
	out := map[string]string{}
	locs := tableKeyword.FindAllStringSubmatchIndex(text, -1)
	prev, name := 0, "filter"
	for _, l := range locs {
		out[name] += text[prev:l[0]] + "\n"
		prev, name = l[1], text[l[2]:l[3]]
	}
	out[name] += text[prev:]
	return out
}

// chainsOf returns the chain names the statements that re matches name.
func chainsOf(re *regexp.Regexp, text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		for _, c := range strings.Fields(strings.Trim(m[1], "()")) {
			out[c] = true
		}
	}
	return out
}

// fermNeeds lists what a ferm configuration must preserve in table tbl:
// Docker's chains as they are live, the built-in chains Docker jumps from,
// and our chains.
func fermNeeds(h Host, tbl string) []string {
	need := map[string]bool{}
	if d := h.Saves[rules.IPv4]; d != nil && d.Table(tbl) != nil {
		for _, c := range d.Table(tbl).Chains {
			if strings.HasPrefix(c.Name, "DOCKER") {
				need[c.Name] = true
			}
		}
	}
	switch tbl {
	case "filter":
		if len(need) == 0 && !(h.Installed[rules.IPv4] || h.Installed[rules.IPv6]) {
			return nil
		}
		need["FORWARD"] = true
		for _, c := range rules.OwnedChains {
			need[c] = true
		}
	case "nat":
		if len(need) == 0 {
			return nil
		}
		for _, c := range []string{"PREROUTING", "OUTPUT", "POSTROUTING"} {
			need[c] = true
		}
	}
	return sortedKeys(need)
}

// stripComments drops ferm's # comments.
func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		l, _, _ = strings.Cut(l, "#")
		b.WriteString(l + "\n")
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
