package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	statepkg "github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
)

// checkPaths refuses, before any command runs, paths that would make a
// command act on another policy than the installed one: empty or relative
// values of --ufw-dir, --state-dir and --lock (or their environment
// variables), a state directory inside UFW's directory (UFW's reset and
// packages rewrite it), and an existing state directory not owned by root
// (whoever owns it can rewrite the firewall's policy). Each is a usage
// error (exit 2) and nothing has happened yet.
func checkPaths(c *cli.Context) error {
	for _, name := range []string{"ufw-dir", "state-dir", "lock"} {
		v := c.String(name)
		if v == "" {
			return usagef("--%s is empty: want an absolute path", name)
		}
		if !filepath.IsAbs(v) {
			return usagef("--%s %q is relative: want an absolute path", name, v)
		}
	}
	state, ufwDir := resolved(c.String("state-dir")), resolved(c.String("ufw-dir"))
	if rel, err := filepath.Rel(ufwDir, state); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return usagef("--state-dir %q is inside UFW's directory %s: keep our state out of the files UFW rewrites", c.String("state-dir"), ufwDir)
	}
	if st, err := os.Stat(state); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 {
			return usagef("--state-dir %q is owned by uid %d, not root: whoever owns it could rewrite the firewall", c.String("state-dir"), sys.Uid)
		}
	}
	// A state directory from the environment alone while the package's
	// records an installation: a stray variable (a shell profile, a unit
	// copied from another host) would act beside that policy, and next to
	// firewalld or plain iptables replace its live rules. Only the flag,
	// given on purpose, may do that.
	def, _ := c.App.Metadata[defaultStateDir].(string)
	explicit, _ := c.App.Metadata[explicitStateDir].(bool)
	if env := os.Getenv(stateDirEnv); env != "" && def != "" && !explicit && state != resolved(def) {
		if _, err := os.Stat(filepath.Join(def, statepkg.RecordFile)); err == nil {
			return usagef("%s=%s differs from the installed state directory %s (its installed record is there): "+
				"refusing to act beside that policy; give --state-dir on the command line to mean it", stateDirEnv, env, def)
		}
	}
	return nil
}

// stateDirEnv sets --state-dir. In the app's metadata, explicitStateDir
// says --state-dir was on the command line, defaultStateDir is its default.
const (
	stateDirEnv      = "UFW_DOCKER_BRIDGE_STATE_DIR"
	explicitStateDir = "explicit-state-dir"
	defaultStateDir  = "default-state-dir"
)

// resolved is path with its symbolic links followed as far as they exist.
func resolved(path string) string {
	p := filepath.Clean(path)
	var rest []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}
