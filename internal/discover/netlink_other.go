//go:build !linux

package discover

import "errors"

// Netlink lists bridges; only Linux has them.
type Netlink struct{}

// Bridges fails: bridges are a Linux feature.
func (Netlink) Bridges() ([]Bridge, error) {
	return nil, errors.New("bridges are only listed on linux")
}
