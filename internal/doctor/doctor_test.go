package doctor

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func load(t *testing.T, name string) *rules.Dump {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	d, err := rules.ParseSave(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func nftTables(t *testing.T, name string) []string {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		out = append(out, strings.TrimPrefix(l, "table "))
	}
	return out
}

// installed is the clean Docker 20.10 + UFW host after install and allow 9443.
func installed(t *testing.T) Host {
	rs, _ := rules.Parse([]string{"allow", "9443"})
	return Host{
		Saves:     map[rules.Family]*rules.Dump{rules.IPv4: load(t, "docker20-ufw-installed.iptables-save")},
		Variant:   "nf_tables",
		NFTTables: nftTables(t, "docker20-ufw-installed.nft-tables"),
		Sysctl:    map[string]string{"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "0"},
		UFW:       map[string]string{"ENABLED": "yes", "MANAGE_BUILTINS": "no"},
		Installed: map[rules.Family]bool{rules.IPv4: true},
		Rules:     rules.Ruleset{rs},
		Bridges:   []string{"docker0", "br-79061e23131e"},
	}
}

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	sort.Strings(out)
	return out
}

func only(t *testing.T, fs []Finding, want ...string) {
	t.Helper()
	got := ids(fs)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("findings %v, want %v", got, want)
		for _, f := range fs {
			t.Logf("%s: %s %v", f.ID, f.Summary, f.Evidence)
		}
	}
}

func TestCleanHostHasNoFindings(t *testing.T) {
	fs := Check(installed(t))
	only(t, fs)
	if Failing(fs) {
		t.Error("a clean host fails")
	}
}

func TestNotInstalledHostShowsExposedPorts(t *testing.T) {
	h := installed(t)
	h.Saves[rules.IPv4] = load(t, "docker20-ufw.iptables-save")
	h.Installed = map[rules.Family]bool{}
	h.NFTTables = nil
	fs := Check(h)
	only(t, fs, "not-installed", "exposed-port", "exposed-port", "exposed-port", "exposed-port", "exposed-port")
	var ports []string
	for _, f := range fs {
		if f.ID == "exposed-port" {
			ports = append(ports, strings.Fields(f.Summary)[2])
		}
	}
	sort.Strings(ports)
	if strings.Join(ports, " ") != "3306/tcp 5005/udp 8080/tcp 8088/tcp 9443/tcp" {
		t.Errorf("exposed ports %v", ports)
	}
}

func TestJumpMovedAndDrift(t *testing.T) {
	h := installed(t)
	fwd := h.Saves[rules.IPv4].Table("filter").Chain("FORWARD")
	fwd.Rules = append(fwd.Rules[1:], fwd.Rules[0]) // DOCKER-USER jump moved to the end
	h.Saves[rules.IPv4].Table("filter").Chain(rules.ChainDockerUser).Rules = []string{"-j RETURN"}
	fs := Check(h)
	only(t, fs, "docker-user-jump-not-first", "drift")
	for _, f := range fs {
		if f.ID == "docker-user-jump-not-first" && !strings.Contains(strings.Join(f.Evidence, "\n"), "(owner: docker)") {
			t.Errorf("evidence does not name the owners above the jump: %v", f.Evidence)
		}
	}
	// Without the guard, the broken policy exposes what no rule allows (not 9443).
	h.NFTTables = nil
	fs = Check(h)
	only(t, fs, "docker-user-jump-not-first", "drift", "guard-missing",
		"exposed-port", "exposed-port", "exposed-port", "exposed-port")
}

func TestDocker28Layout(t *testing.T) {
	h := installed(t)
	h.Saves[rules.IPv4] = load(t, "docker28-nouser-return.iptables-save")
	h.Installed = map[rules.Family]bool{}
	h.NFTTables = nil
	fs := Check(h)
	// No UFW chains in this fixture: not-installed does not apply; the port is exposed.
	only(t, fs, "exposed-port")
	h.Saves[rules.IPv4].Table("filter").Chain("FORWARD").Rules = []string{"-j DOCKER-FORWARD"}
	only(t, Check(h), "exposed-port", "docker-user-jump-missing")
}

