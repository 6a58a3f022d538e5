package backend

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/block"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// fakeNet records restores and fails the ones failOn says; Save returns a
// filter table where UFW is loaded and DOCKER-USER is Docker's default.
type fakeNet struct {
	mu      sync.Mutex // the backend runs the families at once
	applied []string   // "ipv4 test|apply: the input"
	failOn  func(f rules.Family, input string, test bool) bool
	live    func(f rules.Family) *rules.Table // nil: UFW loaded, DOCKER-USER Docker's default
}

// lastApply returns the last input applied (not tested) for family f.
func (n *fakeNet) lastApply(f rules.Family) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.applied) - 1; i >= 0; i-- {
		if strings.HasPrefix(n.applied[i], f.String()+" apply: ") {
			return n.applied[i]
		}
	}
	return ""
}

func (n *fakeNet) Restore(_ context.Context, f rules.Family, input string, test bool) error {
	live, _ := n.Save(context.Background(), f, "filter")
	n.mu.Lock()
	defer n.mu.Unlock()
	// A test validates a whole file (its own tables); an apply meets the
	// live table.
	check := func() error { _, err := rules.ParseSave(input); return err }
	if !test {
		check = func() error { _, err := rules.Apply(live, input); return err }
	}
	if err := check(); err != nil {
		return err
	}
	if n.failOn != nil && n.failOn(f, input, test) {
		return errors.New("restore failed")
	}
	kind := "apply"
	if test {
		kind = "test"
	}
	n.applied = append(n.applied, f.String()+" "+kind+": "+input)
	return nil
}

func (n *fakeNet) Save(_ context.Context, f rules.Family, _ string) (*rules.Table, error) {
	if n.live != nil {
		return n.live(f), nil
	}
	return &rules.Table{Name: "filter", Chains: []*rules.Chain{
		{Name: "FORWARD", Policy: "DROP", Rules: []string{"-j DOCKER-USER"}},
		{Name: rules.ChainDockerUser, Policy: "-", Rules: []string{"-j RETURN"}},
		{Name: f.UFWUserForward(), Policy: "-"},
	}}, nil
}

const afterRules = "# user's after.rules\n*filter\n:ufw-after-input - [0:0]\nCOMMIT\n"

func newBackend(t *testing.T, n *fakeNet) *Backend {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"after.rules", "after6.rules"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(afterRules), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return &Backend{Dir: dir, Net: n, BackupDir: filepath.Join(dir, "backup"), Source: "rules"}
}

