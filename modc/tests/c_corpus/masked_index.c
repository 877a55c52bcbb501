// expect: 63
// A ring index kept in range with a mask, as ring buffers do.
#include <warden.h>
MODULE(masked_index, misc);

SEC("misc/load") long load(struct load_ctx *ctx)
{
	__u8 ring[64];
	for (int i = 0; i < 64; i++)
		ring[i] = i;
	__u32 head = ctx->module_id * 9;
	return ring[head & 63];
}
