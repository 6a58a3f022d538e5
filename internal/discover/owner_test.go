package discover

import "testing"

func TestOwners(t *testing.T) {
	for rule, want := range map[string]string{
		"-j DOCKER-USER": "docker (DOCKER-USER)", "-j LIBVIRT_FWX": "libvirt", "-j NETAVARK_FORWARD": "podman",
		"-j f2b-nginx-http-auth": "fail2ban", "-m set --match-set crowdsec-blacklists-0 src -j DROP": "crowdsec",
		"-j CROWDSEC_CHAIN": "crowdsec", "-j ufw-docker-bridge-user": "ufw-docker-bridge",
		"-o docker0 -j DOCKER": "docker", "-i br-+ -j RETURN": "docker", "-i virbr0 -o virbr0 -j ACCEPT": "libvirt",
		"-o lxdbr+ -j ACCEPT": "lxd", "-i cni-podman0 -j ACCEPT": "podman", "-i eth0 -j ACCEPT": "unknown",
	} {
		if got := OwnerOfRule(rule); got != want {
			t.Errorf("%q: owner %q, want %q", rule, got, want)
		}
	}
	for table, want := range map[string]string{
		"inet ufw-docker-bridge": "ufw-docker-bridge", "inet ufw-docker-bridge-nat": "ufw-docker-bridge",
		"inet ufw-docker-bridge-sets": "ufw-docker-bridge", "ip crowdsec": "crowdsec", "inet f2b-table": "fail2ban",
		"ip docker-bridges": "docker", "inet lxd": "lxd", "ip filter": "iptables-nft",
	} {
		if got := OwnerOfTable(table); got != want {
			t.Errorf("%q: owner %q, want %q", table, got, want)
		}
	}
}
