package nft

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mdlayher/netlink"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/atomicfile"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// The nftables netlink messages EditLog reads (linux/netfilter/nf_tables.h
// and nfnetlink.h): a message's type is the subsystem << 8 | the message.
const (
	nfnlSubsysNFTables = 10 // NFNL_SUBSYS_NFTABLES
	nftMsgNewSetElem   = 12 // NFT_MSG_NEWSETELEM
	nftMsgDelSetElem   = 14 // NFT_MSG_DELSETELEM
	nftMsgNewGen       = 15 // NFT_MSG_NEWGEN: the end of a transaction
	nftaSetElemTable   = 1  // NFTA_SET_ELEM_LIST_TABLE
	nftaSetElemSet     = 2  // NFTA_SET_ELEM_LIST_SET
	nftaGenProcPID     = 2  // NFTA_GEN_PROC_PID
	nftaGenProcName    = 3  // NFTA_GEN_PROC_NAME
	nlmsgHeaderLen     = 16
	nfgenmsgLen        = 4
)

// EditLog collects, from the nftables netlink group (every ruleset change,
// in order), which sets of our sets table had elements added or deleted,
// and by which process: the kernel ends each transaction with a new
// generation message that names the process that committed it. A hand
// `nft flush set` or `nft delete element` changes no table listing (Sums
// leaves elements out), and reading 100,000 elements back costs seconds:
// this is how the watcher sees it. Safe for concurrent use.
type EditLog struct {
	mu sync.Mutex
	// pending are the sets touched by the transaction not yet committed.
	pending map[string]bool
	// edits are the committed ones, by set, in order: one of ours after
	// someone else's hides nothing.
	edits map[string][]edit
}

type edit struct {
	comm string // the committing thread's name: a writer's token when ours
	who  string
}

// Observe reads one datagram of the group, nil after messages were lost;
// it is always worth a pass (it serves as watch.Netlink's Relevant).
func (l *EditLog) Observe(datagram []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if datagram == nil {
		// Messages were lost (a burst larger than the socket's buffer):
		// what is pending can no longer be told apart.
		l.pending = nil
		return true
	}
	for len(datagram) >= nlmsgHeaderLen {
		size := int(binary.NativeEndian.Uint32(datagram[0:4]))
		if size < nlmsgHeaderLen || size > len(datagram) {
			break
		}
		typ := binary.NativeEndian.Uint16(datagram[4:6])
		if typ>>8 == nfnlSubsysNFTables && size >= nlmsgHeaderLen+nfgenmsgLen {
			l.message(typ&0xff, attrs(datagram[nlmsgHeaderLen+nfgenmsgLen:size]))
		}
		datagram = datagram[min(align4(size), len(datagram)):]
	}
	return true
}

// message takes one nftables message in.
func (l *EditLog) message(msg uint16, a map[uint16][]byte) {
	switch msg {
	case nftMsgNewSetElem, nftMsgDelSetElem:
		if cstring(a[nftaSetElemTable]) != rules.SetsTable {
			return
		}
		set := cstring(a[nftaSetElemSet])
		name := strings.TrimSuffix(strings.TrimSuffix(set, "-v4"), "-v6")
		if name == set || rules.CheckSetName(name) != nil {
			return
		}
		if l.pending == nil {
			l.pending = map[string]bool{}
		}
		l.pending[name] = true
	case nftMsgNewGen:
		if len(l.pending) == 0 {
			return
		}
		pid := 0
		if v := a[nftaGenProcPID]; len(v) == 4 {
			pid = int(binary.BigEndian.Uint32(v))
		}
		touched := l.pending
		l.pending = nil
		comm := cstring(a[nftaGenProcName])
		if comm == "" {
			// A kernel that does not name the committer: no edit can be
			// told from a write of ours, and reloading on each would
			// answer our own reloads for ever.
			return
		}
		if l.edits == nil {
			l.edits = map[string][]edit{}
		}
		for name := range touched {
			l.edits[name] = append(l.edits[name], edit{comm, fmt.Sprintf("process %d (%s)", pid, comm)})
		}
	}
}

// Take returns the sets whose elements a process other than ours changed
// since the last call, with that process: not one whose committing thread
// bore a token noted in s (Sums.NoteWriter), as ours do (Sets.write).
func (l *EditLog) Take(s Sums) map[string]string {
	l.mu.Lock()
	edits := l.edits
	l.edits = nil
	l.mu.Unlock()
	out := map[string]string{}
	for name, es := range edits {
		for _, e := range es {
			if !s.Writer(e.comm) {
				out[name] = e.who
				break
			}
		}
	}
	return out
}

// attrs reads netlink attributes, type -> value; a malformed run reads as
// none.
func attrs(b []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return out
	}
	for ad.Next() {
		out[ad.Type()] = ad.Bytes()
	}
	if ad.Err() != nil {
		return map[uint16][]byte{}
	}
	return out
}

func align4(n int) int { return (n + 3) &^ 3 }

// cstring is a NUL-terminated attribute's text.
func cstring(b []byte) string {
	s, _, _ := bytes.Cut(b, []byte{0})
	return string(s)
}

// maxWriters is how many writers' tokens the record keeps: more than the
// writes between two passes of the watcher, however many bans come at once.
const maxWriters = 1024

func (s Sums) writersPath() string { return filepath.Join(s.Dir, "writers") }

// WriterToken is a new token for a write of our sets' elements: the name
// the writing thread bears while it writes (at most 15 bytes, the kernel's
// limit), and which the kernel's new generation message then carries.
func WriterToken() string {
	var b [5]byte
	rand.Read(b[:])
	return "udbw-" + hex.EncodeToString(b[:])
}

// NoteWriter records a writer's token before the write (under the lock, so
// that a watcher's pass finds the record): the changes of a thread that bore
// it are then not taken for someone else's. Across PID namespaces (a
// container, the lab) a token still names the writer; a process id would
// not.
func (s Sums) NoteWriter(token string) error {
	if s.Dir == "" {
		return nil
	}
	tokens := append(s.writers(), token)
	if len(tokens) > maxWriters {
		tokens = tokens[len(tokens)-maxWriters:]
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("noting a writer of our sets: %w", err)
	}
	if err := atomicfile.Write(s.writersPath(), []byte(strings.Join(tokens, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("noting a writer of our sets: %w", err)
	}
	return nil
}

// Writer reports whether token was noted by a writer of ours.
func (s Sums) Writer(token string) bool {
	return s.Dir != "" && strings.HasPrefix(token, "udbw-") && slices.Contains(s.writers(), token)
}

func (s Sums) writers() []string {
	data, err := os.ReadFile(s.writersPath())
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}
