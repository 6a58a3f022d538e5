package nft

import (
	"encoding/binary"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// nlmsg builds one nftables netlink message: header, nfgenmsg, attributes.
func nlmsg(msg uint16, attrs ...[]byte) []byte {
	body := []byte{2, 0, 0, 0} // nfgenmsg: family, version, resource id
	for _, a := range attrs {
		body = append(body, a...)
	}
	b := make([]byte, nlmsgHeaderLen, nlmsgHeaderLen+len(body))
	binary.NativeEndian.PutUint32(b[0:4], uint32(nlmsgHeaderLen+len(body)))
	binary.NativeEndian.PutUint16(b[4:6], nfnlSubsysNFTables<<8|msg)
	return append(b, body...)
}

func attr(typ uint16, v []byte) []byte {
	b := make([]byte, 4, align4(4+len(v)))
	binary.NativeEndian.PutUint16(b[0:2], uint16(4+len(v)))
	binary.NativeEndian.PutUint16(b[2:4], typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func str(typ uint16, s string) []byte { return attr(typ, append([]byte(s), 0)) }

func gen(pid int, comm string) []byte {
	v := make([]byte, 4)
	binary.BigEndian.PutUint32(v, uint32(pid))
	return nlmsg(nftMsgNewGen, attr(1, []byte{0, 0, 0, 9}), attr(nftaGenProcPID, v), str(nftaGenProcName, comm))
}

func elem(msg uint16, table, set string) []byte {
	return nlmsg(msg, str(nftaSetElemTable, table), str(nftaSetElemSet, set))
}

// EditLog names the sets whose elements another process changed, by the
// process its transaction's generation message names; not a writer's of
// ours (its thread bore a noted token), not another table's, and a
// transaction read across datagrams counts as one.
func TestEditLog(t *testing.T) {
	var l EditLog
	sums := Sums{Dir: t.TempDir()}
	ours := WriterToken()
	if err := sums.NoteWriter(ours); err != nil {
		t.Fatal(err)
	}
	// nft flush set inet ufw-docker-bridge-sets bad-v4: one delete a
	// element, then the new generation; split across two datagrams.
	l.Observe(append(elem(nftMsgDelSetElem, rules.SetsTable, "bad-v4"), elem(nftMsgDelSetElem, rules.SetsTable, "bad-v4")...))
	l.Observe(gen(4242, "nft"))
	// A write of ours, another table's set, and a token nobody noted.
	l.Observe(append(elem(nftMsgNewSetElem, rules.SetsTable, "office-v6"), gen(4243, ours)...))
	l.Observe(append(elem(nftMsgNewSetElem, "filter", "blocklist-v4"), gen(4244, "nft")...))
	l.Observe(append(elem(nftMsgNewSetElem, rules.SetsTable, "f2b-sshd-v4"), gen(4245, WriterToken())...))
	// Someone's flush, then a write of ours to the same set before the
	// next pass: the flush is still said.
	l.Observe(append(elem(nftMsgDelSetElem, rules.SetsTable, "web-v4"), gen(4250, "nft")...))
	l.Observe(append(elem(nftMsgNewSetElem, rules.SetsTable, "web-v4"), gen(4251, ours)...))
	// A kernel that names no committer: nothing can be told, nothing is said.
	l.Observe(append(elem(nftMsgDelSetElem, rules.SetsTable, "quiet-v4"), nlmsg(nftMsgNewGen, attr(1, []byte{0, 0, 0, 9}))...))
	// A generation with no element change touches nothing.
	l.Observe(gen(4246, "iptables-nft"))
	got := l.Take(sums)
	if len(got) != 3 || got["bad"] != "process 4242 (nft)" || got["f2b-sshd"] == "" || got["web"] != "process 4250 (nft)" {
		t.Errorf("Take = %q, want bad by process 4242 (nft), f2b-sshd by a token not noted, web by 4250 (nft)", got)
	}
	if again := l.Take(sums); len(again) != 0 {
		t.Errorf("a second Take: %q", again)
	}
	// Messages lost: what was pending is dropped, not put on the next.
	l.Observe(elem(nftMsgDelSetElem, rules.SetsTable, "bad-v4"))
	l.Observe(nil)
	l.Observe(gen(4247, "nft"))
	if got := l.Take(sums); len(got) != 0 {
		t.Errorf("after lost messages: %q", got)
	}
	// A datagram cut short is read as far as it goes.
	l.Observe(elem(nftMsgDelSetElem, rules.SetsTable, "bad-v6")[:20])
	l.Observe(gen(4248, "nft"))
	if got := l.Take(sums); len(got) != 0 {
		t.Errorf("a cut message counted: %q", got)
	}
}

// The record keeps the last maxWriters tokens; only tokens count.
func TestNoteWriterKeepsTheLast(t *testing.T) {
	s := Sums{Dir: t.TempDir()}
	first := WriterToken()
	if err := s.NoteWriter(first); err != nil || !s.Writer(first) {
		t.Fatalf("NoteWriter: %v, noted %v", err, s.Writer(first))
	}
	for i := 0; i < maxWriters; i++ {
		if err := s.NoteWriter(WriterToken()); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.writers(); len(got) != maxWriters || s.Writer(first) {
		t.Errorf("kept %d tokens, the first among them: %v", len(got), s.Writer(first))
	}
	if len(first) > 15 || (Sums{}).Writer(first) || s.Writer("nft") {
		t.Errorf("token %q: longer than a thread's name, or counted without a record", first)
	}
}
