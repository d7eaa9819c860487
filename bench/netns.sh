# Sourced by the scale benchmarks: two network namespaces joined by a veth pair. The prober's
# namespace routes 10.200.0.0/16 through the other one, which has forwarding off and so drops
# every packet for it without a word (no RST, no ICMP): a silent /16. Nothing leaves them.
# Needs root. netns_up sets NS (run things with: ip netns exec "$NS" ...); netns_down removes the
# namespaces of either function.
netns_up() {
	NS=rtbench-$$-a
	NS_HOLE=rtbench-$$-b
	ip netns add "$NS"
	ip netns add "$NS_HOLE"
	ip -n "$NS" link set lo up
	ip -n "$NS_HOLE" link set lo up
	ip -n "$NS" link add rtb0 type veth peer name rtb1 netns "$NS_HOLE"
	ip -n "$NS" addr add 10.199.0.1/24 dev rtb0
	ip -n "$NS_HOLE" addr add 10.199.0.2/24 dev rtb1
	ip -n "$NS" link set rtb0 up
	ip -n "$NS_HOLE" link set rtb1 up
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
	ip netns add "$NS"
	ip netns add "$NS_FARM"
	ip -n "$NS" link set lo up
	ip -n "$NS_FARM" link set lo up
	ip -n "$NS" link add rtl0 type veth peer name rtl1 netns "$NS_FARM"
	ip -n "$NS" addr add 10.198.0.1/24 dev rtl0
	ip -n "$NS_FARM" addr add 10.198.0.2/24 dev rtl1
	ip -n "$NS" link set rtl0 up
	ip -n "$NS_FARM" link set rtl1 up
	FARM_NET=10.201.0.0/20
	ip -n "$NS" route add "$FARM_NET" via 10.198.0.2
	ip -n "$NS_FARM" route add local "$FARM_NET" dev lo
}
