package plan

// Profile is what differs between the host firewalls we sit next to, in one
// place: the code asks the profile what to do, not which firewall it is.
type Profile struct {
	// Name is the firewall as `install --backend` names it.
	Name string
	// Files is the stem of the rules files our blocks live in: UFW's
	// after.rules and after6.rules, or files of our own in the state
	// directory (firewalld.rules, iptables.rules, and their 6 twins).
	Files string
	// OwnFiles says those files are ours: made by install, deleted when
	// empty, kept in the state directory.
	OwnFiles bool
	// RouteChain says the user's own route rules live in a chain of the
	// firewall's (UFW's ufw-user-forward) that our policy delegates to; our
	// block declares it so that the file loads before the firewall makes it.
	RouteChain bool
	// Input is how our input chain is reached, if at all.
	Input InputHook
	// ForwardPolicyFix is the fix for FORWARD's policy ACCEPT next to
	// Docker; "" where the firewall's own chains decide routed traffic.
	ForwardPolicyFix string
	// Zones says the firewall binds bridges to zones of its own, which our
	// zone and policy for guests must join (firewalld).
	Zones bool
}

// InputHook is how our input chain (--host-too rules, guests' DHCP and DNS)
// is reached.
type InputHook int

const (
	// InputFromUFW: from UFW's before-input chain, which UFW flushes and our
	// block fills again on every load, right before UFW's user rules.
	InputFromUFW InputHook = iota
	// InputFirst: from INPUT, first, where no firewall daemon keeps one.
	InputFirst
	// NoInput: the host's own ports and guests' services are the firewall's
	// (firewalld's zones); --host-too does not apply.
	NoInput
)

var profiles = map[Firewall]Profile{
	UFW: {Name: "ufw", Files: "after", RouteChain: true, Input: InputFromUFW,
		ForwardPolicyFix: "ufw enable (or ufw default deny routed)"},
	FirewallD: {Name: "firewalld", Files: "firewalld", OwnFiles: true, Input: NoInput, Zones: true},
	IPTables: {Name: "iptables", Files: "iptables", OwnFiles: true, Input: InputFirst,
		ForwardPolicyFix: "iptables -P FORWARD DROP, and the same in the rules the host loads at boot"},
}

// Profile returns the firewall's profile.
func (f Firewall) Profile() Profile { return profiles[f] }

// String names the firewall as `install --backend` does.
func (f Firewall) String() string { return f.Profile().Name }
