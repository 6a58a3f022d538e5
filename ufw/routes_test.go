package ufw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The tuple lines `ufw route allow proto tcp from any to 172.17.0.2 port 80
// comment "allow httpd 80/tcp"` writes (UFW 0.36 on Debian 12).
func TestRouteRules(t *testing.T) {
	dir := t.TempDir()
	user := "### tuple ### route:allow tcp 80 172.17.0.2 any 0.0.0.0/0 in comment=616c6c6f772068747470642038302f746370\n" +
		"-A ufw-user-forward -p tcp -d 172.17.0.2 --dport 80 -j ACCEPT\n\n" +
		"### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n" +
		"### tuple ### route:allow any any 10.1.0.0/16 any 0.0.0.0/0 in\n"
	if err := os.WriteFile(filepath.Join(dir, "user.rules"), []byte(user), 0o640); err != nil {
		t.Fatal(err)
	}
	rs, err := RouteRules(dir)
	if err != nil || len(rs) != 2 {
		t.Fatalf("%+v %v", rs, err)
	}
	if rs[0].Comment != "allow httpd 80/tcp" || strings.Join(rs[0].Spec(), " ") != "proto tcp from 0.0.0.0/0 to 172.17.0.2 port 80" {
		t.Errorf("%+v %q", rs[0], rs[0].Spec())
	}
	if strings.Join(rs[1].Spec(), " ") != "from 0.0.0.0/0 to 10.1.0.0/16" || rs[1].Comment != "" {
		t.Errorf("%+v", rs[1])
	}
}
