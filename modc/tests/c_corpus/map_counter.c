// expect: 45
// A hash map updated in a loop and read back, with the lookup result
// checked for NULL each time.
#include <warden.h>
MODULE(map_counter, misc);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} counts SEC(".maps");

SEC("misc/load") long load(struct load_ctx *ctx)
{
	for (__u32 k = 0; k < 10; k++) {
		__u64 v = k;
		map_update(&counts, &k, &v, 0);
	}
	long sum = 0;
	for (__u32 k = 0; k < 10; k++) {
		__u64 *v = map_lookup(&counts, &k);
		if (v)
			sum += *v;
	}
	return sum;
}