func TestDocker29NFTablesBackend(t *testing.T) {
	h := installed(t)
	// Docker 20.10's iptables chains stay in this fixture: not-installed
	// fires for them.
	h.Installed = nil
	h.NFTTables = append(h.NFTTables, nftTables(t, "docker29-nftables.nft-tables")...)
	only(t, Check(h), "docker-nftables-backend", "not-installed")
	// The ruleset recorded from dockerd 29 in nftables mode: its own
	// masquerade counts as a NAT path (one), and nothing else fires.
	data, err := os.ReadFile(filepath.Join("testdata", "docker29-nftables.nft-ruleset"))
	if err != nil {
		t.Fatal(err)
	}
	h.NFT = string(data)
	// Docker in nftables mode masquerades in its own table, not in iptables.
	nat := h.Saves[rules.IPv4].Table("nat").Chain("POSTROUTING")
	var kept []string
	for _, r := range nat.Rules {
		if !strings.Contains(r, "172.17.0.0/16") {
			kept = append(kept, r)
		}
	}
	nat.Rules = kept
	only(t, Check(h), "docker-nftables-backend", "not-installed")
	nat.Rules = append(nat.Rules, "-s 172.17.0.0/16 -o eth0 -j MASQUERADE")
	only(t, Check(h), "docker-nftables-backend", "not-installed", "duplicate-masquerade")
}

func TestConfigFindings(t *testing.T) {
	h := installed(t)
	h.Docker = map[string]any{"iptables": false}
	h.UFW = map[string]string{"ENABLED": "no", "MANAGE_BUILTINS": "yes"}
	h.Sysctl = map[string]string{"net.ipv4.ip_forward": "0", "net.bridge.bridge-nf-call-iptables": "1"}
	h.Other = &rules.Dump{Tables: []*rules.Table{{Name: "filter", Chains: []*rules.Chain{{Name: "DOCKER-USER", Rules: []string{"-j RETURN"}}}}}}
	h.Saves[rules.IPv4].Table("filter").Chain("FORWARD").Policy = "ACCEPT"
	nat := h.Saves[rules.IPv4].Table("nat")
	nat.Chains = append(nat.Chains, &rules.Chain{Name: "LIBVIRT_PRT", Rules: []string{"-s 172.17.0.0/16 ! -d 172.17.0.0/16 -j MASQUERADE"}})
	fs := Check(h)
	only(t, fs, "docker-iptables-false", "ufw-inactive", "ufw-manage-builtins", "ip-forward-off",
		"bridge-nf-call-iptables", "mixed-iptables", "forward-policy-accept", "duplicate-masquerade")
	if fs[0].Severity != Error {
		t.Error("findings are not ordered most serious first")
	}
	h.UFW["ENABLED"] = "yes"
	h.NFTTables = append(h.NFTTables, "inet firewalld")
	if !strings.Contains(strings.Join(ids(Check(h)), ","), "firewalld-and-ufw") {
		t.Error("firewalld and ufw both active is not reported")
	}
}

func TestRejectAboveUFW(t *testing.T) {
	h := Host{Saves: map[rules.Family]*rules.Dump{rules.IPv4: load(t, "libvirt-reject.iptables-save")}, UFW: map[string]string{"ENABLED": "yes"}}
	fs := Check(h)
	only(t, fs, "reject-above-ufw", "duplicate-masquerade")
	for _, f := range fs {
		if f.ID == "reject-above-ufw" && len(f.Evidence) != 2 {
			t.Errorf("want LIBVIRT_FWI and LIBVIRT_FWO as evidence (not FWX): %v", f.Evidence)
		}
	}
}

