// Package ufw is what is UFW's own: whether it is enabled, whether it
// manages IPv6 (IPV6 in its defaults), and its lock. The backend that
// keeps our block in its after.rules is internal/backend, with UFW's
// profile (plan.Profile).
package ufw

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/shellvars"
)

// Enabled reports whether UFW is installed and enabled: ENABLED=yes in
// dir/ufw.conf, which UFW's boot job reads.
func Enabled(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "ufw.conf"))
	return err == nil && shellvars.Parse(string(data))["ENABLED"] == "yes"
}

// DefaultsPath is UFW's defaults file, where IPV6 says whether UFW manages
// IPv6 at all.
const DefaultsPath = "/etc/default/ufw"

// IPv6Off reports whether UFW's defaults at path say IPV6=no: UFW then
// loads no after6.rules and, when it starts, drops every IPv6 packet but
// loopback's. A file that cannot be read says nothing (false).
func IPv6Off(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && !strings.EqualFold(shellvars.Parse(string(data))["IPV6"], "yes")
}
