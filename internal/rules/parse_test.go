package rules

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"allow 443":                                            "allow 443",
		"allow 443/tcp":                                        "allow 443/tcp",
		"allow 5000:5010/udp":                                  "allow 5000:5010/udp",
		"allow 80:80":                                          "allow 80",
		"allow 3306/tcp from 10.1.0.0/16":                      "allow 3306/tcp from 10.1.0.0/16",
		"allow 22 from any":                                    "allow 22",
		"allow from 10.0.0.0/8":                                "allow from 10.0.0.0/8",
		"deny from 203.0.113.7":                                "deny from 203.0.113.7",
		"deny from 203.0.113.7/32":                             "deny from 203.0.113.7",
		"deny 22/tcp from 2001:db8::/32":                       "deny 22/tcp from 2001:db8::/32",
		"allow 65535/udp from ::1":                             "allow 65535/udp from ::1",
		"bridge br-vms include":                                "bridge br-vms include",
		"bridge virbr+ exclude":                                "bridge virbr+ exclude",
		"bridge lxdbr0 nat-off":                                "bridge lxdbr0 nat-off",
		"forward 2222/tcp to vm1:22":                           "forward 2222/tcp to vm1:22",
		"allow 80 to service:web":                              "allow 80 to service:web",
		"forward 2222 to vm1:2222":                             "forward 2222 to vm1:2222",
		"forward 53/udp to lxd:dns":                            "forward 53/udp to lxd:dns",
		"forward 8080 to libvirt:web.1:80 from 203.0.113.0/24": "forward 8080 to libvirt:web.1:80 from 203.0.113.0/24",
	} {
		r, err := Parse(strings.Fields(in))
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if r.String() != want {
			t.Errorf("%q: got %q, want %q", in, r.String(), want)
		}
		again, err := Parse(strings.Fields(r.String()))
		if err != nil || again != r {
			t.Errorf("%q: canonical form does not parse back: %v", in, err)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, words := range [][]string{
		{}, {"allow"}, {"deny"}, {"open", "80"}, {"allow", "0"}, {"allow", "65536"}, {"allow", "443/xyz"},
		{"allow", "1000:999"}, {"allow", "abc"}, {"allow", "080"}, {"allow", "-1"}, {"allow", "+80"},
		{"allow", "80", "from", "10.0.0.0/33"}, {"allow", "80", "from", "300.1.1.1"}, {"allow", "80", "from"},
		{"allow", "80", "to"}, {"deny", "to", "web"}, {"allow", "to", "a/b/c"}, {"allow", "to", "web", "--host-too"}, {"allow", "80", "from", "any", "extra"}, {"deny", "80"},
		{"deny", "from", "any"}, {"allow", "from", "any"}, {"allow", "80\n-A FORWARD -j ACCEPT"},
		{"allow", "8\u0668"}, {"allow", "８０"}, {"allow", "80", "from", "fe80::1%eth0"},
		{"allow", "80", "from", "::ffff:1.2.3.4"}, {"allow", "80#"}, {"allow", "80", "from", "1.2.3.4\x00"},
		{"allow", ""}, {"allow", strings.Repeat("1", 100)}, {"allow", "80/"}, {"allow", ":80"}, {"allow", "80:"},
		{"bridge"}, {"bridge", "br0"}, {"bridge", "br0", "open"}, {"bridge", "br0", "include", "now"},
		{"bridge", "a-name-longer-than15", "include"}, {"bridge", "+", "exclude"}, {"bridge", "-i", "include"},
		{"forward", "2222"}, {"forward", "2222", "to"}, {"forward", "2222:2223", "to", "vm"}, {"forward", "to", "vm"},
		{"forward", "2222", "to", "vm:0"}, {"forward", "2222", "to", "vm:"}, {"forward", "2222", "to", "vm:22:23"},
		{"forward", "2222", "to", "lxd:"}, {"forward", "2222", "to", "kvm:vm"}, {"forward", "2222", "to", "-vm"},
		{"forward", "2222", "to", "vm", "from", "@set"}, {"forward", "2222", "to", "vm", "from"}, {"forward", "2222", "to", "vm", "--host-too"},
		{"forward", "2222", "to", "a/b"}, {"forward", "2222", "from", "1.2.3.4", "to", "vm"},
		{"bridge", "br/0", "include"}, {"bridge", "br:0", "include"}, {"bridge", "..", "include"}, {"bridge", "br+0", "include"},
		// A label's target is no target a user can give; service: takes a name.
		{"allow", "to", "id:4f1c"}, {"allow", "to", "service:a/b"}, {"allow", "to", "service:"}, {"allow", "to", "svc:web"},
		// Host bits: a cut-short prefix is refused, never masked wider.
		{"allow", "80", "from", "203.0.113.192/2"}, {"deny", "from", "10.1.2.3/8"}, {"allow", "from", "2001:db8::1/32"},
		{"forward", "2222", "to", "vm", "from", "192.0.2.9/24"},
	} {
		if r, err := Parse(words); err == nil {
			t.Errorf("%q: accepted as %q", words, r)
		} else if !errors.Is(err, ErrSyntax) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %q is not a one-line syntax error", words, err)
		}
	}
}

