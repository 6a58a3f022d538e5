package plan

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

// ufwDockerBlock reads a block of the shape chaifeng/ufw-docker documents
// for after.rules (testdata/ufw-docker-block.rules, authored from its
// documented layout): private sources trusted, UFW's route chain consulted,
// NEW connections to private addresses dropped through a logging chain of
// its own. The neighbours lab loads the same file into UFW.
func ufwDockerBlock(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/ufw-docker-block.rules")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCutUFWDockerBlock(t *testing.T) {
	text := "# the user's after.rules\n*filter\nCOMMIT\n" + ufwDockerBlock(t) + "# after it\n"
	rest, block, ok := CutUFWDockerBlock(text)
	if !ok || block != ufwDockerBlock(t) || rest != "# the user's after.rules\n*filter\nCOMMIT\n# after it\n" {
		t.Errorf("rest %q block %q", rest, block)
	}
	if _, _, ok := CutUFWDockerBlock("# x " + "# BEGIN UFW AND DOCKER\n"); ok {
		t.Error("a marker inside a line was taken for the block")
	}
}

func TestImportUFWDocker(t *testing.T) {
	routes := []RouteTuple{
		{Proto: "tcp", DPort: "80", Dst: "172.17.0.2", Src: "0.0.0.0/0", Comment: "allow httpd 80/tcp"},
		{Proto: "tcp", DPort: "5432", Dst: "172.17.0.9", Src: "10.1.0.0/16", Comment: "allow old-db 5432/tcp"},
		{Proto: "udp", DPort: "53", Dst: "172.17.0.7", Src: "0.0.0.0/0", Comment: "allow gone 53/udp"},
		{Proto: "tcp", DPort: "22", Dst: "10.0.3.5", Src: "0.0.0.0/0", Comment: "my own route rule"},
	}
	resolve := func(name string, ip netip.Addr, port uint16, proto string) (bool, uint16, bool) {
		switch {
		case name == "httpd":
			return true, 0, true
		case ip.String() == "172.17.0.9" && port == 5432:
			return false, 15432, true // renamed since: its address still publishes 15432
		}
		return false, 0, false
	}
	im := ImportUFWDocker([]string{ufwDockerBlock(t)}, routes, resolve)
	var got []string
	for _, r := range im.Rules {
		got = append(got, r.String())
	}
	want := "allow from 10.0.0.0/8|allow from 172.16.0.0/12|allow from 192.168.0.0/16|allow 80/tcp to httpd|allow 15432/tcp from 10.1.0.0/16"
	if strings.Join(got, "|") != want {
		t.Errorf("rules:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if len(im.Routes) != 2 || im.Routes[0].Comment != "allow httpd 80/tcp" || im.Routes[1].Comment != "allow old-db 5432/tcp" {
		t.Errorf("routes to delete: %+v", im.Routes)
	}
	if len(im.Notes) != 1 || !strings.Contains(im.Notes[0], "gone") {
		t.Errorf("notes %v", im.Notes)
	}
	if strings.Join(im.Chains, ",") != "ufw-docker-logging-deny" || len(im.DockerUser) != 8 || im.DockerUser[0] != "-j ufw-user-forward" {
		t.Errorf("chains %v, DOCKER-USER %q", im.Chains, im.DockerUser)
	}
}