func TestDockerOnTheOtherVariant(t *testing.T) {
	h := installed(t)
	h.Variant = "nf_tables"
	h.Other = load(t, "docker20-ufw.iptables-save")
	filter := h.Saves[rules.IPv4].Table("filter")
	var kept []*rules.Chain
	for _, c := range filter.Chains {
		if !strings.HasPrefix(c.Name, "DOCKER") {
			kept = append(kept, c)
		}
	}
	filter.Chains = kept
	got := strings.Join(ids(Check(h)), ",")
	if !strings.Contains(got, "docker-other-variant") || !strings.Contains(got, "mixed-iptables") {
		t.Errorf("Docker's chains only in the other variant: findings %s", got)
	}
	// Docker in both (a leftover in the other variant): mixed, but Docker
	// itself uses the system's variant.
	h = installed(t)
	h.Other = load(t, "docker20-ufw.iptables-save")
	if got := strings.Join(ids(Check(h)), ","); strings.Contains(got, "docker-other-variant") {
		t.Errorf("Docker's chains in the system's variant too: findings %s", got)
	}
}

// TestLXDTable: LXD 5.0's `table inet lxd` (recorded in the lab after `lxd
// init --auto`) next to Docker's FORWARD DROP.
func TestLXDTable(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "lxd5.nft-ruleset"))
	if err != nil {
		t.Fatal(err)
	}
	h := installed(t)
	h.NFT = string(data)
	h.NFTTables = append(h.NFTTables, "inet lxd")
	// Installed: lxdbr0 is a guest bridge of ours; LXD masquerades it alone.
	only(t, Check(h), nil...)
	// Not installed: LXD's nftables accepts do not override iptables' DROP.
	h.Installed = map[rules.Family]bool{}
	h.NFTTables = nil
	fs := Check(h)
	got := strings.Join(ids(fs), ",")
	if !strings.Contains(got, "guests-blocked") || strings.Contains(got, "duplicate-masquerade") {
		t.Errorf("LXD next to Docker, not installed: %s", got)
	}
	// Excluded by a bridge rule: blocked again, and said so.
	h = installed(t)
	h.NFT = string(data)
	ex, _ := rules.Parse([]string{"bridge", "lxdbr0", "exclude"})
	h.Rules = append(h.Rules, ex)
	if got := strings.Join(ids(Check(h)), ","); !strings.Contains(got, "guests-blocked") {
		t.Errorf("lxdbr0 excluded: %s", got)
	}
	// A user's before.rules masquerade for LXD's subnet: two NAT paths.
	h = installed(t)
	h.NFT = string(data)
	nat := h.Saves[rules.IPv4].Table("nat")
	post := nat.Chain("POSTROUTING")
	post.Rules = append(post.Rules, "-s 10.205.11.0/24 -o eth0 -j MASQUERADE")
	fs = Check(h)
	only(t, fs, "duplicate-masquerade")
	if ev := strings.Join(fs[0].Evidence, "\n"); !strings.Contains(ev, "nft inet lxd pstrt.lxdbr0") || !strings.Contains(ev, "iptables nat POSTROUTING") {
		t.Errorf("evidence does not name both paths: %s", ev)
	}
}

// TestLibvirtOneChainIsOnePath: libvirt's tcp, udp and catch-all
// MASQUERADE rules for its subnet are one NAT path, not three.
func TestLibvirtOneChainIsOnePath(t *testing.T) {
	h := installed(t)
	nat := h.Saves[rules.IPv4].Table("nat")
	nat.Chains = append(nat.Chains, &rules.Chain{Name: "LIBVIRT_PRT", Rules: []string{
		"-s 192.168.122.0/24 ! -d 192.168.122.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535",
		"-s 192.168.122.0/24 ! -d 192.168.122.0/24 -p udp -j MASQUERADE --to-ports 1024-65535",
		"-s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE"}})
	only(t, Check(h), nil...)
}

