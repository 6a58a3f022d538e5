package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/backend"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
)

// kernel is a fake of the live filter tables (rules.Apply): a restore whose
// input fail names fails and changes nothing. The backend restores the
// families at once.
type kernel struct {
	mu   sync.Mutex
	live map[rules.Family]*rules.Table
	fail func(input string) bool
}

func newKernel() *kernel {
	k := &kernel{live: map[rules.Family]*rules.Table{}}
	for _, f := range rules.Families {
		k.live[f] = &rules.Table{Name: "filter", Chains: []*rules.Chain{
			{Name: rules.ChainInputBuiltin, Policy: "DROP"}, {Name: rules.ChainForwardBuiltin, Policy: "DROP"}}}
	}
	return k
}

func (k *kernel) Restore(_ context.Context, f rules.Family, input string, test bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if test { // a whole file, checked
		_, err := rules.ParseSave(input)
		return err
	}
	after, err := rules.Apply(k.live[f], input)
	if err != nil {
		return err
	}
	if k.fail != nil && k.fail(input) {
		return errors.New("restore failed")
	}
	k.live[f] = after
	return nil
}

func (k *kernel) Save(_ context.Context, f rules.Family, _ string) (*rules.Table, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.live[f], nil
}

// guard is a fake of the nftables guard; ensureErr fails its Ensure. It
// keeps the Docker bridges it was last made for.
type guard struct {
	mu        sync.Mutex
	ensureErr error
	ensured   int
	docker    []string
}

func (g *guard) Ensure(_ context.Context, _ rules.Bridges, docker []string) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ensured++
	changed := strings.Join(docker, ",") != strings.Join(g.docker, ",") || g.ensured == 1
	g.docker = docker
	return changed, g.ensureErr
}
func (g *guard) Published(context.Context, bool) error   { return nil }
func (g *guard) Remove(context.Context) error            { return nil }
func (g *guard) Current(context.Context) (string, error) { return "", nil }
func (g *guard) Edited(context.Context) (bool, error)    { return false, nil }

// sets is the fake sets table: what Ensure last made of it, the members
// Change and Ensure wrote, and whether our chains asked for its mark
// before it was there.
type sets struct {
	mu        sync.Mutex
	rs        rules.Ruleset // the rules the last Ensure decided
	names     []string
	members   map[string][]rules.SetEntry
	changeErr error
}

func (s *sets) Ensure(_ context.Context, rs rules.Ruleset, names, _ []string, load func(string) ([]rules.SetEntry, error)) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members == nil {
		s.members = map[string][]rules.SetEntry{}
	}
	s.rs = rs
	for _, n := range names {
		if _, ok := s.members[n]; !ok {
			e, err := load(n)
			if err != nil {
				return false, err
			}
			s.members[n] = e
		}
	}
	for n := range s.members {
		if !slices.Contains(names, n) {
			delete(s.members, n)
		}
	}
	changed := strings.Join(names, ",") != strings.Join(s.names, ",")
	s.names = names
	return changed, nil
}

func (s *sets) Change(name string, _, after []rules.SetEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changeErr != nil {
		return s.changeErr
	}
	s.members[name] = after
	return nil
}

func (s *sets) Reload(name string, entries []rules.SetEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[name] = entries
	return nil
}

func (s *sets) Remove(context.Context) error { s.names, s.members = nil, nil; return nil }

type nat struct{}

func (nat) Ensure(context.Context, rules.Bridges, []plan.Forward) ([]string, error) { return nil, nil }
func (nat) Script(context.Context, rules.Bridges, []plan.Forward) (string, error)   { return "", nil }
func (nat) Remove(context.Context) error                                            { return nil }

const afterRules = "# the user's own after.rules\n*filter\nCOMMIT\n"

