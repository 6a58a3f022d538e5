package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/firewalld"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// recorder is a Runner that records every command and runs none.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) Run(_ context.Context, name string, args []string, _ []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, name+" "+strings.Join(args, " "))
	return nil, nil
}

func run(t *testing.T, rec *recorder, args ...string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Run(append([]string{Name, "--ufw-dir", filepath.Join(dir, "ufw"), "--state-dir", filepath.Join(dir, "state"),
		"--lock", filepath.Join(dir, "lock")}, args...), &out, &errb, testDeps(rec))
	if entries, _ := os.ReadDir(dir); code != 0 && len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%q failed but wrote %v", args, names)
	}
	return out.String(), errb.String(), code
}

func TestBadInputIsAUsageErrorWithoutSideEffects(t *testing.T) {
	for _, args := range [][]string{
		{"allow", "0"}, {"allow", "65536"}, {"allow", "443/xyz"}, {"allow", "1000:999"}, {"allow", "abc"},
		{"allow", "80", "from", "10.0.0.0/33"}, {"allow", "80", "from", "300.1.1.1"}, {"allow"}, {"deny"},
		{"delete"}, {"delete", "0"}, {"delete", "01"}, {"delete", "allow"}, {"frobnicate"}, {},
		{"allow", "80\n*filter"}, {"allow", "80", "from", "1.2.3.4\nCOMMIT"}, {"status", "x"},
		{"install", "--backend", "pf"}, {"install", "--nope"}, {"allow", "-x"},
		{"bridge", "virbr9", "include", "--host-too"}, {"allow", "443", "--host-too", "--host-too", "x"},
		{"explain", "--to", "1.2.3.4:80"}, {"explain", "--from", "1.2.3.4", "--to", "1.2.3.5:0"},
		{"explain", "--from", "x", "--to", "1.2.3.5:80"}, {"explain", "--from", "1.2.3.4", "--to", "[::1]:80"},
		{"explain", "--from", "1.2.3.4", "--to", "1.2.3.5:80/icmp"}, {"doctor", "extra"},
		{"set", "add", "-x", "192.0.2.1"}, {"set", "load", "--nope", "x", "-"}, {"set", "list", "-x"}, {"set", "del", "--x"},
		{"allow", "80", "from", "203.0.113.192/2"}, {"set", "add", "bad", "203.0.113.192/2"},
	} {
		rec := &recorder{}
		_, errs, code := run(t, rec, args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d (%s)", args, code, ExitUsage, errs)
		}
		if lines := strings.Count(errs, "\n"); lines != 1 || !strings.HasPrefix(errs, Name+": ") {
			t.Errorf("%q: stderr is not one line: %q", args, errs)
		}
		if len(rec.calls) > 0 {
			t.Errorf("%q: ran %v", args, rec.calls)
		}
	}
}

func TestAllowWithoutInstallSavesTheRule(t *testing.T) {
	rec := &recorder{}
	dir := t.TempDir()
	base := []string{Name, "--ufw-dir", filepath.Join(dir, "ufw"), "--state-dir", filepath.Join(dir, "state"), "--lock", filepath.Join(dir, "lock")}
	var out, errb bytes.Buffer
	if code := Run(append(base, "allow", "8080/tcp"), &out, &errb, testDeps(rec)); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "not installed") || len(rec.calls) != 0 {
		t.Errorf("output %q, calls %v", out.String(), rec.calls)
	}
	out.Reset()
	if code := Run(append(base, "list", "--json"), &out, &errb, testDeps(rec)); code != 0 || !strings.Contains(out.String(), `"rule": "allow 8080/tcp"`) {
		t.Errorf("list: %d %s", code, out.String())
	}
	out.Reset()
	if code := Run(append(base, "delete", "allow", "9090"), &out, &errb, testDeps(rec)); code != ExitFailure {
		t.Errorf("deleting a missing rule: exit %d", code)
	}
}

