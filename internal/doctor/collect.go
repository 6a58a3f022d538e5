package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/shellvars"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/ufw"
)

// Collector gathers a Host through a Runner and the file system.
type Collector struct {
	Runner runner.Runner
	// UFWDir is /etc/ufw; DefaultUFW is /etc/default/ufw.
	UFWDir, DefaultUFW string
	// DockerConfig is /etc/docker/daemon.json.
	DockerConfig string
	// ProcSys is /proc/sys.
	ProcSys string
	// Etc is /etc, where the boot-time rule loaders keep their files.
	Etc string
	// Families are the families whose rules can be read here (nil: both;
	// IPv4 alone on a host without ip6tables).
	Families []rules.Family
}

// Collect reads everything Check needs; installed, rs and bridges come from
// the caller, who has them already.
func (c Collector) Collect(ctx context.Context, installed map[rules.Family]bool, rs rules.Ruleset, bridges []string) (Host, error) {
	h := Host{Saves: map[rules.Family]*rules.Dump{}, Installed: installed, Rules: rs, Bridges: bridges,
		Sysctl: map[string]string{}, UFW: map[string]string{}}
	tables := iptables.Tables{Runner: c.Runner}
	fams := c.Families
	if fams == nil {
		fams = rules.Families
	}
	for _, f := range fams {
		d, err := tables.SaveAll(ctx, f, false)
		if err != nil {
			return h, err
		}
		h.Saves[f] = d
	}
	v, err := tables.DetectVariant(ctx)
	if err != nil {
		return h, err
	}
	h.Variant = string(v)
	other := "iptables-legacy-save"
	if v == iptables.Legacy {
		other = "iptables-nft-save"
	}
	if out, err := c.Runner.Run(ctx, other, nil, nil); err == nil {
		h.Other, _ = rules.ParseSave(string(out))
	}
	out, err := c.Runner.Run(ctx, "nft", []string{"list", "tables"}, nil)
	if err != nil {
		return h, fmt.Errorf("listing nftables tables: %w", err)
	}
	h.NFTTables = discover.NFTTables(string(out))
	ruleset, err := c.Runner.Run(ctx, "nft", []string{"list", "ruleset"}, nil)
	if err != nil {
		return h, fmt.Errorf("reading the nftables ruleset: %w", err)
	}
	h.NFT = string(ruleset)
	for key, path := range map[string]string{
		"net.ipv4.ip_forward":                "net/ipv4/ip_forward",
		"net.bridge.bridge-nf-call-iptables": "net/bridge/bridge-nf-call-iptables",
	} {
		if data, err := os.ReadFile(filepath.Join(c.ProcSys, path)); err == nil {
			h.Sysctl[key] = strings.TrimSpace(string(data))
		}
	}
	for _, path := range []string{filepath.Join(c.UFWDir, "ufw.conf"), c.DefaultUFW} {
		if err := readShellVars(path, h.UFW); err != nil {
			return h, err
		}
	}
	if h.Boot, err = c.boot(); err != nil {
		return h, err
	}
	// chaifeng/ufw-docker's setup: its block, its route rules' comments.
	for _, name := range []string{"after.rules", "after6.rules"} {
		if data, err := os.ReadFile(filepath.Join(c.UFWDir, name)); err == nil {
			if _, block, ok := plan.CutUFWDockerBlock(string(data)); ok {
				h.UFWDocker = append(h.UFWDocker, fmt.Sprintf("%s: %d lines between %q and %q", filepath.Join(c.UFWDir, name),
					strings.Count(block, "\n"), rules.UFWDockerBegin, rules.UFWDockerEnd))
			}
		}
	}
	routes, err := ufw.RouteRules(c.UFWDir)
	if err != nil {
		return h, err
	}
	for _, r := range routes {
		if plan.IsUFWDockerComment(r.Comment) {
			h.UFWDocker = append(h.UFWDocker, fmt.Sprintf("ufw route %s %s # %s", r.Action, strings.Join(r.Spec(), " "), r.Comment))
		}
	}
	data, err := os.ReadFile(c.DockerConfig)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return h, fmt.Errorf("reading %s: %w", c.DockerConfig, err)
	default:
		if err := json.Unmarshal(data, &h.Docker); err != nil {
			return h, fmt.Errorf("parsing %s: %w", c.DockerConfig, err)
		}
	}
	return h, nil
}

// boot reads the files of Host.Boot that exist.
func (c Collector) boot() (map[string]string, error) {
	out := map[string]string{}
	if c.Etc == "" {
		return out, nil
	}
	paths := []string{persistentV4, persistentV6, persistentDefault, fermConf, fermDefault}
	for _, pattern := range []string{fermDir + "/*", unitDir + "/*.service", unitDir + "/*.service.d/*.conf"} {
		matches, err := filepath.Glob(filepath.Join(c.Etc, pattern))
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", pattern, err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(c.Etc, m)
			paths = append(paths, rel)
		}
	}
	for _, p := range paths {
		data, err := os.ReadFile(filepath.Join(c.Etc, p))
		switch {
		case errors.Is(err, fs.ErrNotExist), err == nil && strings.HasPrefix(p, unitDir) && !strings.Contains(string(data), "tables-restore"):
		case err != nil:
			return nil, fmt.Errorf("reading /etc/%s: %w", p, err)
		default:
			out[p] = string(data)
		}
	}
	return out, nil
}

// readShellVars reads KEY=value lines (quotes stripped) into vars; a missing
// file is not an error.
func readShellVars(path string, vars map[string]string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	for k, v := range shellvars.Parse(string(data)) {
		vars[k] = v
	}
	return nil
}
