//go:build !linux

package nft

import (
	"errors"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// NetlinkElements fails: nftables is a Linux feature.
type NetlinkElements struct{}

var errNotLinux = errors.New("nftables exists only on linux")

// setThreadName does nothing: no nftables, no generation message here.
func setThreadName(string) string { return "" }

// Sets fails: nftables is a Linux feature.
func (NetlinkElements) Sets() ([]string, bool, error) { return nil, false, errNotLinux }

// Published fails: nftables is a Linux feature.
func (NetlinkElements) Published([]plan.GuardKey) error { return errNotLinux }

// Listing fails: nftables is a Linux feature.
func (NetlinkElements) Listing() (string, bool, error) { return "", false, errNotLinux }

// Replace fails: nftables is a Linux feature.
func (NetlinkElements) Replace(string, []rules.Interval, []rules.Interval, time.Time) error {
	return errNotLinux
}

// Update fails: nftables is a Linux feature.
func (NetlinkElements) Update(string, []rules.Interval, []rules.Interval, time.Time) error {
	return errNotLinux
}
