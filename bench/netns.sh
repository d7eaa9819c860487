# Sourced by the scale benchmarks: two network namespaces joined by a veth pair. The prober's
# namespace routes 10.200.0.0/16 through the other one, which has forwarding off and so drops
# every packet for it without a word (no RST, no ICMP): a silent /16. Nothing leaves them.
# Needs root. netns_up sets NS (run things with: ip netns exec "$NS" ...); netns_down removes the
# namespaces of either function.
# netns_pair A B IF NET24: namespaces A and B joined by a veth pair (IF0 in A at NET24.1, IF1 in
# B at NET24.2), loopback up in both.
netns_pair() {
	ip netns add "$1"
	ip netns add "$2"
	ip -n "$1" link set lo up
	ip -n "$2" link set lo up
	ip -n "$1" link add "${3}0" type veth peer name "${3}1" netns "$2"
	ip -n "$1" addr add "$4.1/24" dev "${3}0"
	ip -n "$2" addr add "$4.2/24" dev "${3}1"
	ip -n "$1" link set "${3}0" up
	ip -n "$2" link set "${3}1" up
}
netns_up() {
	NS=rtbench-$$-a
	NS_HOLE=rtbench-$$-b
	netns_pair "$NS" "$NS_HOLE" rtb 10.199.0
	ip netns exec "$NS_HOLE" sysctl -q -w net.ipv4.ip_forward=0
	ip -n "$NS" route add 10.200.0.0/16 via 10.199.0.2
	SILENT=10.200.0.0/16
}
netns_down() {
	[ -z "${NS:-}" ] || ip netns del "$NS" 2>/dev/null || true
	[ -z "${NS_HOLE:-}" ] || ip netns del "$NS_HOLE" 2>/dev/null || true
	[ -z "${NS_FARM:-}" ] || ip netns del "$NS_FARM" 2>/dev/null || true
}
# The latency farm's pair: the prober's namespace (NS) routes 10.201.0.0/20 (4,096 addresses)
# through a veth into a farm namespace (NS_FARM) that takes the whole range as local, so one
# server listening on 0.0.0.0 answers every address. Sets NS, NS_FARM and FARM_NET.
netns_farm_up() {
	NS=rtbench-$$-p
	NS_FARM=rtbench-$$-f
	netns_pair "$NS" "$NS_FARM" rtl 10.198.0
	FARM_NET=10.201.0.0/20
	ip -n "$NS" route add "$FARM_NET" via 10.198.0.2
	ip -n "$NS_FARM" route add local "$FARM_NET" dev lo
}
