package nft

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// NetlinkElements writes our sets' elements in-process over netlink: a set
// of 100,000 networks loads in one transaction in a fraction of a second,
// where nft reads every element of the set back first.
type NetlinkElements struct{}

// batchBuffer is the netlink socket's send buffer: a transaction of
// 100,000 intervals is about 6 MB, sent in one message batch.
const batchBuffer = 64 << 20

// elemsPerMessage keeps each message's element list under the 64 KiB a
// netlink attribute can hold.
const elemsPerMessage = 1000

func conn() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithSockOptions(func(nl *netlink.Conn) error {
		// The kernel acknowledges each message of a batch: a load of a
		// million networks is a thousand acknowledgements and more.
		return errors.Join(nl.SetWriteBuffer(batchBuffer), nl.SetReadBuffer(batchBuffer))
	}))
	if err != nil {
		return nil, fmt.Errorf("opening nftables netlink: %w", err)
	}
	return c, nil
}

// setThreadName names the calling thread (prctl PR_SET_NAME) and returns
// its name before.
func setThreadName(name string) (before string) {
	var buf [16]byte
	unix.Prctl(unix.PR_GET_NAME, uintptr(unsafe.Pointer(&buf[0])), 0, 0, 0)
	before = string(bytes.TrimRight(buf[:], "\x00"))
	next := [16]byte{}
	copy(next[:15], name)
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&next[0])), 0, 0, 0)
	return before
}

func setsTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyINet, Name: rules.SetsTable}
}

func nftSet(name string, v6 bool) *nftables.Set {
	s := &nftables.Set{Table: setsTable(), Name: name + "-v4", KeyType: nftables.TypeIPAddr, Interval: true, HasTimeout: true}
	if v6 {
		s.Name, s.KeyType = name+"-v6", nftables.TypeIP6Addr
	}
	return s
}

// Sets lists the sets of our sets table; ok is false when the table is not
// there.
func (NetlinkElements) Sets() (sets []string, ok bool, err error) {
	c, err := conn()
	if err != nil {
		return nil, false, err
	}
	defer c.CloseLasting()
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, false, fmt.Errorf("listing nftables tables: %w", err)
	}
	if !slices.ContainsFunc(ts, func(t *nftables.Table) bool { return t.Name == rules.SetsTable }) {
		return nil, false, nil
	}
	list, err := c.GetSets(setsTable())
	if err != nil {
		return nil, true, fmt.Errorf("listing the sets of table inet %s: %w", rules.SetsTable, err)
	}
	for _, s := range list {
		sets = append(sets, s.Name)
	}
	return sets, true, nil
}

// Replace makes set name hold exactly v4 and v6, in one transaction.
func (NetlinkElements) Replace(name string, v4, v6 []rules.Interval, now time.Time) error {
	c, err := conn()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	for i, ivs := range [][]rules.Interval{v4, v6} {
		s := nftSet(name, i == 1)
		c.FlushSet(s)
		if err := add(c, s, elements(ivs, now, true)); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("loading set %s: %w", name, err)
	}
	return nil
}

// Update deletes the intervals gone and adds those added, in one
// transaction.
func (NetlinkElements) Update(name string, gone, added []rules.Interval, now time.Time) error {
	c, err := conn()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	for _, v6 := range []bool{false, true} {
		s := nftSet(name, v6)
		del := elements(family(gone, v6), now, false)
		for len(del) > 0 {
			n := min(len(del), elemsPerMessage)
			if err := c.SetDeleteElements(s, del[:n]); err != nil {
				return fmt.Errorf("set %s: %w", s.Name, err)
			}
			del = del[n:]
		}
		if err := add(c, s, elements(family(added, v6), now, true)); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("changing set %s: %w", name, err)
	}
	return nil
}

// family returns the intervals of ivs of IPv6 (v6) or IPv4.
func family(ivs []rules.Interval, v6 bool) []rules.Interval {
	var out []rules.Interval
	for _, iv := range ivs {
		if iv.First.Is6() == v6 {
			out = append(out, iv)
		}
	}
	return out
}

// add queues elements in messages small enough for netlink.
func add(c *nftables.Conn, s *nftables.Set, els []nftables.SetElement) error {
	for len(els) > 0 {
		n := min(len(els), elemsPerMessage)
		if err := c.SetAddElements(s, els[:n]); err != nil {
			return fmt.Errorf("set %s: %w", s.Name, err)
		}
		els = els[n:]
	}
	return nil
}

// elements are the kernel's form of intervals: a start element (with the
// time left, when timed) and an end element one past the last address
// (none when the range reaches the end of the address space).
func elements(ivs []rules.Interval, now time.Time, timeouts bool) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, 2*len(ivs))
	for _, iv := range ivs {
		start := nftables.SetElement{Key: iv.First.AsSlice()}
		if timeouts && !iv.Expires.IsZero() {
			start.Timeout = max(iv.Expires.Sub(now), time.Second)
		}
		out = append(out, start)
		if end := iv.Last.Next(); end.IsValid() {
			out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}

// Published makes the guard's sets of published ports hold exactly keys,
// in one transaction: `nft -f` would read every element of every interval
// set first (a second beside a block list of 100,000 networks) to add one.
func (NetlinkElements) Published(keys []plan.GuardKey) error {
	c, err := conn()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	guard := &nftables.Table{Family: nftables.TableFamilyINet, Name: rules.GuardTable}
	every := &nftables.Set{Table: guard, Name: "published", Interval: true, Concatenation: true}
	addr := &nftables.Set{Table: guard, Name: "published-addr", Interval: true, Concatenation: true}
	var everyElems, addrElems []nftables.SetElement
	for _, k := range keys {
		// Each field of a concatenation takes whole 32-bit words: the
		// protocol's byte and the port's two, in network order, padded.
		proto := map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP}[k.Proto]
		key := []byte{proto, 0, 0, 0, byte(k.First >> 8), byte(k.First), 0, 0}
		end := []byte{proto, 0, 0, 0, byte(k.Last >> 8), byte(k.Last), 0, 0}
		if k.Addr.IsValid() {
			a := k.Addr.As4()
			addrElems = append(addrElems, nftables.SetElement{Key: append(a[:], key...), KeyEnd: append(a[:], end...)})
		} else {
			everyElems = append(everyElems, nftables.SetElement{Key: key, KeyEnd: end})
		}
	}
	for _, s := range []struct {
		set   *nftables.Set
		elems []nftables.SetElement
	}{{every, everyElems}, {addr, addrElems}} {
		c.FlushSet(s.set)
		if err := add(c, s.set, s.elems); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("writing the guard's published ports: %w", err)
	}
	return nil
}
