package discover

import "testing"

func TestOwnerOf(t *testing.T) {
	for name, want := range map[string]string{
		"docker0": OwnerDocker, "br-0123456789ab": OwnerDocker, "br-lan": OwnerUnknown, "virbr0": OwnerLibvirt,
		"lxdbr0": OwnerLXD, "incusbr0": OwnerIncus, "podman1": OwnerPodman, "cni-podman0": OwnerPodman, "eth0": OwnerUnknown,
	} {
		if got := OwnerOf(name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}
