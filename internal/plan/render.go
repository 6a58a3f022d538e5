package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"text/template"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/templates"
)

var blockTmpl = template.Must(template.ParseFS(templates.FS, "ufw-block.tmpl"))

// Block renders the managed block of a UFW after*.rules file: the markers,
// a header, and a self-contained "*filter ... COMMIT" section that UFW loads
// with iptables-restore -n on every start and reload. It ends in a newline.
// source names the state file the rules come from.
func Block(t *rules.Table, f rules.Family, source string) string {
	var b bytes.Buffer
	table := t.String()
	err := blockTmpl.Execute(&b, map[string]string{
		"Begin":     rules.MarkerBegin,
		"End":       rules.MarkerEnd,
		"Source":    source,
		"Family":    f.String(),
		"SumPrefix": rules.BlockSumPrefix,
		"Sum":       BlockSum(table),
		"Table":     table,
	})
	if err != nil {
		// The template is embedded and its data fixed: this is a bug.
		panic(fmt.Sprintf("rendering the ufw block: %v", err))
	}
	return b.String()
}

// Removal is the iptables-restore --noflush input that takes our rules out of
// the live filter table of family f: our jumps from DOCKER-USER and from
// UFW's input chain gone, our chains flushed and deleted, in one
// transaction. DOCKER-USER keeps the rules of Docker and of the other tools.
// Where Docker has no chains in iptables (its nftables backend, or no
// Docker) and DOCKER-USER holds nothing but our jump (and RETURNs, which
// decide nothing), it was ours: it goes, and FORWARD's jumps to it. It is "" when none of ours is there.
func Removal(live *rules.Table, f rules.Family) string {
	t := &rules.Table{Name: "filter"}
	var deletes []string
	hooks := []struct{ chain, rule string }{
		{rules.ChainDockerUser, "-j " + rules.ChainUser},
		{f.UFWBeforeInput(), InputJump},
		{rules.ChainInputBuiltin, InputJump},
	}
	if u := live.Chain(rules.ChainDockerUser); u != nil && !DockerManaged(live) &&
		count(u.Rules, "-j "+rules.ChainUser)+count(u.Rules, "-j RETURN") == len(u.Rules) {
		// Ours: flushed (declared) and deleted once FORWARD no longer jumps to it.
		t.Chains = append(t.Chains, &rules.Chain{Name: rules.ChainDockerUser, Policy: "-", Declared: true})
		for i := 0; i < countRule(live, rules.ChainForwardBuiltin, "-j "+rules.ChainDockerUser); i++ {
			deletes = append(deletes, "-D "+rules.ChainForwardBuiltin+" -j "+rules.ChainDockerUser)
		}
		deletes = append(deletes, "-X "+rules.ChainDockerUser)
		hooks = hooks[1:]
	}
	for _, hook := range hooks {
		for i := 0; i < countRule(live, hook.chain, hook.rule); i++ {
			deletes = append([]string{"-D " + hook.chain + " " + hook.rule}, deletes...)
		}
	}
	for _, name := range rules.OwnedChains {
		if live.Chain(name) != nil {
			t.Chains = append(t.Chains, &rules.Chain{Name: name, Policy: "-", Declared: true})
			deletes = append(deletes, "-X "+name)
		}
	}
	if len(deletes) == 0 {
		return ""
	}
	return withDeletes(t, deletes)
}

// Snapshot is the iptables-restore --noflush input that puts the chains a
// restore of ours touches back as they are in live, the filter table of
// family f: chains that exist get their rules back, chains that did not exist
// are deleted again. UFW's route chain is left alone when it exists; UFW's
// input chain and DOCKER-USER get their rules back (a restore of ours may
// add a jump there, or take an earlier version's rules out).
//
// When DOCKER-USER (our input chain) is not there, a restore of ours may
// create it and hook it into FORWARD (INPUT): that built-in chain then gets
// its live rules and policy back too, so that ours can be deleted again.
func Snapshot(live *rules.Table, f rules.Family) string {
	t := &rules.Table{Name: "filter"}
	for _, hook := range [][2]string{{rules.ChainForwardBuiltin, rules.ChainDockerUser}, {rules.ChainInputBuiltin, rules.ChainInput}} {
		if c := live.Chain(hook[0]); c != nil && live.Chain(hook[1]) == nil {
			t.Chains = append(t.Chains, &rules.Chain{Name: c.Name, Policy: c.Policy, Declared: true, Rules: c.Rules})
		}
	}
	var deletes []string
	for _, name := range append(append([]string{rules.ChainDockerUser}, rules.OwnedChains...), f.UFWUserForward(), f.UFWBeforeInput()) {
		c := live.Chain(name)
		switch {
		case c != nil && name == f.UFWUserForward():
		case c != nil:
			t.Chains = append(t.Chains, &rules.Chain{Name: name, Policy: "-", Declared: true, Rules: c.Rules})
		case name == f.UFWBeforeInput():
		default:
			t.Chains = append(t.Chains, &rules.Chain{Name: name, Policy: "-", Declared: true})
			deletes = append(deletes, "-X "+name)
		}
	}
	return withDeletes(t, deletes)
}

// withDeletes prints t as restore input that ends with the given lines
// (deletes of rules and of declared, hence flushed, chains).
func withDeletes(t *rules.Table, lines []string) string {
	s := strings.TrimSuffix(t.String(), "COMMIT\n")
	for _, l := range lines {
		s += l + "\n"
	}
	return s + "COMMIT\n"
}

// BlockSum is the checksum a block carries of its lines after the checksum
// line, up to the END marker (rules.BlockSumPrefix).
func BlockSum(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}
