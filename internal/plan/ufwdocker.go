package plan

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// CutUFWDockerBlock returns text without chaifeng/ufw-docker's block (its
// marker lines and all between) and the block; ok is false when text has
// none. Every other byte of text is kept.
func CutUFWDockerBlock(text string) (rest, block string, ok bool) {
	begin := strings.Index(text, rules.UFWDockerBegin+"\n")
	if begin < 0 || begin > 0 && text[begin-1] != '\n' {
		return text, "", false
	}
	end := strings.Index(text[begin:], rules.UFWDockerEnd)
	if end < 0 {
		return text, "", false
	}
	end += begin + len(rules.UFWDockerEnd)
	if end < len(text) && text[end] == '\n' {
		end++
	}
	return text[:begin] + text[end:], text[begin:end], true
}

// RouteTuple is a `ufw route` rule (ufw.RouteRule): what import reads of it.
type RouteTuple struct {
	Proto, DPort, Dst, Src, Comment string
}

// ufwDockerComment is the comment ufw-docker gives its route rules:
// "allow NAME" or "allow NAME PORT/PROTO".
var ufwDockerComment = regexp.MustCompile(`^allow ([-_.[:alnum:]]+)(?: ([0-9]+)/(tcp|udp))?$`)

// IsUFWDockerComment reports whether a route rule's comment is one
// ufw-docker gives its rules.
func IsUFWDockerComment(c string) bool { return ufwDockerComment.MatchString(c) }

// UFWDockerImport is what import --from ufw-docker does.
type UFWDockerImport struct {
	// Rules are ours that keep open what ufw-docker opened.
	Rules rules.Ruleset
	// Routes are its route rules that go once ours are live (those whose
	// container is gone stay: UFW's route rules still decide).
	Routes []RouteTuple
	// DockerUser are the rules its block put in DOCKER-USER (as written
	// there), Chains the chains of its own; both go from the live table.
	DockerUser, Chains []string
	// Notes say what was not carried over, and why.
	Notes []string
}

// Resolver says, for a rule of ufw-docker for container name to ip:port,
// whether a container of that name runs (byName), or else which host port
// Docker publishes for ip:port now.
type Resolver func(name string, ip netip.Addr, port uint16, proto string) (byName bool, hostPort uint16, ok bool)

// ImportUFWDocker turns chaifeng/ufw-docker's setup into ours: its blocks'
// "-j RETURN -s CIDR" lines (it trusts private sources with every published
// port) into "allow from CIDR", and its route rules (comment "allow NAME
// PORT/PROTO") into "allow PORT/PROTO to NAME" where the container runs, else
// into the host port Docker publishes for its address and port now. Route
// rules without its comment are the user's own: they stay.
func ImportUFWDocker(blocks []string, routes []RouteTuple, resolve Resolver) UFWDockerImport {
	var im UFWDockerImport
	add := func(r rules.Rule) {
		if !slices.Contains(im.Rules, r) {
			im.Rules = append(im.Rules, r)
		}
	}
	for _, b := range blocks {
		for _, line := range strings.Split(b, "\n") {
			line = strings.TrimSpace(line)
			if name, ok := strings.CutPrefix(line, ":"); ok {
				// Its own chains; not DOCKER-USER (Docker's, shared) nor UFW's.
				chain := strings.Fields(name)[0]
				if chain != rules.ChainDockerUser && chain != rules.ChainUFWUserForward && chain != rules.ChainUFW6UserForward &&
					!slices.Contains(im.Chains, chain) {
					im.Chains = append(im.Chains, chain)
				}
				continue
			}
			spec, ok := strings.CutPrefix(line, "-A "+rules.ChainDockerUser+" ")
			if !ok {
				continue
			}
			if !slices.Contains(im.DockerUser, spec) {
				im.DockerUser = append(im.DockerUser, spec)
			}
			w := rules.Words(spec)
			if len(w) == 4 && rules.Arg(w, "-j") == "RETURN" && rules.Arg(w, "-s") != "" {
				if src, err := rules.ParseSource(rules.Arg(w, "-s")); err == nil && src.IsValid() {
					add(rules.Rule{Action: rules.Allow, Source: src})
				}
			}
		}
	}
	for _, rt := range routes {
		m := ufwDockerComment.FindStringSubmatch(rt.Comment)
		if m == nil {
			continue
		}
		name := m[1]
		ip, err := netip.ParseAddr(rt.Dst)
		port, perr := strconv.ParseUint(rt.DPort, 10, 16)
		if err != nil || perr != nil && rt.DPort != "any" {
			im.Notes = append(im.Notes, fmt.Sprintf("left alone: route rule %q to %s port %s: not ufw-docker's shape", rt.Comment, rt.Dst, rt.DPort))
			continue
		}
		r := rules.Rule{Action: rules.Allow}
		if rt.Src != "0.0.0.0/0" && rt.Src != "::/0" && rt.Src != "any" {
			if r.Source, err = rules.ParseSource(rt.Src); err != nil {
				im.Notes = append(im.Notes, fmt.Sprintf("left alone: route rule %q: source %s", rt.Comment, rt.Src))
				continue
			}
		}
		proto := rt.Proto
		if port != 0 {
			r.Ports = rules.Ports{First: uint16(port), Last: uint16(port)}
			r.Proto = rules.Proto(proto)
		}
		byName, hostPort, ok := resolve(name, ip, uint16(port), proto)
		switch {
		case byName:
			r.Target = name
		case ok:
			r.Ports = rules.Ports{First: hostPort, Last: hostPort}
		default:
			// Kept as it is: UFW's route rules still decide (our chain
			// consults them), and the container may come back at that address.
			im.Notes = append(im.Notes, fmt.Sprintf("left in UFW: %q (to %s port %s): no container %s runs and nothing publishes that address and port now", rt.Comment, rt.Dst, rt.DPort, name))
			continue
		}
		add(r)
		im.Routes = append(im.Routes, rt)
	}
	return im
}
