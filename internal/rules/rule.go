package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Action says what a rule does with the connections it matches.
type Action string

const (
	// Allow lets NEW connections from outside reach published ports.
	Allow Action = "allow"
	// Deny drops connections from a source before any allow is considered.
	Deny Action = "deny"
)

// Proto is a transport protocol; ProtoAny means both tcp and udp.
type Proto string

const (
	// ProtoAny matches tcp and udp.
	ProtoAny Proto = ""
	// TCP matches tcp only.
	TCP Proto = "tcp"
	// UDP matches udp only.
	UDP Proto = "udp"
)

// Ports is a host port or an inclusive range of host ports; the zero value
// means every port.
type Ports struct {
	First, Last uint16
}

// Any reports whether p matches every port.
func (p Ports) Any() bool { return p.First == 0 }

// String returns "8080" or "5000:5010", or "" for every port.
func (p Ports) String() string {
	switch {
	case p.Any():
		return ""
	case p.First == p.Last:
		return strconv.Itoa(int(p.First))
	}
	return fmt.Sprintf("%d:%d", p.First, p.Last)
}

// Rule is one line of the user's rule set: allow or deny NEW connections to
// host ports published by containers, optionally from one source only.
type Rule struct {
	Action Action
	Ports  Ports
	Proto  Proto
	// Source is the client network; the zero Prefix means any source.
	Source netip.Prefix
	// Set names the address set the source is in ("from @NAME"), instead
	// of Source: both families, as the set holds both.
	Set string
	// Target names a container, a compose service ("project/service" or
	// "service") or a Swarm service ("to NAME"): the rule opens the host
	// ports Docker published for it, and Ports are its container ports.
	Target string
	// Iface and Setting are a bridge rule's bridge (name or "prefix+") and
	// what to do with it; empty for allow and deny.
	Iface   string
	Setting BridgeSetting
	// HostToo says an allow or deny rule also covers the host's own
	// services on those ports (INPUT), so one list serves both.
	HostToo bool
	// ToPort is a forward's port on the guest (0: the host port); Target
	// is then the guest.
	ToPort uint16
	// Dest is the guest's address a forward goes to, found when the rules
	// are rendered (never in the state file); invalid in the rules as
	// written.
	Dest netip.Addr
	// HostAddr is the host address Docker publishes a rule's port on, for
	// a rule rendered from a target (never in the state file): the rule
	// then opens that address's port only, not the same port another
	// container publishes on another address. Invalid: every address.
	HostAddr netip.Addr
	// Rate is a log-rate setting's rate ("10/min", or LogOff).
	Rate string
	// Comment says why the rule is there; it is no part of the rule's
	// identity, and is rendered as the iptables comment of its lines.
	Comment string
	// Owner names the tool the admin configured that keeps this rule
	// (fail2ban's action: "--owner fail2ban"); "" for the admin's own.
	// A tool only closes: only deny rules have one. apply and restore
	// replace the admin's rules and keep the tools'. It is no part of
	// the rule's identity either.
	Owner string
}

// HostTooWord marks a rule that covers the host's own ports too.
const HostTooWord = "--host-too"

// OwnerWord, followed by a tool's name, marks a rule that tool keeps.
const OwnerWord = "--owner"

// String is the canonical form, which Parse accepts and the state file holds.
func (r Rule) String() string {
	switch r.Action {
	case Bridge:
		return fmt.Sprintf("%s %s %s", r.Action, r.Iface, r.Setting)
	case LabelRules:
		return LabelRulesOn
	case LogRate:
		return string(LogRate) + " " + r.Rate
	}
	var b strings.Builder
	b.WriteString(string(r.Action))
	if !r.Ports.Any() {
		b.WriteString(" " + r.Ports.String())
		if r.Proto != ProtoAny {
			b.WriteString("/" + string(r.Proto))
		}
	}
	if r.Target != "" {
		b.WriteString(" to " + r.Target)
		if r.ToPort != 0 {
			b.WriteString(":" + strconv.Itoa(int(r.ToPort)))
		}
	}
	if r.Source.IsValid() {
		b.WriteString(" from " + FormatPrefix(r.Source))
	}
	if r.Set != "" {
		b.WriteString(" from " + SetMark + r.Set)
	}
	if r.HostToo {
		b.WriteString(" " + HostTooWord)
	}
	if r.Owner != "" {
		b.WriteString(" " + OwnerWord + " " + r.Owner)
	}
	if r.Comment != "" {
		b.WriteString(" " + CommentWord + " '" + r.Comment + "'")
	}
	return b.String()
}

// Families lists the families the rule applies to: the source's, or both
// (a forward's found guest address: its own).
func (r Rule) Families() []Family {
	var out []Family
	for _, f := range Families {
		if familyOf(r.Dest, f) && familyOf(r.Source.Addr(), f) && familyOf(r.HostAddr, f) {
			out = append(out, f)
		}
	}
	return out
}

// familyOf says whether address a (invalid: none) allows family f.
func familyOf(a netip.Addr, f Family) bool {
	return !a.IsValid() || a.Is4() == (f == IPv4)
}

// AppliesTo reports whether the rule has a place in family f.
func (r Rule) AppliesTo(f Family) bool {
	for _, g := range r.Families() {
		if g == f {
			return true
		}
	}
	return false
}

// FormatPrefix prints a single address without its length and a network
// with it.
func FormatPrefix(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