// TestDocker27IPv6: Docker 27 manages ip6tables by default; the checks of
// the IPv6 filter table apply to it.
func TestDocker27IPv6(t *testing.T) {
	h := installed(t)
	h.Saves[rules.IPv6] = load(t, "docker27-ipv6.ip6tables-save")
	only(t, Check(h), nil...)
	fwd := h.Saves[rules.IPv6].Table("filter").Chain("FORWARD")
	fwd.Rules = append(fwd.Rules[1:], fwd.Rules[0])
	fs := Check(h)
	only(t, fs, "docker-user-jump-not-first")
	if !strings.HasPrefix(fs[0].Summary, "ipv6:") {
		t.Errorf("finding is not about ipv6: %s", fs[0].Summary)
	}
	// Installed for IPv6 too: the plain DOCKER-USER of Docker 27 is drift.
	h.Installed[rules.IPv6] = true
	fwd.Rules = append([]string{fwd.Rules[len(fwd.Rules)-1]}, fwd.Rules[:len(fwd.Rules)-1]...)
	only(t, Check(h), "drift")
}

// TestDocker29IPTablesLayout: Docker 29 with its iptables backend (DOCKER-INTERNAL,
// no RETURN in DOCKER-USER) is Docker-managed; its published port is exposed
// until installed, and a FORWARD without the DOCKER-USER jump is named.
func TestDocker29IPTablesLayout(t *testing.T) {
	h := installed(t)
	h.Saves[rules.IPv4] = load(t, "docker29-iptables.iptables-save")
	h.Installed = map[rules.Family]bool{}
	h.NFTTables = nil
	fs := Check(h)
	only(t, fs, "exposed-port")
	if !strings.Contains(fs[0].Summary, "6379/tcp (to 172.17.0.3:6379)") {
		t.Errorf("exposed port: %s", fs[0].Summary)
	}
	h.Saves[rules.IPv4].Table("filter").Chain("FORWARD").Rules = []string{"-j DOCKER-FORWARD", "-j DOCKER-USER"}
	only(t, Check(h), "exposed-port", "docker-user-jump-not-first")
}

// Recorded from dockerd 29 on its nftables backend next to UFW, before and
// after install and allow 9443: before, doctor names the backend; after,
// nothing fires, and a moved jump to our DOCKER-USER is found as it is
// under Docker's iptables backend.
func TestDocker29NFTablesRecorded(t *testing.T) {
	h := installed(t)
	h.NFTTables = nftTables(t, "docker29-nftables-ufw-installed.nft-tables")
	h.Saves = map[rules.Family]*rules.Dump{rules.IPv4: load(t, "docker29-nftables-ufw-installed.iptables-save")}
	only(t, Check(h))
	fwd := h.Saves[rules.IPv4].Table("filter").Chain("FORWARD")
	fwd.Rules = append(fwd.Rules[1:], fwd.Rules[0])
	only(t, Check(h), "docker-user-jump-not-first")

	h.Installed = nil
	h.NFTTables = h.NFTTables[:len(h.NFTTables)-1] // no guard table
	h.Saves = map[rules.Family]*rules.Dump{rules.IPv4: load(t, "docker29-nftables-ufw.iptables-save")}
	only(t, Check(h), "docker-nftables-backend")
}

// bootHost is the clean installed host with the boot files of
// testdata/boot/NAME as its /etc.
func bootHost(t *testing.T, name string) Host {
	t.Helper()
	h := installed(t)
	var err error
	if h.Boot, err = (Collector{Etc: filepath.Join("testdata", "boot", name)}).boot(); err != nil {
		t.Fatal(err)
	}
	return h
}

