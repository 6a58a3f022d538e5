package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// ErrSyntax is wrapped by every error of Parse, so callers can tell bad input
// (a usage error) from a failure.
var ErrSyntax = errors.New("invalid rule")

func syntaxf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// Parse reads one rule from its words, as typed after the command name or as
// held by a line of the state file:
//
//	allow PORT[:PORT][/tcp|/udp] [from CIDR|ADDR|@SET|any]
//	allow [PORT[:PORT][/tcp|/udp]] to CONTAINER|PROJECT/SERVICE|service:NAME [from CIDR|ADDR|@SET]
//	allow from CIDR|ADDR
//	deny [PORT[:PORT][/tcp|/udp]] from CIDR|ADDR|@SET
//	forward HOSTPORT[/tcp|/udp] to GUEST[:PORT] [from CIDR|ADDR]
//	bridge NAME include|exclude|nat-off
//	log-rate N/sec|min|hour|day|off
//
// allow, deny and forward may end with "comment TEXT" (CheckComment).
//
// The grammar is strict: anything it does not name is refused, so no input
// can smuggle text into a rule line.
func Parse(words []string) (Rule, error) {
	words, comment, err := cutComment(words)
	if err != nil {
		return Rule{}, err
	}
	r, err := parse(words)
	if err != nil || comment == "" {
		return r, err
	}
	if r.Action == Bridge || r.Action == LabelRules || r.Action == LogRate {
		return Rule{}, syntaxf("%s takes no comment", r.Action)
	}
	r.Comment = comment
	return r, nil
}

func parse(words []string) (Rule, error) {
	for _, w := range words {
		if err := checkWord(w); err != nil {
			return Rule{}, err
		}
	}
	if len(words) == 0 {
		return Rule{}, syntaxf("missing action (allow or deny)")
	}
	var r Rule
	switch Action(words[0]) {
	case Allow, Deny:
		r.Action = Action(words[0])
	case Bridge:
		return parseBridge(words)
	case Forward:
		return parseForward(words)
	case LogRate:
		return parseLogRate(words)
	case LabelRules:
		if len(words) != 2 || words[1] != "on" {
			return Rule{}, syntaxf("want: %s (label-rules off deletes it)", LabelRulesOn)
		}
		return Rule{Action: LabelRules}, nil
	default:
		return Rule{}, syntaxf("unknown action %q (want allow, deny, forward or bridge)", words[0])
	}
	var rest []string
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == HostTooWord:
			r.HostToo = true
		case w == OwnerWord:
			if i+1 == len(words) || r.Owner != "" {
				return Rule{}, syntaxf("%s takes one tool's name", OwnerWord)
			}
			if err := CheckOwner(words[i+1]); err != nil {
				return Rule{}, err
			}
			r.Owner = words[i+1]
			i++
		default:
			rest = append(rest, w)
		}
	}
	if r.Owner != "" && r.Action != Deny {
		return Rule{}, syntaxf("a tool's rule only closes: %s goes with deny", OwnerWord)
	}
	if len(rest) > 0 && rest[0] != "from" && rest[0] != "to" {
		ports, proto, err := parsePortSpec(rest[0])
		if err != nil {
			return Rule{}, err
		}
		r.Ports, r.Proto = ports, proto
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0] == "to" {
		if len(rest) < 2 {
			return Rule{}, syntaxf("missing container or service after \"to\"")
		}
		if r.Action != Allow {
			return Rule{}, syntaxf("\"to NAME\" takes allow only: deny keeps a source away from every container")
		}
		if err := CheckTarget(rest[1]); err != nil {
			return Rule{}, err
		}
		r.Target = rest[1]
		rest = rest[2:]
	}
	hasFrom := false
	if len(rest) > 0 {
		if rest[0] != "from" {
			return Rule{}, syntaxf("unexpected argument %q (want \"from\")", rest[0])
		}
		if len(rest) < 2 {
			return Rule{}, syntaxf("missing source after \"from\"")
		}
		if set, ok := strings.CutPrefix(rest[1], SetMark); ok {
			if err := CheckSetName(set); err != nil {
				return Rule{}, err
			}
			r.Set = set
		} else {
			src, err := ParseSource(rest[1])
			if err != nil {
				return Rule{}, err
			}
			r.Source = src
		}
		hasFrom = true
		rest = rest[2:]
	}
	if len(rest) > 0 {
		return Rule{}, syntaxf("unexpected argument %q", rest[0])
	}
	if r.Target != "" {
		if r.HostToo {
			return Rule{}, syntaxf("allow to %s opens that container's published ports: --host-too takes a port", r.Target)
		}
		return r, nil
	}
	if r.Set != "" {
		switch {
		case r.Action == Allow && r.Ports.Any():
			return Rule{}, syntaxf("allow from @%s needs a port: it would open every published port to the set", r.Set)
		case r.Action == Allow && r.HostToo:
			return Rule{}, syntaxf("allow from @%s covers published ports only: --host-too takes a set with deny", r.Set)
		}
		return r, nil
	}
	if r.Ports.Any() && !r.Source.IsValid() {
		if r.Action == Deny {
			return Rule{}, syntaxf("deny needs a source: deny [PORT] from CIDR|ADDR")
		}
		if hasFrom {
			return Rule{}, syntaxf("allow from any needs a port: it would open every published port")
		}
		return Rule{}, syntaxf("missing port: allow PORT[:PORT][/tcp|/udp] [from CIDR|ADDR|any]")
	}
	if r.Action == Deny && !r.Source.IsValid() {
		return Rule{}, syntaxf("deny needs a source other than any: deny [PORT] from CIDR|ADDR")
	}
	return r, nil
}

