package ufw

import (
	"os"
	"path/filepath"
	"testing"
)

// install's automatic choice reads UFW's own switch: only ENABLED=yes in
// ufw.conf keeps the UFW backend when firewalld does not run.
func TestEnabled(t *testing.T) {
	for text, want := range map[string]bool{
		"# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n": true,
		"ENABLED=\"yes\"\n": true,
		"ENABLED=no\n":      false,
		"#ENABLED=yes\n":    false,
		"":                  false,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "ufw.conf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := Enabled(dir); got != want {
			t.Errorf("ufw.conf %q: enabled %v, want %v", text, got, want)
		}
	}
	if Enabled(t.TempDir()) {
		t.Error("no ufw.conf: enabled")
	}
}
