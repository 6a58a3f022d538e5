package ufw

import (
	"os"
	"path/filepath"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/shellvars"
)

// Enabled reports whether UFW is installed and enabled: ENABLED=yes in
// dir/ufw.conf, which UFW's boot job reads.
func Enabled(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "ufw.conf"))
	return err == nil && shellvars.Parse(string(data))["ENABLED"] == "yes"
}
