package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSetRules(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "deny from @f2b-sshd --host-too", want: "deny from @f2b-sshd --host-too"},
		{in: "allow 443/tcp from @cloudflare", want: "allow 443/tcp from @cloudflare"},
		{in: "deny 25 from @spamhaus.drop", want: "deny 25 from @spamhaus.drop"},
		{in: "allow from @office", err: "needs a port"},
		{in: "allow 443 from @office --host-too", err: "--host-too takes a set with deny"},
		{in: "deny from @", err: "invalid set name"},
		{in: "deny from @-x", err: "invalid set name"},
		{in: "deny from @a/b", err: "invalid set name"},
		{in: "deny from @" + strings.Repeat("a", 33), err: "invalid set name"},
	} {
		r, err := Parse(strings.Fields(tc.in))
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case r.String() != tc.want || len(r.Families()) != 2:
			t.Errorf("%q: %q (families %v)", tc.in, r, r.Families())
		}
	}
}

// Block lists as they are published: FireHOL netsets ('#' comments),
// Spamhaus DROP ("; SBL..."), bare addresses of both families.
func TestParseSetList(t *testing.T) {
	text := "# firehol_level1\n1.10.16.0/20 ; SBL256894\n\n  192.0.2.7  \n2001:db8::/32 # v6\n10.0.0.0/8\n"
	got, err := ParseSetList(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1.10.16.0/20", "192.0.2.7/32", "2001:db8::/32", "10.0.0.0/8"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d: %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := ParseSetList("192.0.2.1\nnot-an-address\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v", err)
	}
	if _, err := ParseSetList("::ffff:192.0.2.1\n"); err == nil {
		t.Error("an IPv4-mapped address was taken")
	}
	// A list cut inside a prefix ("/26" read as "/2") is refused with its
	// line, never masked into a quarter of the internet.
	for _, cut := range []string{"203.0.113.192/2", "10.1.2.3/8", "2001:db8::1/32"} {
		_, err := ParseSetList("192.0.2.1\n" + cut + "\n")
		if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "host bits") {
			t.Errorf("%s: %v, want an error naming line 2 and the host bits", cut, err)
		}
	}
}

// Overlapping and nested entries merge (the kernel refuses overlaps); a
// merged range lives as long as its longest entry, for good if one is;
// expired entries are gone; families stay apart.
func TestIntervals(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := func(p string, exp time.Duration) SetEntry {
		se := SetEntry{Prefix: netip.MustParsePrefix(p)}
		if exp != 0 {
			se.Expires = now.Add(exp)
		}
		return se
	}
	v4, v6 := Intervals([]SetEntry{
		e("10.0.0.0/24", time.Hour), e("10.0.0.128/25", 2*time.Hour), // nested: longest wins
		e("10.0.1.5/32", time.Hour), e("10.0.1.0/24", 0), // for good wins
		e("192.0.2.1/32", -time.Minute), // expired
		e("2001:db8::/64", 0), e("0.0.0.0/0", time.Hour),
	}, now)
	if len(v4) != 1 || v4[0].First.String() != "0.0.0.0" || v4[0].Last.String() != "255.255.255.255" || !v4[0].Expires.IsZero() {
		t.Errorf("0.0.0.0/0 swallows the rest, for good: %+v", v4)
	}
	if len(v6) != 1 || v6[0].Last.String() != "2001:db8::ffff:ffff:ffff:ffff" {
		t.Errorf("v6 %+v", v6)
	}
	v4, _ = Intervals([]SetEntry{e("10.0.0.0/24", time.Hour), e("10.0.0.128/25", 2*time.Hour), e("10.0.1.5/32", time.Hour), e("10.0.1.0/24", 0), e("192.0.2.1/32", -time.Minute)}, now)
	if len(v4) != 2 || !v4[0].Expires.Equal(now.Add(2*time.Hour)) || !v4[1].Expires.IsZero() || v4[1].First.String() != "10.0.1.0" {
		t.Errorf("v4 %+v", v4)
	}
	entries := []SetEntry{e("192.0.2.0/24", 0), e("198.51.100.9/32", time.Hour)}
	var text string
	for _, x := range entries {
		text += x.String() + "\n"
	}
	back, err := ParseSetFile(text)
	if err != nil || len(back) != 2 || back[0] != entries[0] || !back[1].Expires.Equal(entries[1].Expires) {
		t.Errorf("state file round trip: %v %v\n%s", back, err, text)
	}
}

func TestTargetRules(t *testing.T) {
	for in, want := range map[string]string{
		"allow 80 to web":                     "allow 80 to web",
		"allow to shop/api from 10.0.0.0/8":   "allow to shop/api from 10.0.0.0/8",
		"allow 443/tcp to nginx from @office": "allow 443/tcp to nginx from @office",
	} {
		r, err := Parse(strings.Fields(in))
		if err != nil || r.String() != want || r.Target == "" {
			t.Errorf("%q: %q, %v", in, r, err)
		}
	}
}

func TestParseLabel(t *testing.T) {
	rs, err := ParseLabel("443, 80/tcp from 10.0.0.0/8,from @office", "4f1c")
	var got []string
	for _, r := range rs {
		got = append(got, r.String())
	}
	if err != nil || strings.Join(got, "|") != "allow 443 to id:4f1c|allow 80/tcp to id:4f1c from 10.0.0.0/8|allow to id:4f1c from @office" {
		t.Errorf("%q %v", got, err)
	}
	for _, bad := range []string{"", "443,", "443 to db", "443 --host-too", "http", "80 from nowhere"} {
		if _, err := ParseLabel(bad, "web"); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if r, err := Parse(strings.Fields(LabelRulesOn)); err != nil || r.String() != LabelRulesOn {
		t.Errorf("%v %v", r, err)
	}
}
