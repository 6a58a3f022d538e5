package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func TestSaveLoad(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "state")}
	rs, err := s.Load()
	if err != nil || len(rs) != 0 {
		t.Fatalf("missing file: %v %v", rs, err)
	}
	r1, _ := rules.Parse([]string{"allow", "443"})
	r2, _ := rules.Parse([]string{"deny", "from", "10.0.0.0/8"})
	if err := s.Save(rules.Ruleset{r1, r2}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || len(got) != 2 || got[0] != r1 || got[1] != r2 {
		t.Fatalf("load: %v %v", got, err)
	}
}

func TestJunkIsRefusedWithItsLine(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	text := "# comment\nallow 80\n\nallow 80 from 10.0.0.0/8\nallow 99999\n"
	if err := os.WriteFile(s.RulesPath(), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load()
	if err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("want an error at line 5, got %v", err)
	}
	if _, err := Parse("allow 80\nallow 80\n", "x"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("duplicate: %v", err)
	}
	// One host port goes to one guest, whoever wrote the file.
	if _, err := Parse("forward 2222/tcp to vm1:22\nforward 2222 to vm2:22\n", "x"); err == nil || !strings.Contains(err.Error(), "line 2: host port 2222 is forwarded already") {
		t.Errorf("two forwards of one port: %v", err)
	}
	if rs, err := Parse("forward 2222/tcp to vm1:22\nforward 2222/udp to vm2:22\n", "x"); err != nil || len(rs) != 2 {
		t.Errorf("one port forwarded over tcp and udp to two guests: %v %v", rs, err)
	}
}

func TestLockSerialises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		u, err := Lock(path)
		if err == nil {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a second writer got the lock while the first held it")
	default:
	}
	unlock()
	<-got
}

// TestCutShortIsRefused: a rules file cut anywhere after its header, even
// in the middle of a source (192.168.77.0/24 -> 192.168.77.0/2, a wider
// rule), is refused with its line; a file written before the end line
// existed is read as it is.
func TestCutShortIsRefused(t *testing.T) {
	var rs rules.Ruleset
	for _, l := range []string{"allow 3306/tcp from 192.168.77.0/24", "deny from 203.0.113.7", "allow 443"} {
		r, err := rules.Parse(strings.Fields(l))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	full := Format(rs)
	if got, err := Parse(full, "rules"); err != nil || len(got) != 3 {
		t.Fatalf("the whole file: %v %v", got, err)
	}
	// Any cut is caught, down to an emptied file.
	start := 0
	if !strings.HasPrefix(full, formatLine+"\n") {
		t.Fatalf("the format line is not first:\n%s", full)
	}
	for cut := start; cut < len(full)-1; cut++ {
		got, err := Parse(full[:cut], "rules")
		if err == nil {
			t.Fatalf("cut at %d of %d read as %v:\n%s", cut, len(full), got, full[:cut])
		}
		if !strings.Contains(err.Error(), "rules line ") {
			t.Fatalf("cut at %d: no line in %v", cut, err)
		}
	}
	if _, err := Parse(full+"allow 80\n", "rules"); err == nil || !strings.Contains(err.Error(), "after the end line") {
		t.Errorf("a rule after the end line: %v", err)
	}
	if got, err := Parse("# an older file\nallow 80\n", "rules"); err != nil || len(got) != 1 {
		t.Errorf("a file from before the end line: %v %v", got, err)
	}
	if got, err := Parse(legacyFirstLine+"\n# more of the old header\n", "rules"); err != nil || len(got) != 0 {
		t.Errorf("an old file without rules: %v %v", got, err)
	}
}

// A policy for apply must say it is whole: without the format and end
// lines any cut after a line would read as fewer rules, so such a policy
// is refused, naming line 1; with them, every cut is refused.
func TestPolicyNeedsItsFormatAndEnd(t *testing.T) {
	for _, text := range []string{"allow 443\ndeny from 203.0.113.7\n", "allow 443\n# end of rules\n", "", "\n"} {
		if rs, err := ParsePolicy(text, "policy"); err == nil || !strings.Contains(err.Error(), "policy line 1") {
			t.Errorf("%q: %v %v, want refused naming line 1", text, rs, err)
		}
	}
	full := formatLine + "\nallow 443\ndeny from 203.0.113.7\n" + endLine + "\n"
	if rs, err := ParsePolicy(full, "policy"); err != nil || len(rs) != 2 {
		t.Fatalf("a whole policy: %v %v", rs, err)
	}
	for cut := 0; cut < len(full)-1; cut++ {
		if rs, err := ParsePolicy(full[:cut], "policy"); err == nil {
			t.Errorf("cut at %d read as %v", cut, rs)
		}
	}
}
