package plan

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func mustRules(t *testing.T, lines ...string) rules.Ruleset {
	t.Helper()
	var rs rules.Ruleset
	for _, l := range lines {
		r, err := rules.Parse(strings.Fields(l))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// story is the rule set of the UFW core issue's story.
var story = []string{
	"allow 8080", "allow 9443", "allow 3306/tcp from 192.168.77.0/24", "allow 5000:5010/udp",
	"deny from 203.0.113.7", "allow 443 from 2001:db8::/32", "deny 22/tcp from 2001:db8:bad::/48",
}

// Golden files are named by their parameters.
func TestFilterGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []string
		in    Input
	}{
		{"rules=none,family=ipv4,declare=false", nil, Input{Family: rules.IPv4}},
		{"rules=story,family=ipv4,declare=false", story, Input{Family: rules.IPv4}},
		{"rules=story,family=ipv6,declare=false", story, Input{Family: rules.IPv6}},
		{"rules=story,family=ipv4,declare=true", story, Input{Family: rules.IPv4, DeclareUFWForward: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Rules = mustRules(t, tc.rules...)
			golden(t, tc.name+"__restore", Filter(tc.in).String())
		})
	}
}

func TestBlockGolden(t *testing.T) {
	for _, f := range rules.Families {
		tb := Filter(Input{Family: f, Rules: mustRules(t, story...), DeclareUFWForward: true})
		golden(t, "block,family="+f.String(), Block(tb, f, "/etc/ufw-docker-bridge/rules"))
	}
	golden(t, "removal", Removal())
}

func TestFilterOrder(t *testing.T) {
	tb := Filter(Input{Family: rules.IPv4, Rules: mustRules(t, "allow 80", "deny from 10.0.0.1")})
	fwd := tb.Chain(rules.ChainForward).Rules
	deny, delegate, allow := -1, -1, -1
	for i, r := range fwd {
		switch {
		case strings.HasSuffix(r, "-j DROP") && strings.HasPrefix(r, "-s 10.0.0.1/32"):
			deny = i
		case r == "-j "+rules.ChainUFWUserForward:
			delegate = i
		case strings.Contains(r, "--ctorigdstport 80 -j RETURN"):
			allow = i
		}
	}
	if !(deny >= 0 && deny < delegate && delegate < allow) || fwd[len(fwd)-1] != "-j DROP" {
		t.Errorf("want deny < ufw delegation < allow < final DROP, got:\n%s", strings.Join(fwd, "\n"))
	}
	if tb.Chain(rules.ChainDockerUser).Rules[0] != "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN" {
		t.Error("DOCKER-USER must start with established traffic")
	}
}

func TestSnapshot(t *testing.T) {
	live := &rules.Table{Name: "filter", Chains: []*rules.Chain{
		{Name: rules.ChainDockerUser, Policy: "-", Rules: []string{"-j RETURN"}},
		{Name: rules.ChainUFWUserForward, Policy: "-", Rules: []string{"-p tcp --dport 80 -j ACCEPT"}},
	}}
	got := Snapshot(live, rules.IPv4)
	want := "*filter\n:DOCKER-USER - [0:0]\n:ufw-docker-bridge-forward - [0:0]\n-A DOCKER-USER -j RETURN\n-X ufw-docker-bridge-forward\nCOMMIT\n"
	if got != want {
		t.Errorf("Snapshot:\n%s\nwant:\n%s", got, want)
	}
}
