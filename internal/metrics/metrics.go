// Package metrics keeps the watcher's counters and renders them, with what
// was read of the live rules, in Prometheus' text exposition format (a
// node_exporter textfile, or --metrics-listen). It is pure: the caller
// reads the live rules and writes the text.
package metrics

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Prefix starts every metric's name.
const Prefix = "ufw_docker_bridge_"

// RuleCounter is the packet counter of one rule of one of our chains.
type RuleCounter struct {
	Family, Chain string
	// Rule is the rule as iptables-save prints it, after "-A CHAIN ".
	Rule string
	// Comment is the rule's comment ("" for none): the label exporters
	// and dashboards name a rule by.
	Comment string
	Packets uint64
}

// Live is what a pass read of the live state for the metrics.
type Live struct {
	// Rules counts the user's rules by action.
	Rules map[string]int
	// Sets are the address sets' sizes, by name.
	Sets map[string]int
	// Counters are our chains' rules' packet counters.
	Counters []RuleCounter
	// GuardDrops are the packets the guard dropped, by its chain.
	GuardDrops map[string]uint64
	// Published counts the published and forwarded host ports (one a
	// host address and protocol, as status --ports lists them) by whom
	// they are open to: everyone, sources, closed, local, not-installed.
	Published map[string]int
}

// Recorder counts the watcher's passes and repairs; safe for concurrent
// use (passes write, the HTTP handler reads).
type Recorder struct {
	mu           sync.Mutex
	passes       uint64
	failed       uint64
	drift        uint64
	repairs      map[string]uint64
	lastPass     time.Time
	lastDuration time.Duration
	live         Live
	liveRead     bool
}

// Observe records one pass: when it started, how long it took, what it
// repaired and whether it failed.
func (r *Recorder) Observe(start time.Time, took time.Duration, repaired []string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.repairs == nil {
		r.repairs = map[string]uint64{}
	}
	r.passes++
	if err != nil {
		r.failed++
	}
	if len(repaired) > 0 {
		r.drift++
	}
	for _, what := range repaired {
		r.repairs[Cause(what)]++
	}
	r.lastPass, r.lastDuration = start, took
}

// SetLive replaces what was read of the live state (read apart from the
// passes: counters move without any pass).
func (r *Recorder) SetLive(live Live) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = live
	r.liveRead = true
}

// LiveRead says whether the live part has been read at least once. Before
// that, the text would say no port is published and no rule counted: a
// scraper must not take that for the truth.
func (r *Recorder) LiveRead() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.liveRead
}

// Cause is the kind of a repair, from how the pass names it ("ipv4: ...",
// "nat: ...", "guard: ..."): the word before the first colon, or "other".
func Cause(repaired string) string {
	word, _, ok := strings.Cut(repaired, ":")
	if !ok || word == "" || strings.ContainsAny(word, " \"\\") {
		return "other"
	}
	return word
}

// Text renders the metrics in Prometheus' text exposition format, labels
// in name order (as node_exporter prints them again).
func (r *Recorder) Text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	metric := func(name, kind, help string) { header(&b, name, kind, help) }
	metric("passes_total", "counter", "Verify-and-repair passes of the watcher.")
	fmt.Fprintf(&b, "%spasses_total %d\n", Prefix, r.passes)
	metric("pass_errors_total", "counter", "Passes that failed.")
	fmt.Fprintf(&b, "%spass_errors_total %d\n", Prefix, r.failed)
	metric("drift_detected_total", "counter", "Passes that found drift and repaired it.")
	fmt.Fprintf(&b, "%sdrift_detected_total %d\n", Prefix, r.drift)
	metric("repairs_total", "counter", "Repairs by cause (ipv4, ipv6, nat, guard, sets, firewalld, ...).")
	for _, c := range sortedKeys(r.repairs) {
		fmt.Fprintf(&b, "%srepairs_total{cause=%s} %d\n", Prefix, label(c), r.repairs[c])
	}
	if !r.lastPass.IsZero() {
		metric("last_pass_timestamp_seconds", "gauge", "When the last pass started (Unix time).")
		fmt.Fprintf(&b, "%slast_pass_timestamp_seconds %.3f\n", Prefix, float64(r.lastPass.UnixMilli())/1000)
		metric("last_pass_duration_seconds", "gauge", "How long the last pass took.")
		fmt.Fprintf(&b, "%slast_pass_duration_seconds %.6f\n", Prefix, r.lastDuration.Seconds())
	}
	labelled(&b, "rules", "gauge", "The user's rules, by action.", "action", r.live.Rules)
	labelled(&b, "guard_drops_total", "counter", "Packets the nftables guard dropped: connections our iptables rules did not see (clobbered or bypassed), by chain.",
		"chain", r.live.GuardDrops)
	labelled(&b, "published_ports", "gauge", "Published and forwarded host ports, by whom they are open to (as status --ports).", "open_to", r.live.Published)
	labelled(&b, "set_entries", "gauge", "Entries of each address set.", "set", r.live.Sets)
	metric("rule_packets_total", "counter", "Packets matched by each rule of our chains; blocked connections are the DROP rules'.")
	cs := append([]RuleCounter(nil), r.live.Counters...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Family+cs[i].Chain < cs[j].Family+cs[j].Chain })
	seen := map[string]bool{}
	for _, c := range cs {
		labels := fmt.Sprintf("chain=%s,comment=%s,family=%s,rule=%s", label(c.Chain), label(c.Comment), label(c.Family), label(c.Rule))
		if seen[labels] { // the same line twice in a chain: one series
			continue
		}
		seen[labels] = true
		fmt.Fprintf(&b, "%srule_packets_total{%s} %d\n", Prefix, labels, c.Packets)
	}
	metric("blocked_packets_total", "counter", "Packets our chains dropped (NEW connections refused and deny rules), by family and chain.")
	blocked := map[string]uint64{}
	for _, c := range cs {
		if strings.HasSuffix(c.Rule, "-j DROP") {
			blocked[fmt.Sprintf("chain=%s,family=%s", label(c.Chain), label(c.Family))] += c.Packets
		}
	}
	for _, k := range sortedKeys(blocked) {
		fmt.Fprintf(&b, "%sblocked_packets_total{%s} %d\n", Prefix, k, blocked[k])
	}
	return b.String()
}

// header writes a metric's HELP and TYPE lines.
func header(b *strings.Builder, name, kind, help string) {
	fmt.Fprintf(b, "# HELP %s%s %s\n# TYPE %s%s %s\n", Prefix, name, help, Prefix, name, kind)
}

// labelled writes a metric with one label, a series a key of m, in key
// order.
func labelled[V int | uint64](b *strings.Builder, name, kind, help, key string, m map[string]V) {
	header(b, name, kind, help)
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(b, "%s%s{%s=%s} %d\n", Prefix, name, key, label(k), m[k])
	}
}

// label quotes a label value as the exposition format wants it.
func label(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
