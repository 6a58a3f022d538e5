package neighbours

import (
	"os"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// TestImportUFWDocker: a host set up the way chaifeng/ufw-docker sets one up
// (its block in after.rules, loaded by ufw reload; `ufw route allow` rules
// with its comments, one for a container that is gone). import --dry-run
// changes nothing; import keeps every port open that was open (from outside
// and from a private network it trusted) and every closed one closed,
// leaves after.rules byte for byte but for its block, deletes its route
// rule and its live rules, keeps the rule of the gone container; doctor
// names such a setup before.
func TestImportUFWDocker(t *testing.T) {
	fresh(t)
	block, err := os.ReadFile("../../internal/plan/testdata/ufw-docker-block.rules")
	if err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile("/etc/ufw/after.rules")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		os.WriteFile("/etc/ufw/after.rules", original, 0o640)
		lab.Sh("ufw route delete allow proto tcp from any to 172.17.0.250 port 80; iptables -F ufw-docker-logging-deny; ufw reload")
	}()
	if err := os.WriteFile("/etc/ufw/after.rules", append(append([]byte{}, original...), block...), 0o640); err != nil {
		t.Fatal(err)
	}
	webIP := strings.TrimSpace(mustSh(t, docker+` inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' web`))
	mustSh(t, "ufw reload && ufw route allow proto tcp from any to "+webIP+" port 80 comment 'allow web 80/tcp'"+
		" && ufw route allow proto tcp from any to 172.17.0.250 port 80 comment 'allow ghost 80/tcp'")
	matrix := func(t *testing.T, title string) {
		t.Helper()
		lab.Matrix(t, title, []lab.Cell{
			{Name: "web 8080 from " + clientAddr + " (its route rule)", Got: open(clientAddr, 8080, "web"), Want: true},
			{Name: "admin 9443 from " + clientAddr, Got: open(clientAddr, 9443, "admin"), Want: false},
			{Name: "closed 9999 from " + clientAddr, Got: open(clientAddr, 9999, "closed"), Want: false},
			{Name: "admin 9443 from " + lanAddr + " (a private source it trusts)", Got: openAt(lanAddr, hostLAN, 9443, "admin"), Want: true},
		})
	}
	matrix(t, "ufw-docker's setup")
	if out, _ := binExit("doctor"); !strings.Contains(out, "ufw-docker-setup") {
		t.Errorf("doctor does not name ufw-docker's setup:\n%s", out)
	}
	before := mustSh(t, "cat /etc/ufw/after.rules /etc/ufw/user.rules")
	out := mustBin(t, "import", "--from", "ufw-docker", "--dry-run")
	for _, want := range []string{"add: allow 80/tcp to web", "add: allow from 10.0.0.0/8", "remove: ufw-docker's block from /etc/ufw/after.rules", "left in UFW: \"allow ghost 80/tcp\""} {
		if !strings.Contains(out, want) {
			t.Errorf("import --dry-run lacks %q:\n%s", want, out)
		}
	}
	if after := mustSh(t, "cat /etc/ufw/after.rules /etc/ufw/user.rules"); after != before {
		t.Error("import --dry-run changed UFW's files")
	}
	out = mustBin(t, "import", "--from", "ufw-docker")
	defer binExit("uninstall")
	if strings.Contains(out, "re-rendered") || !strings.Contains(out, "imported from ufw-docker") {
		t.Errorf("import: our block should never have left after.rules:\n%s", out)
	}
	matrix(t, "after import")
	after, _ := os.ReadFile("/etc/ufw/after.rules")
	rest, _, hasOurs := cutOurs(string(after))
	if !hasOurs || rest != string(original) {
		t.Errorf("after.rules, less our block, is not what it was before ufw-docker:\n%s", after)
	}
	user, _ := os.ReadFile("/etc/ufw/user.rules")
	if strings.Contains(string(user), "-d "+webIP+" ") || !strings.Contains(string(user), "-d 172.17.0.250 ") {
		t.Errorf("user.rules: ufw-docker's rule for web should be gone, the ghost's kept:\n%s", user)
	}
	live := mustSh(t, "iptables-save -t filter")
	if strings.Contains(live, "ufw-docker-logging-deny") || strings.Contains(live, "-A DOCKER-USER -s 10.0.0.0/8 -j RETURN") {
		t.Errorf("ufw-docker's live rules are still there:\n%s", live)
	}
	mustSh(t, "ufw reload")
	matrix(t, "after import and ufw reload")
}

// cutOurs returns text without our block, and whether it had one.
func cutOurs(text string) (string, string, bool) {
	begin := strings.Index(text, rules.MarkerBegin)
	end := strings.Index(text, rules.MarkerEnd)
	if begin < 0 || end < 0 {
		return text, "", false
	}
	end += len(rules.MarkerEnd) + 1
	return text[:begin] + text[end:], text[begin:end], true
}
