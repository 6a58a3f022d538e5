package rules

import (
	"strings"
	"testing"
)

// FuzzParse: no input panics; an accepted rule prints to a canonical form
// that parses back to itself and holds nothing a rule line could be
// smuggled in with.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"allow 80", "allow 5000:5010/udp from 10.0.0.0/8", "deny from ::1", "deny 22/tcp from 1.2.3.4",
		"allow 80\n-A", "allow ８０", "allow 80 from 1.2.3.4/33", "allow from any", "allow 65535:1",
		"allow 80 comment x", "forward 2222/tcp to lxd:vm:22 from 10.0.0.0/8 comment ssh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(strings.Split(s, " "))
		if err != nil {
			return
		}
		c := r.String()
		// A comment's text sits between single quotes, and holds none.
		bare := strings.Replace(c, " comment '"+r.Comment+"'", "", 1)
		if strings.ContainsAny(bare, "\n\r\"'#*\\\x00") || strings.ContainsAny(r.Comment, "\n\r\"'#\\\x00") {
			t.Fatalf("canonical form %q holds a dangerous character", c)
		}
		words, err := Fields(c)
		if err != nil {
			t.Fatalf("%q -> %q does not split: %v", s, c, err)
		}
		again, err := Parse(words)
		if err != nil || again != r {
			t.Fatalf("%q -> %q does not parse back: %v", s, c, err)
		}
	})
}

// FuzzParseSave: no input panics, and whatever parses prints to a text that
// parses to the same print.
func FuzzParseSave(f *testing.F) {
	f.Add(sample)
	f.Add("*filter\n:X - [0:0]\n-A X -j RETURN\n-I X 1 -j DROP\n-D X -j RETURN\n-X X\nCOMMIT\n")
	f.Add("*filter\n-A\nCOMMIT\n")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseSave(s)
		if err != nil {
			return
		}
		again, err := ParseSave(d.String())
		if err != nil || again.String() != d.String() {
			t.Fatalf("print of %q does not parse back the same: %v", s, err)
		}
	})
}