// newEngine is an engine next to UFW over the fakes, with after.rules and
// after6.rules holding the user's text and nothing of ours.
func newEngine(t *testing.T, k *kernel, g *guard) (*Engine, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	ufwDir := filepath.Join(dir, "ufw")
	if err := os.MkdirAll(ufwDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"after.rules", "after6.rules"} {
		if err := os.WriteFile(filepath.Join(ufwDir, f), []byte(afterRules), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	store := state.Store{Dir: filepath.Join(dir, "state")}
	var out bytes.Buffer
	return &Engine{Store: store, Guard: g, NAT: nat{}, Sets: &sets{}, LockPath: filepath.Join(dir, "lock"), Out: &out,
		Backend: &backend.Backend{Dir: ufwDir, Net: k, BackupDir: store.BackupDir(), Source: store.RulesPath()}}, &out
}

func allow(port uint16) Mutation {
	return func(rs rules.Ruleset) (rules.Ruleset, string, error) {
		r := rules.Rule{Action: rules.Allow, Ports: rules.Ports{First: port, Last: port}}
		return append(rs, r), "added: " + r.String(), nil
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(data)
}

// A guard that cannot be put in place undoes install whole: the live
// rules, UFW's files, the rules file, the installed record and the journal
// are as they were.
func TestInstallUndoneWhenTheGuardFails(t *testing.T) {
	k := newKernel()
	e, _ := newEngine(t, k, &guard{ensureErr: errors.New("nft: no such table")})
	err := e.Install(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Fatalf("install with a failing guard: %v", err)
	}
	for _, f := range rules.Families {
		if got := read(t, e.Backend.Path(f)); got != afterRules {
			t.Errorf("%s after a failed install:\n%s", e.Backend.Path(f), got)
		}
		if c := k.live[f].Chain(rules.ChainForward); c != nil && len(c.Rules) > 0 {
			t.Errorf("%s: our chains stayed live after a failed install:\n%s", f, k.live[f])
		}
	}
	if _, recorded, _ := e.Store.Record(); recorded {
		t.Error("a failed install left the installed record")
	}
	if h, _ := e.Store.History(); len(h) != 0 {
		t.Errorf("a failed install went into the journal: %+v", h)
	}
}

// A change whose live restore fails on every try changes nothing: the
// rules file, the files and the journal stay as they were.
func TestChangeUndoneWhenTheRestoreFails(t *testing.T) {
	k := newKernel()
	e, _ := newEngine(t, k, &guard{})
	ctx := context.Background()
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Change(ctx, allow(80), false); err != nil {
		t.Fatal(err)
	}
	files := read(t, e.Backend.Path(rules.IPv4))
	rulesFile := read(t, e.Store.RulesPath())
	k.fail = func(input string) bool { return strings.Contains(input, "--ctorigdstport 443 ") }
	if err := e.Change(ctx, allow(443), false); err == nil {
		t.Fatal("allow 443 with every restore failing succeeded")
	}
	if got := read(t, e.Backend.Path(rules.IPv4)); got != files {
		t.Error("a failed change rewrote after.rules")
	}
	if got := read(t, e.Store.RulesPath()); got != rulesFile {
		t.Error("a failed change rewrote the rules file")
	}
	if h, _ := e.Store.History(); len(h) != 1 || !strings.Contains(h[0].What, "allow 80") {
		t.Errorf("the journal after a failed change: %+v", h)
	}
}

// Each change goes into the journal; Restore brings an earlier set back,
// also over a rules file cut short, and says it replaced it.
func TestJournalAndRestore(t *testing.T) {
	k := newKernel()
	e, out := newEngine(t, k, &guard{})
	ctx := context.Background()
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []uint16{80, 443} {
		if err := e.Change(ctx, allow(p), false); err != nil {
			t.Fatal(err)
		}
	}
	h, err := e.Store.History()
	if err != nil || len(h) != 2 || len(h[0].Rules) != 2 || len(h[1].Rules) != 1 {
		t.Fatalf("history: %+v %v", h, err)
	}
	if err := os.WriteFile(e.Store.RulesPath(), []byte("# format: 2\nallow 80\nallow 4"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.Change(ctx, allow(8080), false); err == nil {
		t.Fatal("a change over a rules file cut short succeeded")
	}
	if err := e.Restore(ctx, h[1].Rules, "restored: 2", false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "it is replaced") {
		t.Errorf("restore over a damaged file does not say it replaced it:\n%s", out)
	}
	rs, err := e.Store.Load()
	if err != nil || len(rs) != 1 || rs[0].String() != "allow 80" {
		t.Errorf("rules after restore: %v %v", rs, err)
	}
	if live := k.live[rules.IPv4].String(); !strings.Contains(live, "--ctorigdstport 80 ") || strings.Contains(live, "--ctorigdstport 443 ") {
		t.Errorf("live after restore:\n%s", k.live[rules.IPv4])
	}
}

// Sync repairs only what drifted: nothing on a host in step; a network of
// Docker's with a bridge name of its own, once Docker's rules name it, gets
// our rules, the block of every file and the guard in the same pass.
func TestSyncFollowsDockersBridges(t *testing.T) {
	k := newKernel()
	g := &guard{}
	e, _ := newEngine(t, k, g)
	ctx := context.Background()
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	if repaired, err := e.Sync(ctx); err != nil || len(repaired) != 0 {
		t.Fatalf("a sync in step repairs %q, %v", repaired, err)
	}
	for _, f := range rules.Families {
		after, err := rules.Apply(k.live[f], "*filter\n:DOCKER - [0:0]\n-A DOCKER -d 172.19.0.2/32 ! -i mailnet -o mailnet -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n")
		if err != nil {
			t.Fatal(err)
		}
		k.live[f] = after
	}
	if repaired, err := e.Sync(ctx); err != nil || len(repaired) == 0 {
		t.Fatalf("a sync after Docker named mailnet: %q, %v", repaired, err)
	}
	for _, f := range rules.Families {
		if c := k.live[f].Chain(rules.ChainUser); c == nil || !slices.Contains(c.Rules, "-o mailnet -j "+rules.ChainForward) {
			t.Errorf("%s: our chain does not send mailnet to our policy: %v", f, c)
		}
		if got := read(t, e.Backend.Path(f)); !strings.Contains(got, "-A "+rules.ChainUser+" -o mailnet -j "+rules.ChainForward) {
			t.Errorf("%s: the block was not rendered again for mailnet", e.Backend.Path(f))
		}
	}
	if !slices.Contains(g.docker, "mailnet") {
		t.Errorf("the guard was not made again for mailnet: %v", g.docker)
	}
	if again, err := e.Sync(ctx); err != nil || len(again) != 0 {
		t.Errorf("a second sync repairs %q, %v", again, err)
	}
}

// Status reads the policy, and live: in step after install, the guard
// missing where the fake nft has none.
func TestStatus(t *testing.T) {
	e, _ := newEngine(t, newKernel(), &guard{})
	ctx := context.Background()
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Change(ctx, allow(443), false); err != nil {
		t.Fatal(err)
	}
	p, err := e.Status(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 1 || !p.Recorded || !p.Installed[rules.IPv4] || !p.Installed[rules.IPv6] || p.Guard != GuardMissing {
		t.Errorf("status: %+v", p)
	}
	for _, h := range p.Live {
		if !h.InSync {
			t.Errorf("%s not in sync after install: %v", h.Family, h.Drift)
		}
	}
}
