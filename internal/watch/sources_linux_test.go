package watch

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// linkMsg is one rtnetlink message of type typ about link index.
func linkMsg(typ uint16, index uint32) []byte {
	b := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:6], typ)
	binary.NativeEndian.PutUint32(b[unix.SizeofNlMsghdr+4:], index)
	return b
}

func TestLinksPassesNewAndRemovedLinksOnly(t *testing.T) {
	relevant := linkFilter(map[uint32]bool{})
	steps := []struct {
		what string
		msg  []byte
		want bool
	}{
		{"a new link", linkMsg(unix.RTM_NEWLINK, 5), true},
		{"its change of state", linkMsg(unix.RTM_NEWLINK, 5), false},
		{"another change", linkMsg(unix.RTM_NEWLINK, 5), false},
		{"another new link", linkMsg(unix.RTM_NEWLINK, 6), true},
		{"its removal", linkMsg(unix.RTM_DELLINK, 5), true},
		{"a link of that index again", linkMsg(unix.RTM_NEWLINK, 5), true},
		{"two messages, one new", append(linkMsg(unix.RTM_NEWLINK, 6), linkMsg(unix.RTM_NEWLINK, 7)...), true},
		{"a datagram that does not parse", []byte{1, 2, 3}, true},
	}
	for _, s := range steps {
		if got := relevant(s.msg); got != s.want {
			t.Errorf("%s: relevant = %v, want %v", s.what, got, s.want)
		}
	}
}
