package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestComments(t *testing.T) {
	for line, want := range map[string]string{
		"allow 443 from 10.0.0.0/8 comment 'office VPN'":    "allow 443 from 10.0.0.0/8 comment 'office VPN'",
		"deny from 198.51.100.7 comment 'scanner, 2026-12'": "deny from 198.51.100.7 comment 'scanner, 2026-12'",
		"forward 2222/tcp to vm1:22 comment ssh":            "forward 2222/tcp to vm1:22 comment 'ssh'",
		"allow 80 to web comment 'site (a+b=c) @x/y'":       "allow 80 to web comment 'site (a+b=c) @x/y'",
	} {
		words, err := Fields(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		r, err := Parse(words)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if r.String() != want {
			t.Errorf("%q: %q, want %q", line, r.String(), want)
		}
		again, err := Fields(r.String())
		if back, err2 := Parse(again); err != nil || err2 != nil || back != r {
			t.Errorf("%q does not read back: %v %v", r.String(), err, err2)
		}
	}
	// As typed: the shell hands the comment over as one word.
	if r, err := Parse([]string{"allow", "443", "comment", "office VPN"}); err != nil || r.Comment != "office VPN" {
		t.Errorf("typed comment: %v %v", r, err)
	}
	for _, words := range [][]string{
		{"allow", "443", "comment"}, {"allow", "443", "comment", ""}, {"allow", "443", "comment", "it's"},
		{"allow", "443", "comment", `a"b`}, {"allow", "443", "comment", "a\nb"}, {"allow", "443", "comment", "a\\b"},
		{"allow", "443", "comment", "$(reboot)"}, {"allow", "443", "comment", "a;b"}, {"allow", "443", "comment", "#x"},
		{"allow", "443", "comment", "é"}, {"allow", "443", "comment", strings.Repeat("x", 101)}, {"allow", "443", "comment", " x"},
		{"bridge", "br0", "include", "comment", "x"}, {"label-rules", "on", "comment", "x"},
		{"allow", "443", "comment", "a", "b"},
	} {
		if r, err := Parse(words); err == nil || !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: accepted as %q (%v)", words, r, err)
		}
	}
	if _, err := Fields("allow 443 comment 'open"); err == nil {
		t.Error("an unclosed comment reads")
	}
}

func TestCommentIsNoIdentity(t *testing.T) {
	rs, _ := ParseLines("allow 443 comment 'old'", "allow 80")
	plain, _ := Parse([]string{"allow", "443"})
	if rs.Index(plain) != 0 {
		t.Error("a rule is not found without its comment")
	}
	renamed, _ := Parse([]string{"allow", "443", "comment", "new"})
	out, added := rs.Add(renamed)
	if !added || len(out) != 2 || out[0].Comment != "new" {
		t.Errorf("Add with another comment: %v %v, want the comment replaced in place", out, added)
	}
	if _, added := out.Add(renamed); added {
		t.Error("the same rule and comment added twice")
	}
}

func TestCommented(t *testing.T) {
	r := Rule{Comment: "office VPN"}
	got := r.Commented([]string{"-s 10.0.0.0/8 -p tcp -m conntrack --ctorigdstport 443 -j RETURN"})
	if want := `-s 10.0.0.0/8 -p tcp -m conntrack --ctorigdstport 443 -m comment --comment "office VPN" -j RETURN`; got[0] != want {
		t.Errorf("got %s\nwant %s", got[0], want)
	}
	// iptables-save quotes only what is not letters, digits, _ and -.
	r.Comment = "office_VPN-2"
	if got := r.Commented([]string{"-j DROP"}); !slices.Equal(got, []string{"-m comment --comment office_VPN-2 -j DROP"}) {
		t.Errorf("got %v", got)
	}
}

// The kernel keeps 29 characters of a LOG prefix: a longer one would be
// cut, and then differ from what we render on every pass.
func TestLogPrefixesFit(t *testing.T) {
	for _, p := range []string{LogPrefix, GuestLogPrefix, GuardLogPrefix} {
		if len(p) > 29 {
			t.Errorf("log prefix %q is %d characters, at most 29", p, len(p))
		}
	}
	for _, bad := range []string{"0/min", "3/minute", "3", "x/min", "010/sec", "10001/sec", "on"} {
		if _, err := Parse([]string{"log-rate", bad}); err == nil {
			t.Errorf("log-rate %s accepted", bad)
		}
	}
	rs, err := ParseLines("log-rate 10/sec", "allow 80")
	if err != nil || rs.LogRateOf() != "10/sec" || (Ruleset{}).LogRateOf() != DefaultLogRate {
		t.Errorf("log rate of %v: %v", rs, err)
	}
}
