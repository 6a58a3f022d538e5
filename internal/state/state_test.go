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
