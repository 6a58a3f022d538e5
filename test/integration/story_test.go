package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

var (
	web      = probe{name: "web", from: clientAddr, port: 8080, want: "web"}
	webLAN   = probe{name: "web", from: lanAddr, port: 8080, want: "web"}
	webDeny  = probe{name: "web", from: deniedAddr, port: 8080, want: "web"}
	db       = probe{name: "db", from: clientAddr, port: 3306, want: "db"}
	dbLAN    = probe{name: "db", from: lanAddr, port: 3306, want: "db"}
	api      = probe{name: "api", from: clientAddr, port: 9443, want: "api"}
	apiLAN   = probe{name: "api", from: lanAddr, port: 9443, want: "api"}
	echoUDP  = probe{name: "echo", from: clientAddr, port: 5005, udp: true, want: "token42"}
	appnet   = probe{name: "a(appnet)", from: clientAddr, port: 8088, want: "a"}
	late     = probe{name: "late(net after install)", from: clientAddr, port: 8181, want: "late"}
	sshHost  = probe{name: "host ssh", from: clientAddr, port: 22, want: "ssh"}
	sshLAN   = probe{name: "host ssh", from: lanAddr, port: 22, want: "ssh"}
	hostDeny = probe{name: "host 2222", from: clientAddr, port: 2222, want: "other"}
)

// liveSave is the filter table of both families, for "nothing changed"
// checks: without the policies' counters, which any packet moves.
func liveSave(t testing.TB) string {
	t.Helper()
	return mustSh(t, "{ iptables-save -t filter; ip6tables-save -t filter; } 2>/dev/null | grep -v '^#' | sed 's/ \\[[0-9]*:[0-9]*\\]$//'")
}

