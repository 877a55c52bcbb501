// expect: 28
// Sums the first `len` bytes of a stack buffer, `len` coming from the
// context: the loop checks both the length and the buffer's size.
#include <warden.h>
MODULE(bounds_loop, misc);

SEC("misc/load") long load(struct load_ctx *ctx)
{
	__u8 buf[32];
	for (int i = 0; i < 32; i++)
		buf[i] = i;
	__u32 len = ctx->module_id + 1;
	long sum = 0;
	for (__u32 i = 0; i < len && i < sizeof(buf); i++)
		sum += buf[i];
	return sum;
}
