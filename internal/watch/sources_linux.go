package watch

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

// Netlink is an event source that fires on every message of a netlink
// multicast group: the nftables group (every ruleset change, including those
// of iptables-nft) or the link group (bridges created and removed).
type Netlink struct {
	Label    string
	Protocol int
	Group    uint32
}

// NFTables fires on every nftables ruleset change (NFNLGRP_NFTABLES).
func NFTables() Netlink {
	return Netlink{Label: "nftables", Protocol: unix.NETLINK_NETFILTER, Group: unix.NFNLGRP_NFTABLES}
}

// Links fires when a link appears, disappears or changes (RTNLGRP_LINK).
func Links() Netlink {
	return Netlink{Label: "links", Protocol: unix.NETLINK_ROUTE, Group: unix.RTNLGRP_LINK}
}

// Name is the source's label.
func (n Netlink) Name() string { return n.Label }

// Run reads the group until ctx ends; a full socket buffer (ENOBUFS) is an
// event too: something changed, and a pass will find out what.
func (n Netlink) Run(ctx context.Context, trigger func()) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, n.Protocol)
	if err != nil {
		return fmt.Errorf("opening netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1 << (n.Group - 1)}); err != nil {
		return fmt.Errorf("joining netlink group %d: %w", n.Group, err)
	}
	// Wake up now and then to notice the end of ctx (the daemon itself does
	// not wait for its sources when it stops): no event means no work.
	tv := unix.Timeval{Sec: 10}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("setting netlink timeout: %w", err)
	}
	buf := make([]byte, 64*1024)
	for ctx.Err() == nil {
		_, _, err := unix.Recvfrom(fd, buf, 0)
		switch err {
		case nil, unix.ENOBUFS:
			trigger()
		case unix.EAGAIN, unix.EINTR:
		default:
			return fmt.Errorf("reading netlink: %w", err)
		}
	}
	return nil
}
