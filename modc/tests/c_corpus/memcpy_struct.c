// expect: 1234
// A struct built on the stack, copied with __builtin_memcpy, read back.
#include <warden.h>
MODULE(memcpy_struct, misc);

struct point {
	__u32 x, y;
	__u16 tag;
	__u8 pad[6];
};

SEC("misc/load") long load(struct load_ctx *ctx)
{
	struct point a = { .x = 1000, .y = 200, .tag = 34 };
	struct point b;
	__builtin_memcpy(&b, &a, sizeof(b));
	return b.x + b.y + b.tag;
}