// targetRe is what "to" takes: a container's name (Docker's own rule), a
// compose service as "project/service", or a service as "service:NAME".
var targetRe = regexp.MustCompile(`^(` + ServicePrefix + `)?[a-zA-Z0-9][a-zA-Z0-9_.-]*$|^[a-zA-Z0-9][a-zA-Z0-9_.-]*/[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ServicePrefix names a service in a rule's target ("service:NAME"): a
// Swarm service as its manager knows it, or the compose service of that
// name when one project alone has it. A plain name is a container's.
const ServicePrefix = "service:"

// LabelTarget is the target of the rules a container's label gives: that
// container, by its ID, whatever its name or labels say (IDs have no
// place in the rules file: "id:" is no target a user can give).
func LabelTarget(containerID string) string { return "id:" + containerID }

// CheckTarget refuses what is not a container's or a service's name.
func CheckTarget(name string) error {
	if !targetRe.MatchString(name) {
		return syntaxf("invalid container or service %q: a container's name, PROJECT/SERVICE or service:NAME", name)
	}
	return nil
}

// ownerRe is a tool's name as OwnerWord takes it.
var ownerRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,31}$`)

// CheckOwner refuses what is not a tool's name.
func CheckOwner(name string) error {
	if !ownerRe.MatchString(name) {
		return syntaxf("invalid owner %q: a tool's name, 1-32 lowercase letters, digits, '_', '.' or '-'", name)
	}
	return nil
}

// checkWord refuses anything outside printable ASCII before any other check,
// so that the error names the character and no rule line can be injected.
func checkWord(w string) error {
	if w == "" {
		return syntaxf("empty argument")
	}
	if len(w) > 64 {
		return syntaxf("argument too long (%d bytes)", len(w))
	}
	for _, c := range []byte(w) {
		if c <= ' ' || c >= 0x7f {
			return syntaxf("argument %q holds a character that is not printable ASCII", w)
		}
	}
	if strings.ContainsAny(w, "\"'#*;`$\\") {
		return syntaxf("argument %q holds a character that no rule uses", w)
	}
	return nil
}

func parsePortSpec(s string) (Ports, Proto, error) {
	spec, proto := s, ProtoAny
	if i := strings.IndexByte(s, '/'); i >= 0 {
		spec = s[:i]
		switch p := Proto(s[i+1:]); p {
		case TCP, UDP:
			proto = p
		default:
			return Ports{}, "", syntaxf("unknown protocol %q in %q (want tcp or udp)", s[i+1:], s)
		}
	}
	first, last, isRange := strings.Cut(spec, ":")
	lo, err := parsePort(first)
	if err != nil {
		return Ports{}, "", err
	}
	hi := lo
	if isRange {
		if hi, err = parsePort(last); err != nil {
			return Ports{}, "", err
		}
		if hi < lo {
			return Ports{}, "", syntaxf("port range %q ends before it starts", spec)
		}
	}
	return Ports{First: lo, Last: hi}, proto, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 {
		return 0, syntaxf("invalid port %q (want 1-65535)", s)
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, syntaxf("invalid port %q (want 1-65535)", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 || (s[0] == '0') {
		return 0, syntaxf("invalid port %q (want 1-65535)", s)
	}
	return uint16(n), nil
}

// ParseSource reads "any", an address or a network. A network with host
// bits set is refused, never masked: "203.0.113.192/2" is what a list cut
// inside "/26" reads as, and masked it would stand for a quarter of the
// internet. IPv4-mapped IPv6 addresses and zones are refused too.
func ParseSource(s string) (netip.Prefix, error) {
	if s == "any" {
		return netip.Prefix{}, nil
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, syntaxf("invalid source %q: want an address, a CIDR or any", s)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, syntaxf("invalid source %q: want an address, a CIDR or any", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, syntaxf("invalid source %q: IPv4-mapped IPv6 address, write the IPv4 address", s)
	}
	if p != p.Masked() {
		return netip.Prefix{}, syntaxf("invalid source %q: host bits set past /%d (the network is %s; a line cut short?)", s, p.Bits(), p.Masked())
	}
	return p, nil
}
