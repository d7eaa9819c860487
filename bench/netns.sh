# Sourced by the scale benchmarks: two network namespaces joined by a veth pair. The prober's
# namespace routes 10.200.0.0/16 through the other one, which has forwarding off and so drops
# every packet for it without a word (no RST, no ICMP): a silent /16. Nothing leaves them.
# Needs root. netns_up sets NS (run things with: ip netns exec "$NS" ...); netns_down removes both.
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
	ip netns del "$NS" 2>/dev/null || true
	ip netns del "$NS_HOLE" 2>/dev/null || true
}
