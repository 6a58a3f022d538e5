package discover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerFirewallOff(t *testing.T) {
	dir := t.TempDir()
	proc := filepath.Join(dir, "proc")
	cmdline := func(pid string, args ...string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(strings.Join(args, "\x00")+"\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "daemon.json")
	cmdline("7", "/usr/sbin/dockerd", "-H", "fd://")
	if off, _, err := DockerFirewallOff(cfg, proc); off || err != nil {
		t.Fatalf("no config, a plain dockerd: off=%v err=%v", off, err)
	}
	cmdline("9", "/usr/bin/dockerd", "--iptables", "false")
	if off, ev, err := DockerFirewallOff(cfg, proc); !off || err != nil || !strings.Contains(ev, "--iptables") {
		t.Errorf("dockerd --iptables false: off=%v %q err=%v", off, ev, err)
	}
	os.RemoveAll(filepath.Join(proc, "9"))
	cmdline("9", "dockerd", "--iptables=true")
	if err := os.WriteFile(cfg, []byte(`{"iptables": false, "log-level": "info"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if off, ev, err := DockerFirewallOff(cfg, proc); !off || err != nil || !strings.Contains(ev, `"iptables": false`) {
		t.Errorf("daemon.json iptables false: off=%v %q err=%v", off, ev, err)
	}
	if err := os.WriteFile(cfg, []byte(`{"iptables": fal`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DockerFirewallOff(cfg, proc); err == nil {
		t.Error("a damaged daemon.json is not an error")
	}
}