// FuzzArgs: no command line panics, and one refused as a usage error (exit 2)
// ran nothing and wrote nothing.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{"allow 80", "allow 80 --dry-run", "deny from 1.2.3.4", "delete 1", "delete allow 80", "list --json",
		"install --backend ufw --dry-run", "allow 0", "allow 80\n-A X", "frobnicate", "--state-dir"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, " ")
		for _, a := range args {
			// Only commands that cannot reach the kernel when they are valid:
			// the recorder answers every exec with nothing.
			if a == "install" || a == "uninstall" || a == "sync" || a == "watch" || a == "status" || (strings.HasPrefix(a, "-") && strings.Contains(a, "dir")) || strings.HasPrefix(a, "--lock") {
				return
			}
		}
		rec := &recorder{}
		dir := t.TempDir()
		var out, errb bytes.Buffer
		code := Run(append([]string{Name, "--ufw-dir", filepath.Join(dir, "ufw"), "--state-dir", filepath.Join(dir, "state"),
			"--lock", filepath.Join(dir, "lock")}, args...), &out, &errb, testDeps(rec))
		if code == ExitUsage {
			if len(rec.calls) > 0 {
				t.Fatalf("%q: usage error after running %v", s, rec.calls)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Fatalf("%q: usage error after writing %v", s, entries)
			}
		}
	})
}

// testDeps keeps unit tests off the machine: a recording runner, no
// bridges, no nftables tables, no system bus (and so no firewalld).
func testDeps(rec *recorder) Deps {
	return Deps{Runner: rec, Bridges: noBridges, NFTTables: noTables, AllNFTTables: noTables, DockerNFT: noDockerNFT, SystemBus: noBus,
		IPv6Missing: func() string { return "" }, UFWDefaults: "/nonexistent/default-ufw", Docker: docker.Fake{}}
}

func noBridges() ([]discover.Bridge, error) { return nil, nil }

func noTables() ([]string, error) { return nil, nil }

// noBus keeps unit tests off the machine's system bus (and its firewalld).
func noBus() (firewalld.Bus, error) { return nil, errors.New("no system bus in unit tests") }

func noDockerNFT() (map[rules.Family]bool, error) { return nil, nil }

// TestBadPathsAreUsageErrors: empty or relative paths, and a state
// directory inside UFW's, are refused before anything runs (exit 2, no
// command run, nothing written).
func TestBadPathsAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	ufwDir := filepath.Join(dir, "ufw")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--state-dir", ""}, "--state-dir is empty"},
		{[]string{"--ufw-dir", ""}, "--ufw-dir is empty"},
		{[]string{"--lock", ""}, "--lock is empty"},
		{[]string{"--state-dir", "state"}, "is relative"},
		{[]string{"--state-dir", filepath.Join(ufwDir, "udb")}, "inside UFW's directory"},
		{[]string{"--state-dir", filepath.Join(ufwDir, "..", "ufw", "x")}, "inside UFW's directory"},
	} {
		rec := &recorder{}
		var out, errb bytes.Buffer
		args := append([]string{Name, "--ufw-dir", ufwDir, "--lock", filepath.Join(dir, "lock"), "--state-dir", filepath.Join(dir, "state")}, c.args...)
		code := Run(append(args, "allow", "443"), &out, &errb, testDeps(rec))
		if code != ExitUsage || !strings.Contains(errb.String(), c.want) || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Errorf("%v: exit %d, %q; want exit 2 and one line with %q", c.args, code, errb.String(), c.want)
		}
		if len(rec.calls) > 0 {
			t.Errorf("%v: ran %v", c.args, rec.calls)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("%v: wrote %v", c.args, entries)
		}
	}
}

// A state directory from the environment alone, while the default one holds
// an installed record, is refused before anything runs; the flag, given on
// purpose, is not.
func TestStateDirFromEnvBesideAnInstallation(t *testing.T) {
	installedDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(installedDir, "installed"), []byte("BACKEND=ufw\nDIR=/etc/ufw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "state")
	t.Setenv("UFW_DOCKER_BRIDGE_STATE_DIR", other)
	deps := testDeps(&recorder{})
	deps.DefaultStateDir = installedDir
	var out, errb bytes.Buffer
	if code := Run([]string{Name, "list"}, &out, &errb, deps); code != ExitUsage ||
		!strings.Contains(errb.String(), "differs from the installed state directory "+installedDir) {
		t.Errorf("list with the variable elsewhere: exit %d, %q", code, errb.String())
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("the refused command created the other state directory")
	}
	errb.Reset()
	if code := Run([]string{Name, "--state-dir", other, "list"}, &out, &errb, deps); code != 0 {
		t.Errorf("list with --state-dir given: exit %d, %q", code, errb.String())
	}
	if os.Geteuid() != 0 {
		return // a state directory not owned by root is refused for that
	}
	t.Setenv("UFW_DOCKER_BRIDGE_STATE_DIR", installedDir)
	if code := Run([]string{Name, "list"}, &out, &errb, deps); code != 0 {
		t.Errorf("list with the variable naming the installed directory: exit %d, %q", code, errb.String())
	}
}