func TestRulesetAddDelete(t *testing.T) {
	a, _ := Parse([]string{"allow", "80"})
	b, _ := Parse([]string{"deny", "from", "1.2.3.4"})
	rs, added := Ruleset{}.Add(a)
	rs, _ = rs.Add(b)
	if _, again := rs.Add(a); !added || again {
		t.Fatal("Add does not report duplicates")
	}
	if _, err := rs.Delete(Rule{Action: Allow, Ports: Ports{First: 81, Last: 81}}); err == nil {
		t.Error("deleting a missing rule succeeded")
	}
	out, err := rs.DeleteAt(1)
	if err != nil || len(out) != 1 || out[0] != b || len(rs) != 2 {
		t.Errorf("DeleteAt(1) = %v, %v (and must not change its input)", out, err)
	}
	if _, err := rs.DeleteAt(3); err == nil {
		t.Error("DeleteAt past the end succeeded")
	}
}

func TestBridges(t *testing.T) {
	var rs Ruleset
	for _, l := range []string{"bridge br-vms include", "bridge virbr7 exclude", "bridge lxdbr+ nat-off", "allow 80"} {
		r, err := Parse(strings.Fields(l))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	b := rs.Bridges()
	for name, want := range map[string][2]bool{ // guest, nat
		"virbr0": {true, true}, "virbr7": {false, false}, "lxdbr0": {true, false}, "incusbr0": {true, true},
		"br-vms": {true, true}, "br-vms2": {false, false}, "docker0": {false, false}, "br0": {false, false},
	} {
		if got := [2]bool{b.Guest(name), b.NAT(name)}; got != want {
			t.Errorf("%s: guest, nat = %v, want %v", name, got, want)
		}
	}
}

func TestHostToo(t *testing.T) {
	for _, words := range [][]string{{"allow", "443", "--host-too"}, {"allow", "--host-too", "443"}, {"deny", "from", "10.0.0.0/8", "--host-too"}} {
		r, err := Parse(words)
		if err != nil || !r.HostToo {
			t.Errorf("%v: %+v, %v", words, r, err)
			continue
		}
		back, err := Parse(strings.Fields(r.String()))
		if err != nil || back != r {
			t.Errorf("%v: %q does not parse back: %v", words, r.String(), err)
		}
	}
	if _, err := Parse([]string{"bridge", "virbr9", "include", "--host-too"}); err == nil {
		t.Error("a bridge rule takes --host-too")
	}
}

// A tool's rule carries its owner, only closes, and keeps its owner
// through the canonical form; a policy replaces the admin's rules and
// keeps the tools'.
func TestOwnedRules(t *testing.T) {
	r, err := Parse(strings.Fields("deny from @f2b-sshd --host-too --owner fail2ban"))
	if err != nil || r.Owner != "fail2ban" || r.String() != "deny from @f2b-sshd --host-too --owner fail2ban" {
		t.Fatalf("%q %v", r, err)
	}
	for _, bad := range []string{"allow 80 --owner fail2ban", "deny from 192.0.2.1 --owner", "deny from 192.0.2.1 --owner Fail2Ban",
		"deny from 192.0.2.1 --owner a --owner b", "forward 2222 to vm --owner x", "bridge br0 include --owner x"} {
		if r, err := Parse(strings.Fields(bad)); err == nil || !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: accepted as %q (%v)", bad, r, err)
		}
	}
	have, err := ParseLines("allow 443", "deny from @f2b-sshd --host-too --owner fail2ban", "deny from 203.0.113.7")
	if err != nil {
		t.Fatal(err)
	}
	policy, _ := ParseLines("allow 8080")
	got := have.WithOwned(policy)
	if len(got) != 2 || got[0].String() != "allow 8080" || got[1] != have[1] {
		t.Errorf("a policy over a tool's rule: %v", got)
	}
	// The admin adding the tool's rule again makes it the admin's: one
	// rule, not two.
	admin, _ := Parse(strings.Fields("deny from @f2b-sshd --host-too"))
	if out, added := have.Add(admin); !added || len(out) != 3 || out[1].Owner != "" {
		t.Errorf("the admin's own copy of a tool's rule: %v %v", out, added)
	}
	if i := have.Index(admin); i != 1 {
		t.Errorf("the owner is part of the rule's identity: index %d", i)
	}
}
