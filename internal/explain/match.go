package explain

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// ifaceMatch is iptables' interface match (rules.IfaceMatches); the
// external interface ("") matches no name.
func ifaceMatch(pattern, name string) bool { return name != "" && rules.IfaceMatches(pattern, name) }

func inPorts(spec string, port int) bool {
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return false
			}
		}
		if port >= a && port <= b {
			return true
		}
	}
	return false
}

func inPrefix(spec string, a netip.Addr) bool {
	p, err := netip.ParsePrefix(spec)
	if err != nil {
		addr, err := netip.ParseAddr(spec)
		if err != nil {
			return false
		}
		return addr == a
	}
	return p.Contains(a)
}

// match evaluates one rule for the packet: whether it matches, its target
// and the target's arguments. A match it cannot evaluate makes the rule not
// match, and is recorded as uncertain.
func (w *walker) match(r string) (bool, string, []string) {
	t := rules.Words(r)
	neg := false
	for i := 0; i < len(t); i++ {
		opt := t[i]
		if opt == "!" {
			neg = true
			continue
		}
		val := ""
		if i+1 < len(t) {
			val = t[i+1]
		}
		var ok bool
		switch opt {
		case "-j", "-g":
			if i+2 > len(t) {
				return true, val, nil
			}
			return true, val, t[i+2:]
		case "-m":
			i++
			continue
		case "--syn":
			ok = w.pkt.Proto == "tcp"
			i--
		case "-s":
			ok = inPrefix(val, w.pkt.Src)
		case "-d":
			ok = inPrefix(val, w.pkt.Dst)
		case "-i":
			ok = ifaceMatch(val, w.inIface)
		case "-o":
			ok = ifaceMatch(val, w.outIface)
		case "-p":
			ok = val == w.pkt.Proto || val == "all"
		case "--dport", "--dports", "--destination-port":
			ok = inPorts(val, w.pkt.DPort)
		case "--ctorigdstport":
			ok = inPorts(val, w.origPort)
		case "--ctorigdst":
			ok = inPrefix(val, w.origDst)
		case "--ctstate", "--state":
			ok = false
			for _, s := range strings.Split(val, ",") {
				ok = ok || s == "NEW" || (s == "DNAT" && w.dnat)
			}
		case "--dst-type":
			// Addressed to the host until DNAT rewrites it, and only when
			// the destination is one of the host's own addresses.
			ok = val == "LOCAL" && !w.dnat && w.local(w.pkt.Dst)
		case "--src-type", "--sport", "--sports", "--source-port":
			// The client is outside and picks an ephemeral port.
			ok = false
		case "--mark":
			v, m, _ := strings.Cut(val, "/")
			want, _ := strconv.ParseUint(v, 0, 32)
			mask := uint64(0xffffffff)
			if m != "" {
				mask, _ = strconv.ParseUint(m, 0, 32)
			}
			ok = uint64(w.mark)&mask == want
		case "--tcp-flags":
			// The first packet of a connection: SYN alone.
			ok = i+2 < len(t) && t[i+2] == "SYN"
			i++
		case "--limit", "--limit-burst", "--comment", "--log-prefix", "--log-level", "--icmp-type":
			ok = true
			if opt == "--icmp-type" {
				ok = w.pkt.Proto == "icmp"
			}
		default:
			w.uncertain = append(w.uncertain, "cannot evaluate "+opt+" in: "+r)
			return false, "", nil
		}
		if ok == neg {
			return false, "", nil
		}
		neg = false
		i++
	}
	return true, "", nil
}