func fileOf(t *testing.T, b *Backend, f rules.Family) string {
	data, err := os.ReadFile(b.Path(f))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestInstallWritesBlocksAndAppliesLive(t *testing.T) {
	n := &fakeNet{}
	b := newBackend(t, n)
	rs := rules.Ruleset{{Action: rules.Allow, Ports: rules.Ports{First: 80, Last: 80}}}
	c, err := b.Prepare(context.Background(), rs, Install)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, f := range rules.Families {
		got := fileOf(t, b, f)
		if !strings.HasPrefix(got, afterRules+rules.MarkerBegin) || !strings.Contains(got, "--ctorigdstport 80 -j RETURN") {
			t.Errorf("%s:\n%s", f, got)
		}
	}
	var live int
	for _, a := range n.applied {
		if strings.Contains(a, " apply: ") {
			live++
			if strings.Contains(a, ":ufw-user-forward") || strings.Contains(a, ":ufw6-user-forward") {
				t.Error("a live restore declared UFW's route chain: it would flush the user's ufw route rules")
			}
		}
	}
	if live != 2 {
		t.Errorf("want one live restore per family, got %d", live)
	}
	inst, _ := b.Installed()
	if !inst[rules.IPv4] || !inst[rules.IPv6] {
		t.Errorf("Installed = %v", inst)
	}
}

func TestFailedRestoreRollsBackAndWritesNothing(t *testing.T) {
	n := &fakeNet{failOn: func(f rules.Family, input string, test bool) bool {
		return f == rules.IPv6 && !test && strings.Contains(input, "ctorigdstport")
	}}
	b := newBackend(t, n)
	rs := rules.Ruleset{{Action: rules.Allow, Ports: rules.Ports{First: 80, Last: 80}}}
	c, err := b.Prepare(context.Background(), rs, Install)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(context.Background(), c); err == nil {
		t.Fatal("commit succeeded although the ipv6 restore failed")
	}
	last := n.lastApply(rules.IPv4)
	if strings.Contains(last, "ctorigdstport") || !strings.Contains(last, "-X ufw-docker-bridge-forward") {
		t.Errorf("ipv4 not rolled back to its snapshot; last restore:\n%s", last)
	}
	for _, f := range rules.Families {
		if fileOf(t, b, f) != afterRules {
			t.Errorf("%s was written although the live apply failed", f)
		}
	}
}

func TestFailedFileWriteRollsBack(t *testing.T) {
	n := &fakeNet{}
	b := newBackend(t, n)
	// The backup directory cannot be created: a file stands in its place.
	if err := os.WriteFile(b.BackupDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := b.Prepare(context.Background(), nil, Install)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(context.Background(), c); err == nil {
		t.Fatal("commit succeeded without its backup")
	}
	for _, f := range rules.Families {
		if got := n.lastApply(f); !strings.Contains(got, "-X ufw-docker-bridge-forward") {
			t.Errorf("live %s rules not rolled back:\n%s", f, got)
		}
	}
	if fileOf(t, b, rules.IPv4) != afterRules {
		t.Error("after.rules changed")
	}
}

func TestDamagedMarkersStopPrepare(t *testing.T) {
	b := newBackend(t, &fakeNet{})
	if err := os.WriteFile(b.Path(rules.IPv6), []byte(afterRules+rules.MarkerBegin+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Prepare(context.Background(), nil, Install); err == nil || !strings.Contains(err.Error(), "after6.rules") {
		t.Errorf("want an error naming after6.rules, got %v", err)
	}
}

func TestInvalidFileRefused(t *testing.T) {
	n := &fakeNet{failOn: func(_ rules.Family, _ string, test bool) bool { return test }}
	b := newBackend(t, n)
	if _, err := b.Prepare(context.Background(), nil, Install); err == nil || !strings.Contains(err.Error(), "validating") {
		t.Errorf("want a validation error, got %v", err)
	}
}

func TestVerifySeesAStaleBlock(t *testing.T) {
	b := newBackend(t, &fakeNet{})
	c, _ := b.Prepare(context.Background(), nil, Install)
	if _, err := b.Commit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	rs := rules.Ruleset{{Action: rules.Allow, Ports: rules.Ports{First: 80, Last: 80}}}
	hs, _, err := b.Verify(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		found := false
		for _, d := range h.Drift {
			found = found || strings.Contains(d, "differs from the rules")
		}
		if h.InSync || !found {
			t.Errorf("%s: a block rendered from other rules was not reported: %v", h.Family, h.Drift)
		}
	}
}

func TestRepairFilesRendersEveryStaleBlock(t *testing.T) {
	b := newBackend(t, &fakeNet{})
	c, _ := b.Prepare(context.Background(), nil, Install)
	if _, err := b.Commit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	rs := rules.Ruleset{{Action: rules.Allow, Ports: rules.Ports{First: 80, Last: 80}}}
	got, err := b.RepairFiles(rs, nil, nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("repaired %v, %v: want both families", got, err)
	}
	for _, f := range rules.Families {
		if !strings.Contains(fileOf(t, b, f), "--ctorigdstport 80 -j RETURN") {
			t.Errorf("%s not re-rendered", f)
		}
	}
	if again, err := b.RepairFiles(rs, nil, nil); err != nil || len(again) != 0 {
		t.Errorf("second pass repaired %v, %v: want nothing", again, err)
	}
}

func TestUpdateEditsLiveChainsInPlace(t *testing.T) {
	old := rules.Ruleset{{Action: rules.Allow, Ports: rules.Ports{First: 80, Last: 80}}}
	n := &fakeNet{live: func(f rules.Family) *rules.Table {
		t := plan.Filter(plan.Input{Family: f, Rules: old})
		t.Chains = append(t.Chains, &rules.Chain{Name: f.UFWUserForward(), Policy: "-"},
			&rules.Chain{Name: rules.ChainDockerUser, Policy: "-", Rules: []string{"-j " + rules.ChainUser}})
		return t
	}}
	b := newBackend(t, n)
	c, err := b.Prepare(context.Background(), old, Install)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	r, _ := rules.Parse([]string{"allow", "443/tcp"})
	c, err = b.Prepare(context.Background(), append(old, r), Update)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Runtime) != 2 || len(c.Families) != 2 {
		t.Fatalf("want one runtime change per family, got %d (families %v)", len(c.Runtime), c.Families)
	}
	loopback := map[rules.Family]string{rules.IPv4: "127.0.0.0/8", rules.IPv6: "::1"}
	for _, rt := range c.Runtime {
		want := "*filter\n-I " + rules.ChainForward + " 5 -p tcp -m conntrack --ctstate DNAT ! --ctorigdst " + loopback[rt.Family] + " --ctorigdstport 443 -j RETURN\nCOMMIT\n"
		if rt.Input != want {
			t.Errorf("%s: want the one insert\n%s\ngot\n%s", rt.Family, want, rt.Input)
		}
	}
	// Nothing to change: no restore at all, but the change still covers
	// the installed families.
	if c, err = b.Prepare(context.Background(), old, Update); err != nil || len(c.Runtime) != 0 || len(c.Families) != 2 {
		t.Errorf("unchanged rules: runtime %v, families %v, %v", c.Runtime, c.Families, err)
	}
}

// TestDockerNFTBridgesCovered: under Docker's nftables backend, a bridge
// with a name of its own is known from the chains of Docker's table, and
// install covers it live and in the files; when that table cannot be read,
// install fails rather than leave the bridge uncovered.
func TestDockerNFTBridgesCovered(t *testing.T) {
	n := &fakeNet{}
	b := newBackend(t, n)
	b.DockerNFT = func() (map[rules.Family]bool, error) { return map[rules.Family]bool{rules.IPv4: true}, nil }
	b.DockerNFTChains = func() ([]string, error) {
		return []string{"filter-FORWARD", "filter-forward-in__docker0", "filter-forward-in__nftmail", "filter-forward-out__nftmail"}, nil
	}
	c, err := b.Prepare(context.Background(), nil, Install)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.DockerBridges, ",") != "docker0,nftmail" {
		t.Errorf("Docker's bridges %v", c.DockerBridges)
	}
	for _, fc := range c.Files {
		if fc.Family == rules.IPv4 && !strings.Contains(fc.New, "-A "+rules.ChainUser+" -o nftmail -j "+rules.ChainForward) {
			t.Errorf("the block does not cover nftmail:\n%s", fc.New)
		}
	}
	b.DockerNFTChains = func() ([]string, error) { return nil, errors.New("netlink: permission denied") }
	if _, err := b.Prepare(context.Background(), nil, Install); err == nil || !strings.Contains(err.Error(), "Docker's nftables chains") {
		t.Errorf("an unreadable table: %v", err)
	}
}

// TestOtherStateDirRefused: a block rendered from another rules file (a
// stray --state-dir) is not replaced by allow or install: the error names
// both files and nothing is written; uninstall may still take it out.
func TestOtherStateDirRefused(t *testing.T) {
	n := &fakeNet{}
	b := newBackend(t, n)
	b.Source = "/etc/ufw-docker-bridge/rules"
	rs := rules.Ruleset{{Action: rules.Deny, Source: netip.MustParsePrefix("203.0.113.7/32")}}
	c, err := b.Prepare(context.Background(), rs, Install)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := block.Source(fileOf(t, b, rules.IPv4)); got != b.Source {
		t.Fatalf("BlockSource = %q", got)
	}
	before := fileOf(t, b, rules.IPv4)
	other := *b
	other.Source = "state/rules"
	for _, mode := range []Mode{Update, Install} {
		if _, err := other.Prepare(context.Background(), nil, mode); err == nil || !strings.Contains(err.Error(), "rendered from /etc/ufw-docker-bridge/rules, not from state/rules") {
			t.Errorf("mode %d: %v", mode, err)
		}
	}
	if fileOf(t, b, rules.IPv4) != before {
		t.Error("a refused change wrote the file")
	}
	if _, err := other.Prepare(context.Background(), nil, Remove); err != nil {
		t.Errorf("uninstall from another state directory: %v", err)
	}
}

// Next to plain iptables (and firewalld), where UFW's route chain is never
// there, allow edits our chains in place as next to UFW, instead of
// flushing and refilling them.
func TestUpdateEditsInPlaceOnEveryBackend(t *testing.T) {
	old := rules.Ruleset{{Action: rules.Allow, Ports: rules.Ports{First: 80, Last: 80}}}
	for _, fw := range []plan.Firewall{plan.UFW, plan.IPTables, plan.FirewallD} {
		n := &fakeNet{live: func(f rules.Family) *rules.Table {
			t := plan.Filter(plan.Input{Family: f, Rules: old, Firewall: fw})
			t.Chains = append(t.Chains,
				&rules.Chain{Name: rules.ChainForwardBuiltin, Policy: "DROP", Rules: []string{"-j " + rules.ChainDockerUser}},
				&rules.Chain{Name: rules.ChainInputBuiltin, Policy: "DROP", Rules: []string{"-j " + rules.ChainInput}},
				&rules.Chain{Name: f.UFWUserForward(), Policy: "-"})
			if fw != plan.UFW {
				t.Chains = t.Chains[:len(t.Chains)-1]
			}
			return t
		}}
		b := newBackend(t, n)
		b.Firewall = fw
		if fw != plan.UFW {
			b.Dir = t.TempDir()
		}
		ctx := context.Background()
		c, err := b.Prepare(ctx, old, Install)
		if err == nil {
			_, err = b.Commit(ctx, c)
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err = b.Prepare(ctx, append(slices.Clone(old), rules.Rule{Action: rules.Allow, Ports: rules.Ports{First: 443, Last: 443}}), Update)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range c.Runtime {
			lines := strings.Count(rt.Input, "\n")
			if strings.Contains(rt.Input, ":"+rules.ChainForward+" ") || lines > 8 {
				t.Errorf("%s, %s: allow flushes and refills our chains (%d lines):\n%s", fw, rt.Family, lines, rt.Input)
			}
		}
	}
}
