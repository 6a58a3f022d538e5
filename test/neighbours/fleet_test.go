package neighbours

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// TestCommentsAndApply: a rule's comment lands in the live rules as
// iptables-save prints it, survives ufw reload and sync without drift, and
// shows in list; export and apply round-trip the policy; apply's and
// apply --check's exit codes (0 unchanged, 3 changed, 2 bad input naming
// the line, 1 failure) each with real packets behind them.
func TestCommentsAndApply(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer binExit("uninstall")
	mustBin(t, "allow", "8080", "from", clientAddr, "comment", "office VPN")
	mustBin(t, "deny", "from", banned, "comment", "scanner")
	if save := mustSh(t, "iptables-save -t filter"); !strings.Contains(save, `--comment "office VPN" -j RETURN`) || !strings.Contains(save, "--comment scanner -j DROP") {
		t.Errorf("the live rules lack the comments:\n%s", save)
	}
	mustSh(t, "ufw reload")
	if out := mustBin(t, "sync"); strings.Contains(out, "repaired") {
		t.Errorf("sync after ufw reload repaired a commented rule (live and desired differ):\n%s", out)
	}
	if out := mustBin(t, "list"); !strings.Contains(out, "allow 8080 from "+clientAddr+" comment 'office VPN'") {
		t.Errorf("list:\n%s", out)
	}
	if !open(clientAddr, 8080, "web") || open(banned, 8080, "web") {
		t.Error("the commented rules do not decide")
	}
	mustBin(t, "log-rate", "off")
	if save := mustSh(t, "iptables-save -t filter"); strings.Contains(save, "-A ufw-docker-bridge-forward -m limit") {
		t.Errorf("log-rate off left a LOG line:\n%s", save)
	}
	mustBin(t, "log-rate", "10/min")
	if save := mustSh(t, "iptables-save -t filter"); !strings.Contains(save, `-A ufw-docker-bridge-forward -m limit --limit 10/min -j LOG --log-prefix "[UFW-DOCKER-BRIDGE BLOCK] "`) ||
		!strings.Contains(save, `-A ufw-docker-bridge-guests -m limit --limit 10/min -j LOG --log-prefix "[UFW-DOCKER-BRIDGE GUEST] "`) {
		t.Errorf("log-rate 10/min:\n%s", save)
	}
	if _, code := binExit("log-rate", "0/min"); code != 2 {
		t.Errorf("log-rate 0/min: exit %d, want 2", code)
	}
	mustBin(t, "log-rate", "default")
	if out, code := binExit("allow", "9443", "comment", `x" -j ACCEPT`); code != 2 || strings.Contains(mustSh(t, "iptables-save"), "-j ACCEPT\"") {
		t.Errorf("a comment with a quote: exit %d %s", code, out)
	}

	policy := filepath.Join(dir, "policy.rules")
	export := mustBin(t, "export")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(policy, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// policy is rule lines as a policy apply takes: format 2, ended.
	policyOf := func(lines string) string { return "# format: 2\n" + lines + "# end of rules\n" }
	write(export)
	apply := func(args ...string) (string, int) {
		return binExit(append([]string{"apply", policy}, args...)...)
	}
	if out, code := apply(); code != 0 || !strings.Contains(out, "unchanged") {
		t.Errorf("apply of the export: exit %d, want 0\n%s", code, out)
	}
	rules := mustSh(t, "cat "+dir+"/state/rules")
	write(policyOf("allow 9443 comment 'admin UI'\ndeny from " + banned + "\n"))
	out, code := apply("--check")
	if code != 3 || !strings.Contains(out, "+allow 9443 comment 'admin UI'") || !strings.Contains(out, "-allow 8080") {
		t.Errorf("apply --check of a new policy: exit %d, want 3 and the diff\n%s", code, out)
	}
	if mustSh(t, "cat "+dir+"/state/rules") != rules || open(clientAddr, 9443, "admin") {
		t.Error("apply --check changed something")
	}
	if out, code := apply(); code != 3 {
		t.Errorf("apply of a new policy: exit %d, want 3\n%s", code, out)
	}
	lab.Matrix(t, "after apply", []lab.Cell{
		{Name: "admin 9443 from " + clientAddr, Got: open(clientAddr, 9443, "admin"), Want: true},
		{Name: "web 8080 from " + clientAddr + " (its rule is gone)", Got: open(clientAddr, 8080, "web"), Want: false},
		{Name: "admin 9443 from the denied " + banned, Got: open(banned, 9443, "admin"), Want: false},
	})
	// A policy reached through a symbolic link is the file it points to.
	link := filepath.Join(dir, "policy-link.rules")
	os.Remove(link)
	if err := os.Symlink(policy, link); err != nil {
		t.Fatal(err)
	}
	if out, code := binExit("apply", link); code != 0 {
		t.Errorf("apply through a symbolic link to the applied policy: exit %d, want 0\n%s", code, out)
	}
	out, code = apply("--json")
	var res struct{ Changed bool }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Changed {
		t.Errorf("apply again, --json: exit %d, want 0 and changed false\n%s", code, out)
	}
	// Drift is a change too: apply of the same policy repairs it.
	mustSh(t, "iptables -F ufw-docker-bridge-forward")
	if out, code := apply(); code != 3 || !strings.Contains(out, "repaired") {
		t.Errorf("apply over a flushed chain: exit %d, want 3 and what it repaired\n%s", code, out)
	}
	before := mustSh(t, "cat "+dir+"/state/rules; iptables-save -t filter | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'")
	write(policyOf("allow 9443\nallow 80 from 10.0.0.0/33\n"))
	if out, code := apply(); code != 2 || !strings.Contains(out, "line 3") {
		t.Errorf("apply of a bad line: exit %d, want 2 naming line 2\n%s", code, out)
	}
	if _, code := binExit("apply", filepath.Join(dir, "no-such-policy")); code != 2 {
		t.Errorf("apply of a missing file: exit %d, want 2", code)
	}
	// Off the canonical path: an export cut short, a forward of a port a
	// container publishes, two forwards of one port: each refused whole.
	for text, want := range map[string]string{
		export[:strings.LastIndex(export, "# end of rules")]:             "cut short",
		policyOf("allow 9443\nforward 8080 to vm1:80\n"):                 "published by container web",
		policyOf("forward 2222 to vm1:22\nforward 2222/tcp to vm2:22\n"): "line 3: host port 2222 is forwarded already",
		// Without the format and end lines any cut reads as fewer rules.
		"allow 9443\ndeny from " + banned + "\n": "line 1: a policy starts with",
		// A network cut inside its prefix is refused, not masked wider.
		policyOf("allow 9443 from 203.0.113.192/2\n"): "host bits",
	} {
		write(text)
		if out, code := apply(); code != 2 || !strings.Contains(out, want) {
			t.Errorf("apply of %q: exit %d, want 2 naming %q\n%s", text, code, want, out)
		}
	}
	// A failure half-way (no iptables-restore) changes nothing, exit 1.
	write(policyOf("allow 8080\n"))
	cmd := exec.Command(bin, "apply", policy)
	cmd.Env = append(os.Environ(), "PATH=/nonexistent")
	if out, err := cmd.CombinedOutput(); exitCode(err) != 1 {
		t.Errorf("apply without iptables: exit %d, want 1\n%s", exitCode(err), out)
	}
	if after := mustSh(t, "cat "+dir+"/state/rules; iptables-save -t filter | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'"); after != before {
		t.Errorf("a refused or failed apply changed the rules:\n%s\n---\n%s", before, after)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestAnsibleRole runs the repository's role with the real ansible-playbook
// (connection local) against the lab twice: the first run changes the
// policy and loads its address set, the second reports ok; check mode
// changes nothing; the ports follow the policy and the set's members.
func TestAnsibleRole(t *testing.T) {
	lab.Need(t, "ansible-playbook")
	fresh(t)
	mustBin(t, "install")
	defer binExit("uninstall")
	root, err := filepath.Abs("../../contrib/ansible")
	if err != nil {
		t.Fatal(err)
	}
	play := filepath.Join(dir, "play.yml")
	vars := filepath.Join(dir, "vars.yml")
	if err := os.WriteFile(play, []byte(`- hosts: localhost
  connection: local
  gather_facts: false
  roles: [ufw_docker_bridge]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	setVars := func(partners []string, rules ...string) {
		t.Helper()
		text := "ufw_docker_bridge_bin: " + bin + "\nufw_docker_bridge_policy_path: " + filepath.Join(dir, "role-policy.rules") + "\n"
		if partners != nil {
			text += "ufw_docker_bridge_sets:\n  partners: [" + strings.Join(partners, ", ") + "]\n"
		}
		text += "ufw_docker_bridge_rules:\n"
		for _, r := range rules {
			text += "  - \"" + r + "\"\n"
		}
		if err := os.WriteFile(vars, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recap := regexp.MustCompile(`localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)
	run := func(args ...string) (changed, failed string) {
		t.Helper()
		cmd := exec.Command("ansible-playbook", append([]string{"-i", "localhost,", play, "-e", "@" + vars}, args...)...)
		cmd.Env = append(os.Environ(), "ANSIBLE_ROLES_PATH="+filepath.Join(root, "roles"), "ANSIBLE_LOCAL_TEMP="+dir+"/ansible-tmp",
			"ANSIBLE_REMOTE_TEMP="+dir+"/ansible-tmp", "HOME="+dir, "ANSIBLE_NOCOLOR=1", "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3")
		out, _ := cmd.CombinedOutput()
		m := recap.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("ansible-playbook printed no recap:\n%s", out)
		}
		t.Logf("ansible-playbook %v: ok=%s changed=%s failed=%s", args, m[1], m[2], m[4])
		if m[4] != "0" {
			t.Logf("%s", out)
		}
		return m[2], m[4]
	}
	setVars([]string{office + "/32", "192.0.2.0/24"}, "allow 9443 comment 'admin UI'", "deny from "+banned, "allow 8080 from @partners")
	if ch, f := run("--check"); f != "0" || ch == "0" {
		t.Errorf("check mode: changed=%s failed=%s, want changes reported", ch, f)
	}
	if open(clientAddr, 9443, "admin") {
		t.Error("check mode opened 9443")
	}
	if out := mustBin(t, "set", "list"); strings.Contains(out, "partners") {
		t.Errorf("check mode made the set:\n%s", out)
	}
	if ch, f := run(); ch == "0" || f != "0" {
		t.Errorf("first run: changed=%s failed=%s, want changed", ch, f)
	}
	if ch, f := run(); ch != "0" || f != "0" {
		t.Errorf("second run: changed=%s failed=%s, want ok (changed=0)", ch, f)
	}
	lab.Matrix(t, "after the role", []lab.Cell{
		{Name: "admin 9443 from " + clientAddr, Got: open(clientAddr, 9443, "admin"), Want: true},
		{Name: "admin 9443 from the denied " + banned, Got: open(banned, 9443, "admin"), Want: false},
		{Name: "web 8080 from " + clientAddr, Got: open(clientAddr, 8080, "web"), Want: false},
		{Name: "web 8080 from " + office + " (allow from @partners)", Got: open(office, 8080, "web"), Want: true},
	})
	// The set alone changes: the play says changed, the port follows.
	setVars([]string{"192.0.2.0/24"}, "allow 9443 comment 'admin UI'", "deny from "+banned, "allow 8080 from @partners")
	if ch, f := run(); ch != "1" || f != "0" {
		t.Errorf("a member out of the set: changed=%s failed=%s, want changed=1", ch, f)
	}
	if open(office, 8080, "web") {
		t.Error("the member taken out of the set still reaches 8080")
	}
	setVars(nil, "allow 9443 from 10.0.0.0/33")
	if _, f := run(); f == "0" {
		t.Error("a bad rule in the role's policy did not fail the play")
	}
	if !open(clientAddr, 9443, "admin") {
		t.Error("a failed play changed the policy")
	}
}

// TestMetrics: the watcher's metrics read by the real Debian
// prometheus-node-exporter from its textfile directory (it refuses a file
// that does not parse: node_textfile_scrape_error) and by a scrape of
// --metrics-listen; the counters move when a clobber is repaired, when a
// connection is blocked and when a commented rule lets one through; a link
// planted at the file is replaced, its target left alone.
func TestMetrics(t *testing.T) {
	lab.Need(t, "prometheus-node-exporter")
	fresh(t)
	mustBin(t, "install")
	defer binExit("uninstall")
	mustBin(t, "allow", "8080", "from", clientAddr, "comment", "office VPN")
	metricsDir := filepath.Join(dir, "metrics")
	// Every watcher of the lab writes there: an earlier test's file, with
	// its counters, would pass for this watcher's until its first write.
	os.RemoveAll(metricsDir)
	os.MkdirAll(metricsDir, 0o755)
	// The prometheus user owns the directory's parent on Debian and can
	// plant a link at the file: the watcher, root, must not write through it.
	victim := filepath.Join(dir, "shadow")
	if err := os.WriteFile(victim, []byte("root:secret\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(metricsDir, "ufw-docker-bridge.prom")); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if data, _ := os.ReadFile(victim); string(data) != "root:secret\n" {
			t.Errorf("the watcher wrote through the link planted at its metrics file: %.80q", data)
		}
	}()
	ne, err := lab.Start(filepath.Join(dir, "node-exporter.log"), "prometheus-node-exporter", "--collector.disable-defaults",
		"--collector.textfile", "--collector.textfile.directory="+metricsDir, "--web.listen-address=127.0.0.1:9100")
	if err != nil {
		t.Fatal(err)
	}
	defer ne.Stop(5 * time.Second)
	w := lab.StartWatcher(t, bin, dir, []string{"--metrics-listen", "127.0.0.1:9633", "--metrics-interval", "500ms"})
	defer w.Kill(t)
	scrape := func(url string) map[string]float64 {
		out, _ := exec.Command("curl", "-s", "-m", "2", url).Output()
		m := map[string]float64{}
		for _, l := range strings.Split(string(out), "\n") {
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			i := strings.LastIndexByte(l, ' ')
			if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil && i > 0 {
				m[l[:i]] = v
			}
		}
		return m
	}
	const (
		node     = "http://127.0.0.1:9100/metrics"
		repairs  = `ufw_docker_bridge_repairs_total{cause="ipv4"}`
		blocked  = `ufw_docker_bridge_blocked_packets_total{chain="ufw-docker-bridge-forward",family="ipv4"}`
		passes   = "ufw_docker_bridge_passes_total"
		scrapeOK = "node_textfile_scrape_error"
	)
	waitFor := func(what string, ok func(m map[string]float64) bool) map[string]float64 {
		t.Helper()
		var m map[string]float64
		if err := lab.WaitFor(15*time.Second, func() error {
			if m = scrape(node); !ok(m) {
				return errNotYet
			}
			return nil
		}); err != nil {
			t.Fatalf("%s: node_exporter's metrics never showed it:\n%v\n%s", what, m, mustSh(t, "cat "+filepath.Join(dir, "node-exporter.log")+" | tail -5"))
		}
		return m
	}
	m := waitFor("the first pass", func(m map[string]float64) bool { _, ok := m[passes]; return ok })
	if m[`ufw_docker_bridge_published_ports{open_to="closed"}`] < 3 {
		t.Errorf("published ports closed: %v, want at least 3 (web, admin, closed)", m[`ufw_docker_bridge_published_ports{open_to="closed"}`])
	}
	if _, ok := m[`ufw_docker_bridge_guard_drops_total{chain="check"}`]; !ok {
		t.Error("no guard drops series")
	}
	if m[scrapeOK] != 0 {
		t.Errorf("node_exporter could not read our file: %s = %v", scrapeOK, m[scrapeOK])
	}
	mustSh(t, "iptables -F DOCKER-USER")
	waitFor("a repaired clobber", func(x map[string]float64) bool { return x[repairs] > m[repairs] })
	// The comment labels the rule's counter.
	commented := func(m map[string]float64) (v float64) {
		for k, n := range m {
			if strings.HasPrefix(k, "ufw_docker_bridge_rule_packets_total{") && strings.Contains(k, `comment="office VPN"`) {
				v += n
			}
		}
		return v
	}
	before := scrape(node)
	if !open(clientAddr, 8080, "web") || open(banned, 8080, "web") {
		t.Fatal("the rule does not decide")
	}
	after := waitFor("a blocked and an allowed connection", func(x map[string]float64) bool {
		return x[blocked] > before[blocked] && commented(x) > commented(before)
	})
	t.Logf("blocked packets %v -> %v; packets of the rule commented 'office VPN' %v -> %v", before[blocked], after[blocked], commented(before), commented(after))
	if direct := scrape("http://127.0.0.1:9633/metrics"); direct[passes] < 1 || direct[blocked] < after[blocked] {
		t.Errorf("--metrics-listen: passes %v, blocked %v (node_exporter saw %v)", direct[passes], direct[blocked], after[blocked])
	}
	if _, code := binExit("watch", "--metrics-listen", "127.0.0.1:9633"); code != 2 {
		t.Errorf("a second watcher on a taken --metrics-listen address: exit %d, want 2", code)
	}
}
