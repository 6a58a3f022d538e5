package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func rule(t *testing.T, line string) Mutation {
	t.Helper()
	r, err := rules.Parse(strings.Fields(line))
	if err != nil {
		t.Fatal(err)
	}
	return func(rs rules.Ruleset) (rules.Ruleset, string, error) {
		out, _ := rs.Add(r)
		return out, "added: " + r.String(), nil
	}
}

func addTo(p string) SetMutation {
	return func(old []rules.SetEntry, _ bool, _ rules.Ruleset) ([]rules.SetEntry, bool, string, error) {
		return append(old, rules.SetEntry{Prefix: netip.MustParsePrefix(p)}), false, "added", nil
	}
}

// A rule that names a set makes the set (empty) and the sets table before
// our chains ask for its mark; a failed commit takes the table back. Set
// changes reach the kernel, a refused one leaves the file as it was, and
// a set a rule names is not removed.
func TestSetRulesAndChanges(t *testing.T) {
	ctx := context.Background()
	k := newKernel()
	e, out := newEngine(t, k, &guard{})
	fake := e.Sets.(*sets)
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	k.fail = func(input string) bool { return strings.Contains(input, "--mark "+rules.SetsMark) }
	if err := e.Change(ctx, rule(t, "deny from @bad --host-too"), false); err == nil {
		t.Fatal("the commit was to fail")
	}
	if len(fake.names) != 1 { // the state's empty set stays, as a set
		t.Errorf("after the failed commit the table holds %v", fake.names)
	}
	k.fail = nil
	if err := e.Change(ctx, rule(t, "deny from @bad --host-too"), false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "set bad is new and empty") || !slices.Equal(fake.names, []string{"bad"}) {
		t.Errorf("names %v, output:\n%s", fake.names, out)
	}
	if err := e.ChangeSet(ctx, "bad", addTo("192.0.2.7/32")); err != nil {
		t.Fatal(err)
	}
	if m := fake.members["bad"]; len(m) != 1 || m[0].Prefix.String() != "192.0.2.7/32" {
		t.Errorf("kernel's members %v", m)
	}
	fake.changeErr = errors.New("netlink: no buffer space")
	if err := e.ChangeSet(ctx, "bad", addTo("198.51.100.0/24")); err == nil {
		t.Error("a refused change succeeded")
	}
	fake.changeErr = nil
	if got, _, _ := e.Store.LoadSet("bad"); len(got) != 1 {
		t.Errorf("the file after a refused change: %v", got)
	}
	remove := func([]rules.SetEntry, bool, rules.Ruleset) ([]rules.SetEntry, bool, string, error) {
		return nil, true, "deleted", nil
	}
	if err := e.ChangeSet(ctx, "bad", remove); !errors.Is(err, rules.ErrSyntax) || !strings.Contains(err.Error(), "in use by rule 1") {
		t.Errorf("removing a set in use: %v", err)
	}
	if _, ok, _ := e.Store.LoadSet("bad"); !ok {
		t.Error("the set in use is gone")
	}
}

// withDenySet is an installed engine whose rule deny from @bad names a set
// of one entry, 192.0.2.7.
func withDenySet(t *testing.T, ctx context.Context) (*Engine, *sets) {
	t.Helper()
	e, _ := newEngine(t, newKernel(), &guard{})
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Change(ctx, rule(t, "deny from @bad"), false); err != nil {
		t.Fatal(err)
	}
	if err := e.ChangeSet(ctx, "bad", addTo("192.0.2.7/32")); err != nil {
		t.Fatal(err)
	}
	return e, e.Sets.(*sets)
}

// A set whose elements another process changed (the watcher's SetEdits)
// is loaded again from the state by the next pass, which says so; a set
// the state does not hold is left alone.
func TestSyncReloadsSetsEditedElsewhere(t *testing.T) {
	ctx := context.Background()
	e, fake := withDenySet(t, ctx)
	fake.members["bad"] = nil // nft flush set, by hand
	e.SetEdits = func() map[string]string {
		return map[string]string{"bad": "process 4242 (nft)", "gone": "process 4242 (nft)"}
	}
	repaired, err := e.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(repaired, "sets: set bad's elements changed by process 4242 (nft): loaded again from the state") ||
		slices.ContainsFunc(repaired, func(s string) bool { return strings.Contains(s, "gone") }) {
		t.Errorf("repaired: %q", repaired)
	}
	if m := fake.members["bad"]; len(m) != 1 || m[0].Prefix.String() != "192.0.2.7/32" {
		t.Errorf("the kernel's set after the pass: %v", m)
	}
}