// Hosts without UFW or firewalld: iptables-persistent, a hand-made unit and
// ferm, each as shipped or as an admin writes them, and as fixed.
func TestBootLoaders(t *testing.T) {
	// iptables-persistent: rules saved while Docker ran (Docker 29's
	// chains), restored without --noflush (Debian's default settings).
	h := bootHost(t, "persistent")
	only(t, Check(h), "saved-docker-chains", "restore-without-noflush")
	for _, f := range Check(h) {
		if f.ID == "saved-docker-chains" && !strings.Contains(f.Fix, "iptables-save | grep -v") {
			t.Errorf("fix: %s", f.Fix)
		}
		if f.ID == "restore-without-noflush" && f.Fix != "echo IPTABLES_RESTORE_NOFLUSH=yes >> /etc/default/netfilter-persistent" {
			t.Errorf("fix: %s", f.Fix)
		}
	}
	only(t, Check(bootHost(t, "persistent-fixed")))

	// A unit of the admin's: the IPv4 restore flushes, the IPv6 one does not.
	fs := Check(bootHost(t, "unit"))
	only(t, fs, "restore-without-noflush")
	if len(fs) == 1 && fs[0].Fix != "in /etc/systemd/system/firewall.service: ExecStart=/sbin/iptables-restore --noflush /etc/iptables.rules (and declare in the file only the chains it owns)" {
		t.Errorf("fix: %s", fs[0].Fix)
	}

	// Debian's ferm.conf defines FORWARD and preserves nothing; the test
	// lab's preserves every chain.
	fs = Check(bootHost(t, "ferm-debian"))
	only(t, fs, "ferm-no-preserve", "ferm-no-preserve", "ferm-no-preserve")
	var fixes []string
	for _, f := range fs {
		fixes = append(fixes, f.Fix)
	}
	want := "add to /etc/ferm/ferm.conf: domain (ip ip6) table filter chain (DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER " +
		"ufw-docker-bridge-forward ufw-docker-bridge-guests ufw-docker-bridge-input ufw-docker-bridge-user) @preserve;"
	if !strings.Contains(strings.Join(fixes, "\n"), want) || !strings.Contains(strings.Join(fixes, "\n"), "chain (FORWARD) @preserve;") {
		t.Errorf("fixes:\n%s\nwant among them:\n%s", strings.Join(fixes, "\n"), want)
	}
	only(t, Check(bootHost(t, "ferm-preserve")))
	h = bootHost(t, "ferm-debian")
	h.Boot["default/ferm"] = "ENABLED=\"no\"\n" // Debian's default: the shipped ferm.conf is not loaded
	only(t, Check(h))
	h = bootHost(t, "ferm-preserve")
	h.Other = &rules.Dump{}
	only(t, Check(h), "ferm-legacy")
}

// TestSwarmIngressExposed: before install, doctor names a port the routing
// mesh publishes (Swarm's DOCKER-INGRESS) as exposed, with its chain.
func TestSwarmIngressExposed(t *testing.T) {
	h := installed(t)
	h.Saves[rules.IPv4] = load(t, "docker28-swarm-ingress.iptables-save")
	h.Installed = map[rules.Family]bool{}
	h.NFTTables = nil
	var exposed []string
	for _, f := range Check(h) {
		if f.ID == "exposed-port" {
			exposed = append(exposed, f.Summary+" "+strings.Join(f.Evidence, " "))
		}
	}
	if len(exposed) != 1 || !strings.Contains(exposed[0], "8080/tcp") || !strings.Contains(exposed[0], "nat DOCKER-INGRESS") {
		t.Errorf("exposed: %v", exposed)
	}
}

// TestExposedIPv6: ports published on every address with no IPv6 DNAT are
// named for IPv6 clients (docker-proxy's path) on a host with IPv6 and no
// guard; a port that has an IPv6 DNAT is not; the guard closes the path.
func TestExposedIPv6(t *testing.T) {
	h := installed(t)
	h.Saves[rules.IPv4] = load(t, "docker20-ufw.iptables-save")
	h.Installed = map[rules.Family]bool{}
	h.NFTTables = nil
	d6, err := rules.ParseSave("*nat\n:DOCKER - [0:0]\n-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80\nCOMMIT\n")
	if err != nil {
		t.Fatal(err)
	}
	h.Saves[rules.IPv6] = d6
	var ports []string
	for _, f := range Check(h) {
		if f.ID == "exposed-port-ipv6" {
			ports = append(ports, strings.Fields(f.Summary)[2])
		}
	}
	sort.Strings(ports)
	if strings.Join(ports, " ") != "3306/tcp 5005/udp 8088/tcp 9443/tcp" {
		t.Errorf("IPv6 exposures %v", ports)
	}
	h.NFTTables = []string{"inet " + rules.GuardTable}
	for _, f := range Check(h) {
		if f.ID == "exposed-port-ipv6" {
			t.Errorf("with the guard: %s", f.Summary)
		}
	}
}

