//go:build !linux

package watch

import (
	"context"
	"errors"
)

// Netlink is a netlink event source; only Linux has netlink.
type Netlink struct{ Label string }

// NFTables is unavailable off Linux.
func NFTables() Netlink { return Netlink{Label: "nftables"} }

// Links is unavailable off Linux.
func Links() Netlink { return Netlink{Label: "links"} }

// Name is the source's label.
func (n Netlink) Name() string { return n.Label }

// Run fails: netlink is Linux only.
func (n Netlink) Run(context.Context, func()) error {
	return errors.New("netlink is only available on linux")
}