// fail2ban's rule (owned by the tool) survives a restore of a policy from
// before the jail started; a set that holds entries and that no rule names
// after a change is said, not left silently.
func TestRestoreKeepsToolsRules(t *testing.T) {
	ctx := context.Background()
	e, out := newEngine(t, newKernel(), &guard{})
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	before, _ := rules.ParseLines("allow 443")
	if err := e.Change(ctx, rule(t, "deny from @f2b-sshd --host-too --owner fail2ban"), false); err != nil {
		t.Fatal(err)
	}
	if err := e.ChangeSet(ctx, "f2b-sshd", addTo("192.0.2.7/32")); err != nil {
		t.Fatal(err)
	}
	if err := e.Restore(ctx, before, "applied: policy", false); err != nil {
		t.Fatal(err)
	}
	rs, err := e.Store.Load()
	if err != nil || len(rs) != 2 || rs[0].String() != "allow 443" || rs[1].Owner != "fail2ban" {
		t.Fatalf("after the restore: %v %v", rs, err)
	}
	if strings.Contains(out.String(), "no rule names it") {
		t.Errorf("a set in use was said to be unused:\n%s", out)
	}
	// The admin deletes the tool's rule: its bans stop, and that is said.
	out.Reset()
	del := func(rs rules.Ruleset) (rules.Ruleset, string, error) {
		out, err := rs.DeleteAt(2)
		return out, "deleted", err
	}
	if err := e.Change(ctx, del, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "note: set f2b-sshd holds 1 entries and no rule names it") {
		t.Errorf("an unused set with entries was not said:\n%s", out)
	}
}

// A set a rule names whose file is gone is an error when the table is
// built again, never an empty set.
func TestMissingSetFileIsNotEmpty(t *testing.T) {
	ctx := context.Background()
	e, fake := withDenySet(t, ctx)
	if err := os.Remove(e.Store.SetPath("bad")); err != nil {
		t.Fatal(err)
	}
	delete(fake.members, "bad") // nft flush ruleset, a reboot
	if _, err := e.Sync(ctx); err == nil || !strings.Contains(err.Error(), "is missing: it is not read as an empty set") {
		t.Errorf("sync with the set's file gone: %v", err)
	}
	if m, ok := fake.members["bad"]; ok {
		t.Errorf("the set was built from a missing file: %v", m)
	}
}

// The sets table decides a set allow by name for the host port and
// address Docker publishes, never for every port: `allow to web from @a`
// must not mark a source of @a that another rule's port then lets in.
// A label's rule that names a set the state lacks is ignored.
func TestSetAllowsByNameMarkTheirHostPorts(t *testing.T) {
	ctx := context.Background()
	e, out := newEngine(t, newKernel(), &guard{})
	fake := e.Sets.(*sets)
	e.Backend.DockerAPI = docker.Fake{Conts: []docker.Container{
		{ID: "w1", Names: []string{"/web"}, Ports: []docker.Port{{IP: "203.0.113.1", PublicPort: 8080, PrivatePort: 80, Type: "tcp"}}},
		{ID: "l1", Names: []string{"/lbl"}, Labels: map[string]string{rules.AllowLabel: "80 from @nosuch"},
			Ports: []docker.Port{{IP: "0.0.0.0", PublicPort: 8081, PrivatePort: 80, Type: "tcp"}}},
	}}
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"allow to web from @a", "allow 80 from @b", "label-rules on"} {
		if err := e.Change(ctx, rule(t, l), false); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, r := range fake.rs {
		if r.Set != "" {
			got = append(got, fmt.Sprintf("%s on %v", r, r.HostAddr))
		}
	}
	if want := "allow 8080/tcp from @a on 203.0.113.1|allow 80 from @b on invalid IP"; strings.Join(got, "|") != want {
		t.Errorf("the sets table decides %q, want %q", got, want)
	}
	if !strings.Contains(out.String(), "container lbl: label ufw-docker-bridge.allow ignored: no set nosuch") {
		t.Errorf("a label naming a set the state lacks:\n%s", out)
	}
}