// TestContainerBridgeInZone: docker0 in firewalld's public zone is named;
// in Docker's own zone, or a guest bridge in any zone, is not.
func TestContainerBridgeInZone(t *testing.T) {
	h := installed(t)
	h.Zones = map[string]string{"docker0": "public", "br-79061e23131e": "docker", "virbr0": "libvirt"}
	h.Bridges = append(h.Bridges, "virbr0")
	var got []string
	for _, f := range Check(h) {
		if f.ID == "container-bridge-in-zone" {
			got = append(got, f.Summary)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "docker0") || !strings.Contains(got[0], "zone public") {
		t.Errorf("findings %v", got)
	}
}

// Other tools' rules above our jump: a fail2ban chain that rejects and
// returns is no bypass; CrowdSec's DROP neither; an ACCEPT, or a chain that
// accepts, is named with its owner.
func TestDockerUserBypass(t *testing.T) {
	h := installed(t)
	filter := h.Saves[rules.IPv4].Table("filter")
	user := filter.Chain(rules.ChainDockerUser)
	filter.Chains = append(filter.Chains,
		&rules.Chain{Name: "f2b-nginx", Policy: "-", Rules: []string{"-s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable", "-j RETURN"}},
		&rules.Chain{Name: "office", Policy: "-", Rules: []string{"-s 10.8.0.0/16 -j ACCEPT"}})
	user.Rules = append([]string{"-j f2b-nginx", "-m set --match-set crowdsec-blacklists-0 src -j DROP", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"}, user.Rules...)
	only(t, Check(h), nil...)
	user.Rules = append([]string{"-j office", "-s 192.0.2.0/24 -j RETURN"}, user.Rules...)
	fs := Check(h)
	only(t, fs, "docker-user-bypass")
	if len(fs) == 1 && (len(fs[0].Evidence) != 2 || !strings.Contains(fs[0].Evidence[0], "-j office")) {
		t.Errorf("evidence %v", fs[0].Evidence)
	}
}

// A ban tool on INPUT alone while containers publish ports is named; with a
// rule of it in DOCKER-USER, or a rule of ours naming a set, it is not.
// CrowdSec's nftables bouncer with an input hook alone is named too.
func TestBansInputOnly(t *testing.T) {
	h := installed(t)
	filter := h.Saves[rules.IPv4].Table("filter")
	input := filter.Chain("INPUT")
	input.Rules = append([]string{"-p tcp -m multiport --dports 22 -j f2b-sshd"}, input.Rules...)
	filter.Chains = append(filter.Chains, &rules.Chain{Name: "f2b-sshd", Policy: "-", Rules: []string{"-j RETURN"}})
	fs := Check(h)
	only(t, fs, "bans-input-only")
	user := filter.Chain(rules.ChainDockerUser)
	user.Rules = append([]string{"-j f2b-sshd"}, user.Rules...)
	only(t, Check(h), nil...)
	user.Rules = user.Rules[1:]
	r, _ := rules.Parse([]string{"deny", "from", "@f2b-web"})
	h.Rules = append(h.Rules, r)
	if fs := Check(h); slices.ContainsFunc(fs, func(f Finding) bool { return f.ID == "bans-input-only" }) {
		t.Error("a rule naming a set is a ban that reaches containers")
	}
	h = installed(t)
	h.NFTTables = append(h.NFTTables, "ip crowdsec")
	h.NFT += "\ntable ip crowdsec {\n\tset crowdsec-blacklists {\n\t\ttype ipv4_addr\n\t}\n\tchain crowdsec-chain-input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip saddr @crowdsec-blacklists drop\n\t}\n}\n"
	only(t, Check(h), "bans-input-only")
}

func TestUFWDockerSetup(t *testing.T) {
	h := installed(t)
	only(t, Check(h), nil...)
	h.UFWDocker = []string{"/etc/ufw/after.rules: 24 lines between \"# BEGIN UFW AND DOCKER\" and \"# END UFW AND DOCKER\""}
	only(t, Check(h), "ufw-docker-setup")
}
