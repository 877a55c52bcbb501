// expect: 19
// Bit manipulation in a bounded loop: population count of two words.
#include <warden.h>
MODULE(popcount, misc);

static __always_inline __u32 popcount(__u64 v)
{
	__u32 n = 0;
	for (int i = 0; i < 64; i++) {
		n += v & 1;
		v >>= 1;
	}
	return n;
}

SEC("misc/load") long load(struct load_ctx *ctx)
{
	return popcount(0xff00ff) + popcount(ctx->module_id);
}
