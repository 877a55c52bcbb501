// expect: 120
// A loop clang unrolls (`#pragma unroll`) over a constant array.
#include <warden.h>
MODULE(unroll, misc);

static const __u32 weights[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0 };

SEC("misc/load") long load(struct load_ctx *ctx)
{
	long sum = 0;
#pragma unroll
	for (int i = 0; i < 16; i++)
		sum += weights[i];
	return sum;
}
