package rules

// Names are API: the kernel, the UFW files and users' scripts hold them, so
// they are never renamed once released.
//
// Topology (filter table, both families):
//
//	FORWARD
//	  -> DOCKER-USER                       (Docker's hook; owned by us while installed)
//	       RELATED,ESTABLISHED -> RETURN   (Docker's own rules accept it)
//	       INVALID -> DROP
//	       from a container bridge -> RETURN (egress and same-network: Docker decides)
//	       NEW into a container bridge -> ufw-docker-bridge-forward
//	       RETURN
//	  ufw-docker-bridge-forward
//	       deny rules                       -> DROP
//	       -> ufw-user-forward              (the user's `ufw route` rules decide first)
//	       allow rules                      -> RETURN (Docker's rules finish the job)
//	       rate-limited LOG, then DROP      (fail closed)
const (
	// ChainDockerUser is Docker's chain for the host's policy, jumped to first from FORWARD.
	ChainDockerUser = "DOCKER-USER"
	// ChainForward is our chain for NEW connections into container bridges.
	ChainForward = "ufw-docker-bridge-forward"
	// ChainUFWUserForward is UFW's chain of `ufw route` rules (IPv4).
	ChainUFWUserForward = "ufw-user-forward"
	// ChainUFW6UserForward is UFW's chain of `ufw route` rules (IPv6).
	ChainUFW6UserForward = "ufw6-user-forward"
	// ChainForwardBuiltin is the built-in FORWARD chain.
	ChainForwardBuiltin = "FORWARD"

	// MarkerBegin opens the block this project manages in a UFW file.
	MarkerBegin = "# BEGIN ufw-docker-bridge"
	// MarkerEnd closes the block this project manages in a UFW file.
	MarkerEnd = "# END ufw-docker-bridge"
	// MarkerAddedNewline is appended to MarkerBegin when the block was
	// appended to a file that did not end in a newline, so that removing the
	// block also removes the newline we added.
	MarkerAddedNewline = " (newline added)"

	// LogPrefix tags the kernel log lines of connections we drop.
	LogPrefix = "[UFW-DOCKER-BRIDGE BLOCK] "

	// DockerBridgeDefault is the bridge of Docker's default network.
	DockerBridgeDefault = "docker0"
	// DockerBridgeWildcard matches the bridges of user-defined Docker
	// networks (br-<network id>), including networks created later.
	DockerBridgeWildcard = "br-+"
)
