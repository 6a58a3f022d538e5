package plan

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/templates"
)

var guardTmpl = template.Must(template.ParseFS(templates.FS, "guard.nft.tmpl"))

// Guard returns the `nft -f` script that replaces our guard table in one
// transaction, and the comment that identifies this version of it.
//
// The guard runs after iptables' FORWARD (priority filter + 10). Our
// iptables chain marks every NEW connection into a container bridge that our
// policy (deny rules, the user's ufw route rules, allow rules) let through; the
// guard drops such connections that carry no mark. So when someone flushes
// DOCKER-USER, moves its jump, restores an old ruleset or reloads firewalld,
// nothing gets through in the time before the watcher repairs it: the guard
// fails closed and agrees with the policy whenever the policy is in place.
//
// The bridges are those of the policy (rolesOf): container bridges by
// pattern and by Docker's facts; excluded bridges, and included guests that
// a container pattern also matches, are let alone before the patterns.
func Guard(br rules.Bridges, dockerBridges []string) (script, comment string) {
	ro := rolesOf(br, dockerBridges)
	var body bytes.Buffer
	err := guardTmpl.Execute(&body, map[string]any{
		"Table":     rules.GuardTable,
		"Bridges":   nftNames(ro.containers),
		"Excluded":  nftNames(ro.excluded),
		"Early":     nftNames(ro.early),
		"Mark":      nftMark(rules.GuardMark),
		"LogPrefix": rules.GuardLogPrefix,
	})
	if err != nil {
		panic(fmt.Sprintf("rendering the guard: %v", err))
	}
	sum := sha256.Sum256(body.Bytes())
	comment = rules.GuardCommentPrefix + hex.EncodeToString(sum[:6])
	text := strings.Replace(body.String(), " {\n", fmt.Sprintf(" {\n\tcomment %q\n", comment), 1)
	// Declaring the table first makes the delete valid when it does not exist yet.
	return fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n%[2]s", rules.GuardTable, text), comment
}

// GuardRemoval is the `nft -f` script that deletes the guard table, valid
// whether or not it exists.
func GuardRemoval() string {
	return fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n", rules.GuardTable)
}

// nftNames spells interface patterns the nft way ("br-*" for "br-+").
func nftNames(names []string) []string {
	var out []string
	for _, b := range names {
		out = append(out, strings.Replace(b, "+", "*", 1))
	}
	return out
}

// GuardKey is one element of the guard's sets of published ports: a
// protocol's host ports First-Last, bound to Addr (set published-addr), or
// to every address when Addr is the zero Addr (set published).
type GuardKey struct {
	Proto       string
	First, Last uint16
	Addr        netip.Addr
}

// GuardKeys returns the elements the guard's sets hold for ports, each
// once. The guard's input chain drops NEW IPv4 connections from outside to
// those ports: they reach INPUT only when Docker's DNAT rules are gone
// (flushed by a firewalld stop, an iptables-restore) while docker-proxy
// still listens on the host port. Ports bound to a loopback or an IPv6
// address are left out: outside cannot reach them that way, or the chain
// is IPv4's.
func GuardKeys(ports []Published) []GuardKey {
	var out []GuardKey
	for _, p := range ports {
		first, last, _ := strings.Cut(p.Port, ":")
		a, errA := strconv.ParseUint(first, 10, 16)
		b, errB := strconv.ParseUint(cmp.Or(last, first), 10, 16)
		if (p.Proto != "tcp" && p.Proto != "udp") || errA != nil || errB != nil || a == 0 || b < a ||
			p.Addr.IsValid() && (!p.Addr.Is4() || p.Addr.IsLoopback()) {
			continue
		}
		k := GuardKey{Proto: p.Proto, First: uint16(a), Last: uint16(b), Addr: p.Addr}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// GuardElements returns the `nft -f` script that makes the guard's sets of
// published ports hold exactly keys (GuardKeys), in one transaction.
func GuardElements(keys []GuardKey) string {
	var any, addr []string
	for _, k := range keys {
		port := strconv.Itoa(int(k.First))
		if k.Last != k.First {
			port += "-" + strconv.Itoa(int(k.Last))
		}
		if k.Addr.IsValid() {
			addr = append(addr, k.Addr.String()+" . "+k.Proto+" . "+port)
		} else {
			any = append(any, k.Proto+" . "+port)
		}
	}
	var b strings.Builder
	for _, set := range []struct {
		name  string
		elems []string
	}{{"published", any}, {"published-addr", addr}} {
		fmt.Fprintf(&b, "flush set inet %s %s\n", rules.GuardTable, set.name)
		if len(set.elems) > 0 {
			fmt.Fprintf(&b, "add element inet %s %s { %s }\n", rules.GuardTable, set.name, strings.Join(set.elems, ", "))
		}
	}
	return b.String()
}
