package watch

import (
	"context"
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Netlink is an event source that fires on every message of a netlink
// multicast group: the nftables group (every ruleset change, including those
// of iptables-nft) or the link group (bridges created and removed).
type Netlink struct {
	Label    string
	Protocol int
	Group    uint32
	// Relevant, when set, makes the filter of one Run: it sees every
	// datagram and says whether it is worth a pass; nil says that messages
	// were lost.
	Relevant func() func(datagram []byte) bool
	// ReadBuffer, when set, is the socket's receive buffer in bytes: a
	// burst larger than it is lost (ENOBUFS; a pass still runs).
	ReadBuffer int
}

// NFTables fires on every nftables ruleset change (NFNLGRP_NFTABLES). Its
// buffer holds the messages of a set of 100,000 networks flushed by hand
// (one message an element), which Relevant may want to read.
func NFTables() Netlink {
	return Netlink{Label: "nftables", Protocol: unix.NETLINK_NETFILTER, Group: unix.NFNLGRP_NFTABLES, ReadBuffer: 32 << 20}
}

// Links fires when a link appears or disappears (RTNLGRP_LINK), not on its
// every change of state.
func Links() Netlink {
	return Netlink{Label: "links", Protocol: unix.NETLINK_ROUTE, Group: unix.RTNLGRP_LINK, Relevant: newLinks}
}

// newLinks passes a link's first message and its removal, for links that
// appear after it starts. A link sends RTM_NEWLINK for every change of
// flags, carrier or bridge port state (a container's veth sends several);
// none of those changes a rule of ours, and each would cost a pass.
func newLinks() func(datagram []byte) bool {
	seen := map[uint32]bool{}
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			seen[uint32(l.Attrs().Index)] = true
		}
	}
	return linkFilter(seen)
}

// linkFilter is newLinks over the links already seen.
func linkFilter(seen map[uint32]bool) func(datagram []byte) bool {
	return func(datagram []byte) bool {
		msgs, err := syscall.ParseNetlinkMessage(datagram)
		if err != nil || len(msgs) == 0 {
			return true
		}
		relevant := false
		for _, m := range msgs {
			if len(m.Data) < unix.SizeofIfInfomsg {
				relevant = true
				continue
			}
			index := binary.NativeEndian.Uint32(m.Data[4:8]) // ifinfomsg.ifi_index
			switch m.Header.Type {
			case unix.RTM_DELLINK:
				delete(seen, index)
				relevant = true
			case unix.RTM_NEWLINK:
				relevant = relevant || !seen[index]
				seen[index] = true
			}
		}
		return relevant
	}
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
	if n.ReadBuffer > 0 {
		// As root the limit of net.core.rmem_max does not apply.
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n.ReadBuffer) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n.ReadBuffer)
		}
	}
	// Wake up now and then to notice the end of ctx (the daemon itself does
	// not wait for its sources when it stops): no event means no work.
	tv := unix.Timeval{Sec: 10}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("setting netlink timeout: %w", err)
	}
	// After joining the group: a link that appears from here on is new.
	relevant := func([]byte) bool { return true }
	if n.Relevant != nil {
		relevant = n.Relevant()
	}
	buf := make([]byte, 64*1024)
	for ctx.Err() == nil {
		size, _, err := unix.Recvfrom(fd, buf, 0)
		switch err {
		case nil:
			if relevant(buf[:size]) {
				trigger()
			}
		case unix.ENOBUFS:
			relevant(nil) // messages were lost: a filter that keeps state starts afresh
			trigger()
		case unix.EAGAIN, unix.EINTR:
		default:
			return fmt.Errorf("reading netlink: %w", err)
		}
	}
	return nil
}
