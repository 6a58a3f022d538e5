package state

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// A set's file round-trips; one cut short (no end line) or with a line that
// is not an address is refused as damaged, naming the file, never read as
// fewer entries; a symlinked set file is written through.
func TestSetFiles(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	entries := []rules.SetEntry{{Prefix: netip.MustParsePrefix("192.0.2.0/24")}, {Prefix: netip.MustParsePrefix("2001:db8::7/128")}}
	if err := s.SaveSet("bad", entries); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LoadSet("bad")
	if err != nil || !ok || len(got) != 2 || got[1].Prefix != entries[1].Prefix {
		t.Fatalf("%v %v %v", got, ok, err)
	}
	data, _ := os.ReadFile(s.SetPath("bad"))
	for name, text := range map[string]string{
		"cut short": strings.TrimSuffix(string(data), setEnd+"\n"),
		"junk line": strings.Replace(string(data), "192.0.2.0/24", "192.0.2.0/24 -j ACCEPT", 1),
	} {
		os.WriteFile(s.SetPath("bad"), []byte(text), 0o644)
		var damaged *FileError
		if _, _, err := s.LoadSet("bad"); !errors.As(err, &damaged) || !strings.Contains(err.Error(), s.SetPath("bad")) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A set file kept elsewhere (configuration in git) stays a link.
	target := s.Dir + "/kept"
	os.WriteFile(target, data, 0o644)
	os.Remove(s.SetPath("bad"))
	if err := os.Symlink(target, s.SetPath("bad")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSet("bad", entries[:1]); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(s.SetPath("bad")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	if got, _, err := s.LoadSet("bad"); err != nil || len(got) != 1 {
		t.Errorf("through the link: %v %v", got, err)
	}
	if names, err := s.SetNames(); err != nil || len(names) != 1 {
		t.Errorf("names %v %v", names, err)
	}
}
