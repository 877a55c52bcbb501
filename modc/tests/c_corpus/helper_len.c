// expect: 104
// A helper returns a length (emit: the bytes it took), checked before it
// indexes the buffer.
#include <warden.h>
MODULE(helper_len, misc);

SEC("misc/load") long load(struct load_ctx *ctx)
{
	__u8 buf[8] = { 'w', 'a', 'r', 'd', 'e', 'n', '!', 'h' };
	long n = emit(buf, sizeof(buf));
	if (n <= 0 || n > (long)sizeof(buf))
		return -1;
	return buf[n - 1];
}
