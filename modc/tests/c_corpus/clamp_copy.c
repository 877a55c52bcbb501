// expect: 8
// A length clamped with a conditional and then used: clang may check one
// register and pass another holding the same value.
#include <warden.h>
MODULE(clamp_copy, misc);

SEC("misc/load") long load(struct load_ctx *ctx)
{
	__u8 buf[16] = {};
	__u32 len = ctx->module_id + 1;
	if (len > sizeof(buf))
		len = sizeof(buf);
	return emit(buf, len);
}
