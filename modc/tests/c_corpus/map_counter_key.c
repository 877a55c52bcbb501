// expect: 45
// `map_counter` as eBPF code is usually written: the loop counter stays
// in a register and each round copies it into its own key variable, whose
// address the map helpers take (a counter whose address is taken lives in
// memory, and reads back unknown after a 4-byte store; docs/c-modules.md).
#include <warden.h>
MODULE(map_counter_key, misc);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} counts SEC(".maps");

SEC("misc/load") long load(struct load_ctx *ctx)
{
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 10; i++) {
		__u32 k = i;
		__u64 v = i;
		map_update(&counts, &k, &v, 0);
	}
	long sum = 0;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 10; i++) {
		__u32 k = i;
		__u64 *v = map_lookup(&counts, &k);
		if (v)
			sum += *v;
	}
	return sum;
}
