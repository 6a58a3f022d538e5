// Package rules is the pure vocabulary of ufw-docker-bridge: address
// families, the user's allow/deny rules with their strict parser, and an
// iptables-save/restore model with its parser and printer. It does no I/O.
package rules
