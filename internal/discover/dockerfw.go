package discover

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DockerConfigPath is Docker's daemon configuration.
const DockerConfigPath = "/etc/docker/daemon.json"

// DockerFirewallOff reports whether Docker runs with its firewall
// management off ("iptables": false in its daemon.json at configPath, or
// --iptables=false on the command line of a dockerd in procDir), and the
// evidence. Docker then writes no DNAT rule: a published port is served by
// docker-proxy through INPUT, where the host firewall's own input rules
// decide, and DOCKER-USER never sees it. A daemon.json that cannot be
// parsed is an error: Docker itself refuses to start with it.
func DockerFirewallOff(configPath, procDir string) (bool, string, error) {
	data, err := os.ReadFile(configPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, "", fmt.Errorf("reading %s: %w", configPath, err)
	default:
		var cfg map[string]any
		if err := json.Unmarshal(data, &cfg); err != nil {
			return false, "", fmt.Errorf("parsing %s: %w", configPath, err)
		}
		if v, ok := cfg["iptables"].(bool); ok && !v {
			return true, configPath + `: "iptables": false`, nil
		}
	}
	cmdlines, _ := filepath.Glob(filepath.Join(procDir, "[0-9]*", "cmdline"))
	for _, p := range cmdlines {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // the process ended
		}
		args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		if filepath.Base(args[0]) != "dockerd" {
			continue
		}
		for i, a := range args {
			if a == "--iptables=false" || a == "--iptables" && i+1 < len(args) && args[i+1] == "false" {
				return true, "dockerd " + a + " (" + filepath.Dir(p) + ")", nil
			}
		}
	}
	return false, "", nil
}
