package dockernft

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// state of the lab as the matrix sees it.
type reach struct {
	web, api, apiDenied, ssh, egress bool
}

func measure() reach {
	return reach{
		web:       open(clientAddr, 8080, "web"),
		api:       open(clientAddr, 9443, "api"),
		apiDenied: open(deniedAddr, 9443, "api"),
		ssh:       open(clientAddr, 22, "ssh"),
		egress:    egress("web"),
	}
}

// expect measures the matrix, logs it and fails on every cell that is not
// want.
func expect(t testing.TB, title string, want reach) {
	t.Helper()
	got := measure()
	lab.Matrix(t, title, []lab.Cell{
		{Name: "web 8080 from client", Got: got.web, Want: want.web},
		{Name: "api 9443 from client", Got: got.api, Want: want.api},
		{Name: "api 9443 from denied client", Got: got.apiDenied, Want: want.apiDenied},
		{Name: "host ssh 22 from client", Got: got.ssh, Want: want.ssh},
		{Name: "container egress", Got: got.egress, Want: want.egress},
	})
}

// nftIn is the plan the live state must match next to Docker's nftables
// backend: DOCKER-USER hooked in first by us.
var nftIn = plan.Input{DockerNFT: true}

func waitRepaired(t testing.TB, start time.Time) time.Duration {
	t.Helper()
	return lab.WaitInSync(t, filepath.Join(dir, "state"), nftIn, start)
}

