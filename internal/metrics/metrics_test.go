package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestText(t *testing.T) {
	var r Recorder
	at := time.Unix(1700000000, 500_000_000)
	r.SetLive(Live{Rules: map[string]int{"allow": 2, "deny": 1}, Sets: map[string]int{"drop": 100000}})
	r.Observe(at, 25*time.Millisecond, nil, nil)
	r.Observe(at, time.Millisecond, []string{"ipv4: DOCKER-USER does not jump", "ipv4: rule 3 differs", "nat: forwarding 2222/tcp", "a sentence without a kind"}, errors.New("x"))
	r.SetLive(Live{Counters: []RuleCounter{
		{Family: "ipv4", Chain: "ufw-docker-bridge-forward", Rule: `-s 10.0.0.0/8 -m comment --comment "office \"VPN\"" -j RETURN`, Comment: `office "VPN"`, Packets: 7},
		{Family: "ipv4", Chain: "ufw-docker-bridge-forward", Rule: "-j DROP", Packets: 3},
		{Family: "ipv6", Chain: "ufw-docker-bridge-guests", Rule: "-j DROP", Packets: 1},
	}})
	text := r.Text()
	for _, want := range []string{
		"ufw_docker_bridge_passes_total 2\n",
		"ufw_docker_bridge_pass_errors_total 1\n",
		"ufw_docker_bridge_drift_detected_total 1\n",
		`ufw_docker_bridge_repairs_total{cause="ipv4"} 2` + "\n",
		`ufw_docker_bridge_repairs_total{cause="nat"} 1` + "\n",
		`ufw_docker_bridge_repairs_total{cause="other"} 1` + "\n",
		"ufw_docker_bridge_last_pass_timestamp_seconds 1700000000.500\n",
		`ufw_docker_bridge_rule_packets_total{chain="ufw-docker-bridge-forward",comment="office \"VPN\"",family="ipv4",rule="-s 10.0.0.0/8 -m comment --comment \"office \\\"VPN\\\"\" -j RETURN"} 7`,
		`ufw_docker_bridge_blocked_packets_total{chain="ufw-docker-bridge-forward",family="ipv4"} 3`,
		`ufw_docker_bridge_blocked_packets_total{chain="ufw-docker-bridge-guests",family="ipv6"} 1`,
		"# TYPE ufw_docker_bridge_rule_packets_total counter\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	// A reading replaces the one before whole.
	if strings.Contains(text, `set_entries{set="drop"}`) {
		t.Errorf("a live reading was merged instead of replaced:\n%s", text)
	}
}

func TestLiveRead(t *testing.T) {
	var r Recorder
	r.Observe(time.Now(), time.Millisecond, nil, nil)
	if r.LiveRead() {
		t.Error("a pass alone counts as a live reading")
	}
	r.SetLive(Live{})
	if !r.LiveRead() {
		t.Error("an empty live reading is not counted as one")
	}
}
