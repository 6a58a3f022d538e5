package rules

import "fmt"

// Family is an address family: every rule set is built once per family.
type Family int

const (
	// IPv4 is served by iptables and the UFW files before.rules/after.rules.
	IPv4 Family = 4
	// IPv6 is served by ip6tables and the UFW files before6.rules/after6.rules.
	IPv6 Family = 6
)

// Families lists the families in the order they are applied.
var Families = []Family{IPv4, IPv6}

// String returns "ipv4" or "ipv6".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	}
	return fmt.Sprintf("family(%d)", int(f))
}

// UFWUserForward is UFW's chain of `ufw route` rules in this family.
func (f Family) UFWUserForward() string {
	if f == IPv6 {
		return ChainUFW6UserForward
	}
	return ChainUFWUserForward
}

// UFWBeforeInput is UFW's chain that our input chain is appended to.
func (f Family) UFWBeforeInput() string {
	if f == IPv6 {
		return ChainUFW6BeforeInput
	}
	return ChainUFWBeforeInput
}

// UFWUserInput is UFW's chain of the user's input rules in this family.
func (f Family) UFWUserInput() string {
	if f == IPv6 {
		return ChainUFW6UserInput
	}
	return ChainUFWUserInput
}
