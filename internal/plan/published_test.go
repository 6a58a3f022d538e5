package plan

import (
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func TestPublishedPortsAndGuardElements(t *testing.T) {
	d, err := rules.ParseSave(`*nat
:DOCKER - [0:0]
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER ! -i docker0 -p udp -m udp --dport 5000:5010 -j DNAT --to-destination 172.17.0.3:5000-5010
-A DOCKER -d 10.0.0.5/32 ! -i docker0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.17.0.4:80
-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 8082 -j DNAT --to-destination 172.17.0.5:80
-A DOCKER ! -i docker0 -p sctp -m sctp --dport 9000 -j DNAT --to-destination 172.17.0.6:9000
COMMIT
`)
	if err != nil {
		t.Fatal(err)
	}
	ports, ok := PublishedPorts(d.Table("nat"))
	if !ok || len(ports) != 5 || ports[0].To != "172.17.0.2:80" || ports[2].Addr.String() != "10.0.0.5" {
		t.Fatalf("published: %v %+v", ok, ports)
	}
	want := "flush set inet ufw-docker-bridge published\n" +
		"add element inet ufw-docker-bridge published { tcp . 8080, udp . 5000-5010 }\n" +
		"flush set inet ufw-docker-bridge published-addr\n" +
		"add element inet ufw-docker-bridge published-addr { 10.0.0.5 . tcp . 8081 }\n"
	if got := GuardElements(GuardKeys(ports)); got != want {
		t.Errorf("elements:\n%s\nwant:\n%s", got, want)
	}
	if _, ok := PublishedPorts(&rules.Table{Name: "nat"}); ok {
		t.Error("no DOCKER chain, yet ports were reported known")
	}
	if got := GuardElements(nil); got != "flush set inet ufw-docker-bridge published\nflush set inet ufw-docker-bridge published-addr\n" {
		t.Errorf("no ports: %q", got)
	}
}