func readUFW(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range ufwFiles {
		data, err := os.ReadFile(filepath.Join("/etc/ufw", f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(data)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "state", "rules")); err == nil {
		out["state"] = string(data)
	}
	return out
}

func containerEgress(t testing.TB) {
	t.Helper()
	out := mustSh(t, docker+" exec web timeout 3 wget -q -O - http://"+deniedAddr+"/")
	if strings.TrimSpace(out) != "ext" {
		t.Errorf("container egress: got %q, want ext", out)
	}
	aIP := strings.TrimSpace(mustSh(t, docker+" inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' appa"))
	out = mustSh(t, docker+" exec appb timeout 3 wget -q -O - http://"+aIP+"/")
	if strings.TrimSpace(out) != "a" {
		t.Errorf("same-network traffic b -> a: got %q, want a", out)
	}
}

func statusJSON(t testing.TB) map[string]any {
	t.Helper()
	var st map[string]any
	if err := json.Unmarshal([]byte(mustBin(t, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func assertInSync(t testing.TB) {
	t.Helper()
	st := statusJSON(t)
	if st["guard"] != "in place" {
		t.Errorf("guard: %v", st["guard"])
	}
	for _, h := range st["delegation"].([]any) {
		m := h.(map[string]any)
		if m["in_sync"] != true {
			t.Errorf("live %v not in sync with the files: %v", m["family"], m["drift"])
		}
	}
}

// TestUFWStory walks the user's story of the UFW core issue in order.
func TestUFWStory(t *testing.T) {
	fresh(t)
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	step("before install published ports ignore ufw", func(t *testing.T) {
		expect(t, "before install", map[probe]bool{
			web: true, db: true, api: true, echoUDP: true, appnet: true, sshHost: true, hostDeny: false,
		})
	})
	step("install closes every published port", func(t *testing.T) {
		mustBin(t, "install")
		expect(t, "after install", map[probe]bool{
			web: false, webLAN: false, db: false, dbLAN: false, api: false, echoUDP: false, appnet: false,
			sshHost: true, sshLAN: true, hostDeny: false,
		})
		containerEgress(t)
		assertInSync(t)
		t.Log(mustBin(t, "status"))
	})
	step("a network created after install is closed too", func(t *testing.T) {
		mustSh(t, docker+" network create late && "+docker+" run -d --restart always --name late --network late -p 8181:80 bb:1 "+
			"sh -c 'mkdir -p /www && echo late > /www/index.html && exec httpd -f -p 80 -h /www'")
		expect(t, "new network", map[probe]bool{late: false})
	})
	step("allow opens host ports", func(t *testing.T) {
		mustBin(t, "allow", "8080")
		mustBin(t, "allow", "9443")
		mustBin(t, "allow", "3306/tcp", "from", lanNet)
		mustBin(t, "allow", "5000:5010/udp")
		mustBin(t, "allow", "8181")
		expect(t, "after allow", map[probe]bool{
			web: true, webLAN: true, api: true, apiLAN: true, db: false, dbLAN: true, echoUDP: true,
			appnet: false, late: true, sshHost: true, hostDeny: false,
		})
		containerEgress(t)
		assertInSync(t)
	})
	step("deny keeps a source away before any allow", func(t *testing.T) {
		mustBin(t, "deny", "from", deniedAddr)
		expect(t, "after deny", map[probe]bool{webDeny: false, web: true})
	})
	step("list, delete and delete N", func(t *testing.T) {
		out := mustBin(t, "list")
		for _, want := range []string{"[ 1] allow 8080", "[ 3] allow 3306/tcp from 192.168.77.0/24", "[ 6] deny from 203.0.113.7"} {
			if !strings.Contains(out, want) {
				t.Errorf("list lacks %q:\n%s", want, out)
			}
		}
		mustBin(t, "delete", "allow", "8080")
		expect(t, "after delete allow 8080", map[probe]bool{web: false, api: true})
		out = mustBin(t, "list")
		if !strings.Contains(out, "[ 4] allow 8181") {
			t.Fatalf("list after delete:\n%s", out)
		}
		mustBin(t, "delete", "4")
		expect(t, "after delete 4", map[probe]bool{late: false, api: true})
		before := readUFW(t)
		if _, errs, code := runBin("delete", "allow", "8080"); code != 1 || !strings.Contains(errs, "no such rule") {
			t.Errorf("deleting a missing rule: exit %d, %q; want exit 1 and 'no such rule'", code, errs)
		}
		if _, _, code := runBin("delete", "99"); code != 1 {
			t.Errorf("delete 99: exit %d, want 1", code)
		}
		if after := readUFW(t); !equalMaps(before, after) {
			t.Error("a failed delete changed files")
		}
	})
	step("ufw route rules keep working for containers", func(t *testing.T) {
		aIP := strings.TrimSpace(mustSh(t, docker+" inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' appa"))
		rule := "proto tcp from any to " + aIP + " port 80"
		mustSh(t, "ufw route allow "+rule)
		expect(t, "ufw route allow to a", map[probe]bool{appnet: true, web: false})
		mustSh(t, "ufw route delete allow "+rule)
		expect(t, "ufw route deleted", map[probe]bool{appnet: false})
	})
	step("ufw reload three times duplicates nothing", func(t *testing.T) {
		first := liveSave(t)
		for i := 0; i < 3; i++ {
			mustSh(t, "ufw reload")
		}
		if again := liveSave(t); stripCounters(again) != stripCounters(first) {
			t.Errorf("ruleset changed across ufw reload:\nbefore:\n%s\nafter:\n%s", first, again)
		}
		assertInSync(t)
		expect(t, "after 3 ufw reloads", map[probe]bool{web: false, api: true, db: false, dbLAN: true, sshHost: true})
	})
	step("dockerd restarts keep the policy", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			ips := containerIPs(t)
			restartDockerd(t)
			t.Logf("container addresses before restart %s, after %s", ips, containerIPs(t))
			expect(t, "after dockerd restart", map[probe]bool{
				web: false, api: true, apiLAN: true, db: false, dbLAN: true, echoUDP: true, appnet: false, sshHost: true,
			})
		}
		containerEgress(t)
		assertInSync(t)
	})
	step("ipv6 gets the same rules", func(t *testing.T) {
		v6 := mustSh(t, "ip6tables-save -t filter")
		for _, want := range []string{
			"-A DOCKER-USER -j ufw-docker-bridge-user",
			"-A ufw-docker-bridge-user -o br-+ -j ufw-docker-bridge-forward",
			"-A ufw-docker-bridge-forward -p tcp -m conntrack --ctstate DNAT ! --ctorigdst ::1 --ctorigdstport 9443 -j RETURN",
			"-A ufw-docker-bridge-forward -j ufw6-user-forward",
		} {
			if !strings.Contains(v6, want) {
				t.Errorf("ip6tables lacks %q", want)
			}
		}
		if strings.Contains(v6, "192.168.77.0") || strings.Contains(v6, deniedAddr) {
			t.Errorf("an IPv4 source landed in ip6tables:\n%s", v6)
		}
		if !strings.Contains(readUFW(t)["after6.rules"], "--ctorigdstport 9443") {
			t.Error("after6.rules lacks the allow rule")
		}
	})
	step("dry-run changes nothing", func(t *testing.T) {
		files, live := readUFW(t), liveSave(t)
		for _, args := range [][]string{
			{"allow", "7000", "--dry-run"}, {"deny", "--dry-run", "from", "198.51.100.0/24"},
			{"delete", "allow", "9443", "--dry-run"}, {"install", "--dry-run"}, {"uninstall", "--dry-run"},
		} {
			out := mustBin(t, args...)
			if !strings.Contains(out, "dry run") {
				t.Errorf("%v: no dry-run report:\n%s", args, out)
			}
		}
		out := mustBin(t, "allow", "7000", "--dry-run")
		if !strings.Contains(out, "+-A ufw-docker-bridge-forward -p tcp -m conntrack --ctstate DNAT ! --ctorigdst 127.0.0.0/8 --ctorigdstport 7000 -j RETURN") {
			t.Errorf("dry-run diff lacks the new rule:\n%s", out)
		}
		if !equalMaps(files, readUFW(t)) || liveSave(t) != live {
			t.Error("a dry run changed files or live rules")
		}
	})
	step("bad input is refused and changes nothing", func(t *testing.T) {
		files, live := readUFW(t), liveSave(t)
		for _, args := range [][]string{
			{"allow", "0"}, {"allow", "65536"}, {"allow", "443/xyz"}, {"allow", "1000:999"}, {"allow", "abc"},
			{"allow", "80", "from", "10.0.0.0/33"}, {"allow", "80", "from", "300.1.1.1"}, {"allow"}, {"deny"},
			{"deny", "80"}, {"allow", "80", "from"}, {"frobnicate"}, {"allow", "80\n-A FORWARD -j ACCEPT"},
			{"allow", "80", "from", "1.2.3.4 -j ACCEPT"}, {"allow", "8\u0668"}, {"delete"}, {"delete", "x"},
			{"allow", "80", "to"}, {"deny", "to", "web"}, {"install", "--backend", "nope"}, {"list", "extra"},
			{"allow", "*filter"}, {"allow", "COMMIT"}, {"deny", "from", "COMMIT"}, {"allow", "80", "from", "1.2.3.4#x"},
			{"allow", "80\""}, {"allow", strings.Repeat("9", 4096)}, {"allow", "٨٠"},
		} {
			_, errs, code := runBin(args...)
			if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
				t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line", args, code, errs)
			}
		}
		if !equalMaps(files, readUFW(t)) || liveSave(t) != live {
			t.Error("bad input changed files or live rules")
		}
	})
	step("allow is faster than ufw route allow", func(t *testing.T) {
		ours := timeMedian(5, func(i int) { mustBin(t, "allow", fmt.Sprint(7100+i)) })
		theirs := timeMedian(5, func(i int) { mustSh(t, fmt.Sprintf("ufw route allow proto tcp to any port %d", 7200+i)) })
		t.Logf("allow: median %v; ufw route allow: median %v; ratio %.1fx", ours, theirs, float64(theirs)/float64(ours))
		for i := 0; i < 5; i++ {
			mustBin(t, "delete", "allow", fmt.Sprint(7100+i))
			mustSh(t, fmt.Sprintf("ufw route delete allow proto tcp to any port %d", 7200+i))
		}
	})
	step("a failing iptables-restore opens nothing and changes nothing", func(t *testing.T) {
		files, live := readUFW(t), liveSave(t)
		_, errs, code := runBinEnv([]string{brokenRestore(t)}, "allow", "8080")
		if code != 1 || !strings.Contains(errs, "simulated failure") {
			t.Errorf("allow with a failing iptables-restore: exit %d, %q; want exit 1 naming the failure", code, errs)
		}
		if !equalMaps(files, readUFW(t)) || liveSave(t) != live {
			t.Error("a failed allow changed files or live rules")
		}
		expect(t, "after a failed allow 8080", map[probe]bool{web: false, api: true})
	})
	step("uninstall gives the files back byte for byte", func(t *testing.T) {
		mustBin(t, "uninstall")
		checkPristine(t)
		expect(t, "after uninstall (as before install)", map[probe]bool{web: true, db: true, sshHost: true, hostDeny: false})
		mustBin(t, "install")
		expect(t, "reinstall keeps the rules", map[probe]bool{web: false, api: true, dbLAN: true, db: false})
		mustBin(t, "install")
		mustBin(t, "uninstall")
		checkPristine(t)
	})
}

func checkPristine(t testing.TB) {
	t.Helper()
	files := readUFW(t)
	for _, f := range ufwFiles {
		if files[f] != string(pristine[f]) {
			t.Errorf("%s differs from before install:\n%s", f, files[f])
		}
	}
	if tables := mustSh(t, "nft list tables"); strings.Contains(tables, "ufw-docker-bridge") {
		t.Errorf("the guard table is still there:\n%s", tables)
	}
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		live := mustSh(t, save+" -t filter")
		if strings.Contains(live, "ufw-docker-bridge") {
			t.Errorf("%s still holds our chain:\n%s", save, live)
		}
		if strings.Contains(live, "-A DOCKER-USER") && !strings.Contains(live, "-A DOCKER-USER -j RETURN") {
			t.Errorf("%s: DOCKER-USER is not back to Docker's -j RETURN", save)
		}
	}
}

// timeMedian is the median of lab.Timings(n, f).
func timeMedian(n int, f func(i int)) time.Duration { return lab.Timings(n, f)[n/2] }

func containerIPs(t testing.TB) string {
	return strings.Join(strings.Fields(mustSh(t, docker+" ps -q | xargs "+docker+
		" inspect -f '{{.Name}}={{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'")), " ")
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// stripCounters drops the [packets:bytes] of chain declarations.
func stripCounters(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, " ["); strings.HasPrefix(l, ":") && i > 0 {
			l = l[:i]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