// TestDockerNFTables is the story next to Docker 29's nftables backend:
// before install UFW's FORWARD DROP kills every container's egress and
// published port (Docker accepts them only in its own nftables table); after
// install egress works, published ports are closed until allowed, allow and
// deny decide, the watcher repairs every clobber while a probe loop finds the
// denied port closed throughout, and uninstall leaves what it found.
func TestDockerNFTables(t *testing.T) {
	before := mustSh(t, "iptables-save -t filter | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'")
	if !strings.Contains(mustSh(t, "nft list tables"), "table ip "+rules.DockerNFTTable) {
		t.Fatal("dockerd 29 made no nftables table: not its nftables backend")
	}
	expect(t, "before install (UFW enabled)", reach{ssh: true})
	if out, _ := exec.Command(bin, "doctor").CombinedOutput(); !strings.Contains(string(out), "docker-nftables-backend") {
		t.Errorf("doctor before install does not name Docker's nftables backend:\n%s", out)
	}

	mustBin(t, "install")
	expect(t, "after install", reach{ssh: true, egress: true})
	if out, err := exec.Command(bin, "doctor").CombinedOutput(); err != nil || strings.Contains(string(out), "error") {
		t.Errorf("doctor after install: %v\n%s", err, out)
	}
	mustBin(t, "allow", "9443")
	mustBin(t, "deny", "from", deniedAddr)
	expect(t, "allow 9443, deny from "+deniedAddr, reach{api: true, ssh: true, egress: true})
	if out := mustBin(t, "sync"); !strings.Contains(out, "in sync") {
		t.Errorf("sync after install: %s", out)
	}

	// The watcher, and a probe loop on the denied published port 8080.
	w := lab.StartWatcher(t, bin, dir, []string{"--safety-interval", "5s"})
	defer w.Kill(t)
	prober, err := lab.StartProber("/run/netns/"+extNS, clientAddr, hostAddr+":8080", 50, 250*time.Millisecond, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	old, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old.save"), []byte(before4(string(old))), 0o600); err != nil {
		t.Fatal(err)
	}
	clobbers := []lab.Clobber{
		{Name: "iptables -F DOCKER-USER", Script: "iptables -F DOCKER-USER"},
		{Name: "DOCKER-USER jump moved to the end of FORWARD", Script: "iptables -D FORWARD -j DOCKER-USER && iptables -A FORWARD -j DOCKER-USER"},
		{Name: "iptables -F FORWARD", Script: "iptables -F FORWARD"},
		{Name: "iptables-restore (no -n) of a save without our rules", Script: "iptables-restore < " + filepath.Join(dir, "old.save")},
		{Name: "ufw reload", Script: "ufw reload"},
		{Name: "ufw disable, ufw enable", Script: "ufw disable && ufw --force enable"},
	}
	lat := lab.ClobberRounds(t, 3, clobbers, func(start time.Time) time.Duration { return waitRepaired(t, start) })
	// dockerd restart: Docker 29 rebuilds its nftables table, not ours.
	dockerd.Restart(t)
	t.Logf("%-55s in sync %v after its containers run again", "dockerd restart", waitRepaired(t, time.Now()))
	// A network created while the watcher runs, its port published.
	mustSh(t, docker+" network create nftnet && "+run("netweb", "--network nftnet -p 8282:80", "netweb 80"))
	defer lab.Sh(docker + " rm -f netweb; " + docker + " network rm nftnet")
	if err := lab.WaitFor(10*time.Second, func() error {
		if !open(clientAddr, 8282, "netweb") {
			return nil
		}
		return fmt.Errorf("8282 answers")
	}); err != nil {
		t.Error(err)
	}
	if open(clientAddr, 8282, "netweb") {
		t.Error("a new network's published port is open before any allow")
	}
	mustBin(t, "allow", "8282")
	if !open(clientAddr, 8282, "netweb") || !egress("netweb") {
		t.Error("allow 8282: the new network's port or its egress does not work")
	}
	mustBin(t, "delete", "allow", "8282")
	// A network with a bridge name of its own: known from the chains of
	// Docker's nftables table, not from its name; closed until allowed,
	// then its port and its egress work.
	mustSh(t, docker+" network create -o com.docker.network.bridge.name=nftmail nftmail && "+run("netmail", "--network nftmail -p 8383:80", "netmail 80"))
	defer lab.Sh(docker + " rm -f netmail; " + docker + " network rm nftmail")
	time.Sleep(time.Second) // the watcher's pass for the new bridge
	if open(clientAddr, 8383, "netmail") {
		t.Error("a renamed network's published port is open before any allow")
	}
	mustBin(t, "allow", "8383")
	if !open(clientAddr, 8383, "netmail") || !egress("netmail") {
		t.Errorf("allow 8383: the renamed network's port or its egress does not work:\n%s", mustSh(t, "iptables -S DOCKER-USER"))
	}
	mustBin(t, "delete", "allow", "8383")

	attempts, leaks := prober.Stop()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("%d clobbers: repair latency median %v, worst %v; %d probes of the denied port 8080, %d got through",
		len(lat), lat[len(lat)/2], lat[len(lat)-1], attempts, leaks)
	if leaks != 0 {
		t.Errorf("%d connections to a denied published port got through during the clobbers", leaks)
	}
	if attempts < 1000 {
		t.Errorf("only %d probes: the probe loop did not run", attempts)
	}
	expect(t, "after the clobbers", reach{api: true, ssh: true, egress: true})
	w.Stop(t)

	// Without UFW, FORWARD accepts, and Docker's own table accepts its
	// published ports: a clobbered DOCKER-USER opens 8080 unless the guard
	// holds it closed.
	mustSh(t, "ufw disable && iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
	if open(clientAddr, 8080, "web") {
		t.Error("UFW disabled, DOCKER-USER clobbered, no repair: the guard let 8080 through")
	}
	mustSh(t, "nft delete table inet "+rules.GuardTable)
	if !open(clientAddr, 8080, "web") {
		t.Error("UFW disabled, DOCKER-USER clobbered, no guard: 8080 stays closed, so this check proves nothing")
	}
	mustBin(t, "sync")
	if open(clientAddr, 8080, "web") {
		t.Error("UFW disabled, after sync: 8080 is open")
	}
	mustSh(t, "ufw --force enable")
	mustBin(t, "sync")

	mustBin(t, "uninstall")
	expect(t, "after uninstall", reach{ssh: true})
	after := mustSh(t, "iptables-save -t filter | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'")
	if after != before {
		t.Errorf("uninstall did not give back the filter table it found:\n--- before\n%s--- after\n%s", before, after)
	}
}

// before4 keeps the filter table of an iptables-save and drops our rules
// from it: a save taken before install.
func before4(save string) string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if strings.Contains(l, rules.ChainDockerUser) || strings.Contains(l, "ufw-docker-bridge") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
