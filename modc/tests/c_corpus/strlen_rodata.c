// expect: 17
// A bounded strlen over a string in .rodata.
#include <warden.h>
MODULE(strlen_rodata, misc);

static const char text[] = "verified modules!";

static __noinline __u32 bounded_strlen(const char *s, __u32 max)
{
	__u32 n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

SEC("misc/load") long load(struct load_ctx *ctx)
{
	return bounded_strlen(text, sizeof(text));
}
