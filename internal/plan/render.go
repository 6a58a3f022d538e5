package plan

import (
	"bytes"
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
	err := blockTmpl.Execute(&b, map[string]string{
		"Begin":  rules.MarkerBegin,
		"End":    rules.MarkerEnd,
		"Source": source,
		"Family": f.String(),
		"Table":  t.String(),
	})
	if err != nil {
		// The template is embedded and its data fixed: this is a bug.
		panic(fmt.Sprintf("rendering the ufw block: %v", err))
	}
	return b.String()
}

// Removal is the iptables-restore --noflush input that takes our rules out of
// the live ruleset: DOCKER-USER back to Docker's own "-j RETURN", our chain
// flushed and deleted, in one transaction.
func Removal() string {
	t := &rules.Table{Name: "filter", Chains: []*rules.Chain{
		{Name: rules.ChainDockerUser, Policy: "-", Declared: true, Rules: []string{"-j RETURN"}},
		{Name: rules.ChainForward, Policy: "-", Declared: true},
	}}
	return withDeletes(t, []string{rules.ChainForward})
}

// Snapshot is the iptables-restore --noflush input that puts the chains a
// restore of ours touches back as they are in live, the filter table of
// family f: chains that exist get their rules back, chains that did not exist
// are deleted again. UFW's route chain is left alone when it exists.
func Snapshot(live *rules.Table, f rules.Family) string {
	t := &rules.Table{Name: "filter"}
	var deletes []string
	for _, name := range []string{rules.ChainDockerUser, rules.ChainForward, f.UFWUserForward()} {
		c := live.Chain(name)
		switch {
		case c != nil && name == f.UFWUserForward():
		case c != nil:
			t.Chains = append(t.Chains, &rules.Chain{Name: name, Policy: "-", Declared: true, Rules: c.Rules})
		default:
			t.Chains = append(t.Chains, &rules.Chain{Name: name, Policy: "-", Declared: true})
			deletes = append(deletes, name)
		}
	}
	return withDeletes(t, deletes)
}

// withDeletes prints t as restore input that ends by deleting the named
// (declared, hence flushed) chains.
func withDeletes(t *rules.Table, names []string) string {
	s := strings.TrimSuffix(t.String(), "COMMIT\n")
	for _, n := range names {
		s += "-X " + n + "\n"
	}
	return s + "COMMIT\n"
}
